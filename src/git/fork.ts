// A workspace's fork: a bare repository inside the workspace's own volume that the checkout uses as
// `origin`. Bundles cross between it and the canonical repository through `docker exec` streams, so the
// workspace needs no network and never sees the canonical repository.
import { createWriteStream, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import type { WorkspaceDriver, WorkspaceRef } from "../provisioner/driver.ts";

/** Where the fork lives inside the workspace folder; the checkout's .git/info/exclude hides it. */
export const FORK_DIR = ".azusa/origin.git";

/** The biggest bundle Azusa takes out of a fork. */
const MAX_BUNDLE_BYTES = 512 * 1024 * 1024;

export interface ForkTarget {
  ref: WorkspaceRef;
  /** The workspace folder (the checkout); the fork sits in `<folder>/.azusa/origin.git`. */
  folder: string;
}

/** Runs a command in the workspace, feeding `input`; collects output, with stdout optionally to a file. */
async function run(
  driver: WorkspaceDriver,
  ref: WorkspaceRef,
  cmd: string[],
  opts: { input?: Buffer; stdoutFile?: string; env?: Record<string, string> } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const session = await driver.exec(ref, { cmd, tty: false, env: opts.env });
  const errChunks: Buffer[] = [];
  session.stderr?.on("data", (c: Buffer) => errChunks.push(c));
  let stdout = "";
  const reading = opts.stdoutFile
    ? (async () => {
        let total = 0;
        const limit = async function* (src: AsyncIterable<Buffer>) {
          for await (const chunk of src) {
            total += chunk.length;
            if (total > MAX_BUNDLE_BYTES) throw new Error(`the fork's bundle is larger than ${MAX_BUNDLE_BYTES} bytes`);
            yield chunk;
          }
        };
        await pipeline(session.stdout as AsyncIterable<Buffer>, limit, createWriteStream(opts.stdoutFile as string));
      })()
    : (async () => {
        for await (const c of session.stdout) stdout += String(c);
      })();
  session.stdin.end(opts.input ?? Buffer.alloc(0));
  const [{ code }] = await Promise.all([session.exit, reading]);
  return { code, stdout, stderr: Buffer.concat(errChunks).toString("utf8") };
}

const failed = (what: string, r: { code: number | null; stderr: string }) =>
  new Error(`${what} failed (exit ${r.code}): ${r.stderr.trim().slice(0, 500)}`);

/** What seeding a fork did: the commit checked out, or nothing because the image has no git. */
export type SeedResult = { seeded: true; head: string } | { seeded: false; reason: string };

/** The seed script's exit status when the image has no git (the fast test images). */
const NO_GIT = 3;

/**
 * Makes the fork from a bundle of the canonical default branch and checks it out in the workspace
 * folder with the fork as `origin`, in one exec. `identity` becomes the checkout's commit author.
 * An image without git gets no fork; any other failure rejects with git's message.
 */
export async function seedFork(
  driver: WorkspaceDriver,
  target: ForkTarget,
  bundle: Buffer,
  identity: { name: string; email: string },
): Promise<SeedResult> {
  // Paths and names reach the script as arguments, never spliced into its text. Run again after an
  // interruption, it starts over: nobody has been let in before it finished. The checkout is a local clone
  // of the fork (its objects hard-linked, not copied), with the engineer's identity written by the clone.
  const script = `set -e
if ! command -v git >/dev/null 2>&1; then cat >/dev/null; exit ${NO_GIT}; fi
folder="$1"; fork="$folder/${FORK_DIR}"; clone="$folder/.azusa/clone"; bundle="$folder/.azusa/seed.bundle"
rm -rf "$fork" "$clone" "$folder/.git"
mkdir -p "$folder/.azusa"
cat > "$bundle"
git init -q --bare -b main "$fork"
git -C "$fork" fetch -q "$bundle" "+refs/heads/*:refs/heads/*"
rm -f "$bundle"
git clone -q --no-checkout -c user.name="$2" -c user.email="$3" "$fork" "$clone"
mv "$clone/.git" "$folder/.git"
rmdir "$clone"
cd "$folder"
mkdir -p .git/info && echo "/.azusa/" >> .git/info/exclude
git checkout -q -f -B main --track origin/main
git rev-parse HEAD
`;
  const r = await run(
    driver,
    target.ref,
    ["sh", "-c", script, "seed-fork", target.folder, identity.name, identity.email],
    {
      input: bundle,
    },
  );
  if (r.code === NO_GIT) return { seeded: false, reason: "the workspace image has no git" };
  if (r.code !== 0) throw failed("seeding the workspace's fork", r);
  return { seeded: true, head: r.stdout.trim() };
}

/**
 * Takes every branch of the fork out as a bundle file and hands it to `use`; the file is gone after.
 * Fails when the fork has no branch or the workspace is not running.
 */
export async function withForkBundle<T>(
  driver: WorkspaceDriver,
  target: ForkTarget,
  use: (file: string) => Promise<T>,
): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), "azusa-fork-"));
  const file = join(dir, "fork.bundle");
  try {
    const r = await run(
      driver,
      target.ref,
      ["git", "-C", `${target.folder}/${FORK_DIR}`, "bundle", "create", "-q", "-", "--branches"],
      { stdoutFile: file },
    );
    if (r.code !== 0) throw failed("reading the workspace's fork", r);
    return await use(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
