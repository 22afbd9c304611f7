// The Debian workspace image (git, bash, user azusa 1000) that tests with real git need; built by
// infra/image/build-base.sh when missing (about 75 s, needs debootstrap and a Debian mirror).
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import type Docker from "dockerode";

export const baseImageTag = "azusa/workspace-base:bookworm";
const script = fileURLToPath(new URL("../../infra/image/build-base.sh", import.meta.url));

/** Returns the base image's tag, building it first when the engine does not have it. */
export async function ensureBaseImage(docker: Pick<Docker, "getImage">): Promise<string> {
  try {
    await docker.getImage(baseImageTag).inspect();
    return baseImageTag;
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode !== 404) throw err;
  }
  const built = spawnSync("bash", [script, baseImageTag], { stdio: ["ignore", "inherit", "inherit"] });
  if (built.status !== 0) throw new Error(`${script} exited ${built.status}: ${baseImageTag} is missing`);
  return baseImageTag;
}
