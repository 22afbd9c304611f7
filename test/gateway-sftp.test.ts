// SFTP on the default Debian image where the template allows it: the real OpenSSH sftp client puts a
// file into the workspace and gets it back, through the image's own sftp-server.
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GatewayWorld, oneWorkspaceWorld } from "./support/gateway-world.ts";
import { ensureBaseImage } from "./support/images.ts";
import { run } from "./support/ssh-client.ts";

describe("SFTP on the default image", () => {
  const docker = new Docker();
  let world: GatewayWorld;

  beforeAll(async () => {
    const image = await ensureBaseImage(docker);
    world = await oneWorkspaceWorld(docker, { image, azusa: { ssh: { sftp: true } } });
  }, 240_000);

  afterAll(async () => {
    await world?.stop();
  });

  it("puts a file into the workspace and gets it back with OpenSSH's sftp", async () => {
    const sent = randomBytes(64 * 1024);
    const local = join(world.home.dir, "up.bin");
    const back = join(world.home.dir, "back.bin");
    writeFileSync(local, sent);
    // sftp spells the port -P
    const args = world.args().map((a) => (a === "-p" ? "-P" : a));
    const sftp = await run(
      "sftp",
      ["-b", "-", ...args],
      `put ${local} /workspace/up.bin\nget /workspace/up.bin ${back}\n`,
    );
    expect(sftp.stderr).toBe("");
    expect(sftp.code).toBe(0);
    expect(readFileSync(back).equals(sent)).toBe(true);
    const inside = await run("ssh", [...world.args(), "wc -c < /workspace/up.bin"]);
    expect(inside.stdout.toString().trim()).toBe(String(sent.length));
  });
});
