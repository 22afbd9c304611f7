// A tiny workspace image for tests, built here without a registry: FROM scratch plus Debian's static busybox.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type Docker from "dockerode";
import { baseImageRecipe, baseImageTag, buildBaseImage, imageRecipe } from "../../src/provisioner/base-image.ts";

/** Where Debian's `busybox-static` package puts the binary; `infra/setup.sh --for-tests` installs it. */
export const busyboxPath = "/bin/busybox";

/** The tag of the test image; the recipe hash in its label decides whether a cached image is still good. */
export const testImageTag = "azusa-test/busybox:1";

/** The non-root user the image defines, as workspace specs name it. */
export const testUser = { name: "azusa", uid: 1000, gid: 1000, home: "/home/azusa" } as const;

const recipeLabel = "azusa-test.recipe";

const applets = [
  "base64",
  "cat",
  "chown",
  "echo",
  "env",
  "false",
  "head",
  "httpd",
  "id",
  "ls",
  "mkdir",
  "nc",
  "printf",
  "pwd",
  "rm",
  "sh",
  "sleep",
  "stat",
  "stty",
  "tail",
  "touch",
  "true",
  "wc",
  "wget",
  "yes",
];

const passwd = `root:x:0:0:root:/root:/bin/sh\nazusa:x:1000:1000:Azusa engineer:/home/azusa:/bin/sh\n`;
const group = `root:x:0:\nazusa:x:1000:\n`;

// COPY keeps modes and symlinks but not owners, hence the separate --chown for the home directory.
const dockerfile = `FROM scratch
COPY rootfs/ /
COPY --chown=1000:1000 home-azusa/ /home/azusa/
`;

type ImageApi = Pick<Docker, "getImage" | "buildImage">;

function recipeHash(busybox: Buffer): string {
  return createHash("sha256")
    .update(busybox)
    .update(JSON.stringify({ applets, passwd, group, dockerfile }))
    .digest("hex")
    .slice(0, 16);
}

function writeContext(dir: string, busybox: Buffer): void {
  const root = join(dir, "rootfs");
  mkdirSync(join(root, "bin"), { recursive: true });
  mkdirSync(join(root, "etc"));
  mkdirSync(join(root, "tmp"));
  mkdirSync(join(root, "home"));
  chmodSync(join(root, "tmp"), 0o1777);
  writeFileSync(join(root, "bin", "busybox"), busybox, { mode: 0o755 });
  for (const applet of applets) symlinkSync("busybox", join(root, "bin", applet));
  writeFileSync(join(root, "etc", "passwd"), passwd, { mode: 0o644 });
  writeFileSync(join(root, "etc", "group"), group, { mode: 0o644 });
  mkdirSync(join(dir, "home-azusa"));
  chmodSync(join(dir, "home-azusa"), 0o755);
  writeFileSync(join(dir, "Dockerfile"), dockerfile);
}

/** Reads the build's JSON progress lines and fails with the engine's message if the build failed. */
async function followBuild(stream: NodeJS.ReadableStream): Promise<void> {
  let text = "";
  for await (const chunk of stream) text += chunk.toString();
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const event = JSON.parse(line) as { error?: string; errorDetail?: { message?: string } };
    if (event.error) throw new Error(`building ${testImageTag} failed: ${event.errorDetail?.message ?? event.error}`);
  }
}

async function currentImage(docker: ImageApi): Promise<{ id: string; recipe: string | undefined } | undefined> {
  try {
    const info = await docker.getImage(testImageTag).inspect();
    return { id: info.Id, recipe: info.Config?.Labels?.[recipeLabel] };
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return undefined;
    throw err;
  }
}

/**
 * Returns the tag of the test image, building it first when it is missing or was built from another
 * recipe. Needs `/bin/busybox` from `busybox-static` and the `tar` command; pulls nothing.
 */
export async function ensureTestImage(docker: ImageApi): Promise<string> {
  let busybox: Buffer;
  try {
    busybox = readFileSync(busyboxPath);
  } catch {
    throw new Error(`${busyboxPath} is missing: install busybox-static (bash infra/setup.sh --for-tests)`);
  }
  const recipe = recipeHash(busybox);
  const before = await currentImage(docker);
  if (before?.recipe === recipe) return testImageTag;

  const dir = mkdtempSync(join(tmpdir(), "azusa-image-"));
  try {
    writeContext(dir, busybox);
    // --numeric-owner keeps the host's user names out of the context; COPY ignores owners anyway.
    const tar = spawn("tar", ["-c", "--numeric-owner", "-C", dir, "."], { stdio: ["ignore", "pipe", "pipe"] });
    let tarErrors = "";
    tar.stderr.on("data", (d: Buffer) => {
      tarErrors += d.toString();
    });
    const tarDone = new Promise<void>((resolve, reject) => {
      tar.on("error", reject);
      tar.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`tar exited ${code}: ${tarErrors}`))));
    });
    const stream = await docker.buildImage(tar.stdout, {
      t: testImageTag,
      labels: { [recipeLabel]: recipe },
      rm: true,
      forcerm: true,
    });
    await Promise.all([followBuild(stream), tarDone]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const after = await currentImage(docker);
  if (after?.recipe !== recipe) throw new Error(`building ${testImageTag} left no image with its label`);
  // The image of an older recipe is now untagged; drop it unless a container still uses it.
  if (before && before.id !== after.id)
    await docker
      .getImage(before.id)
      .remove()
      .catch(() => undefined);
  return testImageTag;
}

/**
 * Returns the tag of the default workspace image, building it with infra/image/build-base.sh first when
 * it is missing (about 75 s; needs debootstrap and a Debian mirror), for tests that need a real Debian.
 */
export async function ensureBaseImage(docker: Pick<Docker, "getImage">): Promise<string> {
  // built again when the build script's recipe changed (a package added), as Azusa does at start
  if ((await imageRecipe(docker, baseImageTag)) !== (await baseImageRecipe())) {
    await buildBaseImage({}, (line) => process.stderr.write(`${line}\n`));
  }
  return baseImageTag;
}
