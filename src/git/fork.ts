// A workspace's fork: a bare repository inside the workspace's own volume that the checkout uses as
// `origin`. Bundles cross between it and the canonical repository through `docker exec` streams, so the
// workspace needs no network and never sees the canonical repository.
import { createWriteStream, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { processAlive } from "../kernel/process.ts";
import type { WorkspaceDriver, WorkspaceRef } from "../provisioner/driver.ts";
import { bundleHeader } from "./builtin-forge.ts";

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

/**
 * What seeding a fork did: the commit checked out; nothing because the image has no git; or, seeding from the
 * package's object store, nothing because the workspace has no store mounted (`no-store`: send the whole
 * history instead) or its store lacks the pack (`store-unfilled`: fill it, then seed again).
 */
export type SeedResult =
  | { seeded: true; head: string }
  | { seeded: false; reason: string; store?: undefined }
  | { seeded: false; reason: string; store: "no-store" | "store-unfilled" };

/** The seed script's exit status when the image has no git (the fast test images). */
const NO_GIT = 3;
/** The seed script's exit statuses when the object store is not mounted, or lacks the pack named. */
const NO_STORE = 5;
const UNFILLED = 6;

/** Seeding from the package's read-only object store: the pack it must hold and the published refs to set. */
export interface StoreSeed {
  folder: string;
  pack: string;
  refs: { ref: string; sha: string }[];
}

/**
 * Makes the fork and checks it out in the workspace folder with the fork as `origin`, in one exec. Without
 * `store`, from `bundle`, a bundle of the canonical branches and tags. With it, the fork borrows the store's
 * objects (its alternates) and gets the refs named there, with `bundle` (if any) carrying only the objects the
 * store lacks: only refs and the checkout are written. `identity` becomes the checkout's commit author.
 * An image without git gets no fork; any other failure rejects with git's message.
 */
export async function seedFork(
  driver: WorkspaceDriver,
  target: ForkTarget,
  bundle: Buffer | null,
  identity: { name: string; email: string },
  store?: StoreSeed,
): Promise<SeedResult> {
  // Paths, names and refs reach the script as arguments, never spliced into its text. Run again after an
  // interruption, it starts over: nobody has been let in before it finished. The checkout is a local clone
  // of the fork (its objects hard-linked, not copied, and its alternates with them), with the engineer's
  // identity written by the clone; the files are written by one checkout worker per core.
  const script = `set -e
if ! command -v git >/dev/null 2>&1; then cat >/dev/null; exit ${NO_GIT}; fi
folder="$1"; name="$2"; email="$3"; store="$4"; pack="$5"; shift 5
fork="$folder/${FORK_DIR}"; clone="$folder/.azusa/clone"; bundle="$folder/.azusa/seed.bundle"
if [ -n "$store" ]; then
  if [ ! -d "$store" ]; then cat >/dev/null; exit ${NO_STORE}; fi
  if [ ! -f "$store/ready-$pack" ] || [ ! -f "$store/pack/pack-$pack.idx" ]; then cat >/dev/null; exit ${UNFILLED}; fi
fi
rm -rf "$fork" "$clone" "$folder/.git"
mkdir -p "$folder/.azusa"
cat > "$bundle"
git init -q --bare -b main "$fork"
if [ -n "$store" ]; then
  echo "$store" > "$fork/objects/info/alternates"
  if [ -s "$bundle" ]; then git -C "$fork" bundle unbundle "$bundle" >/dev/null; fi
  # Straight into packed-refs, as a clone writes its refs: the new fork has none, and update-ref would write
  # a loose file per branch and tag (hundreds on a real repository), each behind its own lock.
  while [ $# -ge 2 ]; do printf '%s %s\n' "$1" "$2"; shift 2; done > "$fork/packed-refs"
else
  git -C "$fork" fetch -q "$bundle" "+refs/heads/*:refs/heads/*" "+refs/tags/*:refs/tags/*"
fi
rm -f "$bundle"
git clone -q --no-checkout -c user.name="$name" -c user.email="$email" "$fork" "$clone"
mv "$clone/.git" "$folder/.git"
rmdir "$clone"
cd "$folder"
mkdir -p .git/info && echo "/.azusa/" >> .git/info/exclude
git -c checkout.workers=0 checkout -q -f -B main --track origin/main
git rev-parse HEAD
`;
  const refArgs = store ? store.refs.flatMap((r) => [r.sha, r.ref]) : [];
  const r = await run(
    driver,
    target.ref,
    [
      "sh",
      "-c",
      script,
      "seed-fork",
      target.folder,
      identity.name,
      identity.email,
      store?.folder ?? "",
      store?.pack ?? "",
      ...refArgs,
    ],
    { input: bundle ?? Buffer.alloc(0) },
  );
  if (r.code === NO_GIT) return { seeded: false, reason: "the workspace image has no git" };
  if (r.code === NO_STORE) return { seeded: false, reason: "the workspace has no object store", store: "no-store" };
  if (r.code === UNFILLED)
    return { seeded: false, reason: "the workspace's object store lacks the pack", store: "store-unfilled" };
  if (r.code !== 0) throw failed("seeding the workspace's fork", r);
  return { seeded: true, head: r.stdout.trim() };
}

/** A branch of the fork as the bundling script lists it; anything else the workspace prints is ignored. */
const HEAD_LINE = /^head ([0-9a-f]{40}(?:[0-9a-f]{24})?) refs\/heads\/(\S+)$/;

/** The exit status of `git bundle create` that found nothing to carry ("Refusing to create empty bundle"). */
const EMPTY = 9;

/**
 * Lists the fork's branches (name → commit) and takes them out as a bundle file of only what `known` (commits
 * the canonical repository knows the fork holds) does not reach, in one exec, and hands both to `use`; the
 * file is gone after. The file is null when the branches carry nothing new (none moved, or one was made or
 * moved to a commit already known). Fails when the workspace is not running.
 */
export async function withForkBundle<T>(
  driver: WorkspaceDriver,
  target: ForkTarget,
  known: string[],
  scratch: string,
  use: (heads: Map<string, string>, file: string | null) => Promise<T>,
): Promise<T> {
  // The engineer's commits never land in the host's /tmp: the bundle is kept under the data directory,
  // in a folder named after this process so that a sweep at start can tell a crashed one's leftovers.
  mkdirSync(scratch, { recursive: true, mode: 0o700 });
  const dir = mkdtempSync(join(scratch, `fork-${hostname()}-${process.pid}-`));
  const file = join(dir, "fork.bundle");
  // Commits missing from the fork (a branch deleted and pruned since) are left out of `--not`, not an error.
  // The branches are listed on stderr; the bundle goes to stdout through fd 3 while git's messages are caught
  // to tell "nothing new" apart.
  const script = `fork="$1"; shift
git -C "$fork" for-each-ref --format='head %(objectname) %(refname)' refs/heads/ >&2 || exit 1
exec 3>&1
if err=$(git -C "$fork" bundle create -q - --branches --ignore-missing --not "$@" 2>&1 1>&3); then exit 0; fi
case "$err" in *"empty bundle"*) exit ${EMPTY};; esac
echo "$err" >&2
exit 1
`;
  try {
    const r = await run(
      driver,
      target.ref,
      ["sh", "-c", script, "fork-bundle", `${target.folder}/${FORK_DIR}`, ...known],
      { stdoutFile: file },
    );
    if (r.code !== 0 && r.code !== EMPTY) throw failed("reading the workspace's fork", r);
    const heads = new Map<string, string>();
    for (const line of r.stderr.split("\n")) {
      const m = HEAD_LINE.exec(line);
      if (m?.[1] && m[2]) heads.set(m[2], m[1]);
    }
    return await use(heads, r.code === EMPTY ? null : file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Removes fork bundles a crashed process left in `scratch`: those of this host whose process is gone, and any
 * older than a day (another host's, which cannot be asked). Returns how many were removed.
 */
export function sweepForkBundles(scratch: string, now = Date.now()): number {
  let entries: string[];
  try {
    entries = readdirSync(scratch);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of entries) {
    const m = /^fork-(.+)-(\d+)-[^-]+$/.exec(name);
    if (!m) continue;
    const path = join(scratch, name);
    const mine = m[1] === hostname();
    const stale = mine ? !processAlive(Number(m[2])) : now - statSync(path).mtimeMs > 86_400_000;
    if (!stale) continue;
    rmSync(path, { recursive: true, force: true });
    removed++;
  }
  return removed;
}

/** What bringing a fork's published refs up to date did. */
export type UpdateResult =
  | { ok: true /** Branches and tags the engineer moved elsewhere, left as they are. */; kept: string[] }
  | { ok: false; reason: "missing-prerequisites" | "no-fork" };

/** The update script's exit status when the fork lacks commits the bundle builds on. */
const MISSING = 4;

/**
 * Brings published refs (branches and tags of the canonical repository) into the fork: the objects from
 * `bundle` (none when the fork has them), then each ref set where the fork lacks it or holds an ancestor of it
 * (a fast-forward). A branch or tag the engineer moved elsewhere is kept and reported. `missing-prerequisites`:
 * the bundle builds on commits the fork no longer has; send a whole one. `no-fork`: the workspace has no fork
 * (an image without git, or the engineer removed it); nothing to bring up to date.
 */
export async function updateFork(
  driver: WorkspaceDriver,
  target: ForkTarget,
  bundle: Buffer | null,
  refs: { ref: string; sha: string }[],
): Promise<UpdateResult> {
  // Refs and commits reach the script as arguments, never spliced into its text.
  const script = `set -e
fork="$1"; shift
if ! command -v git >/dev/null 2>&1 || [ ! -d "$fork/objects" ]; then cat >/dev/null; exit ${NO_GIT}; fi
prerequisites="$1"; shift
incoming="$fork/../incoming.pack"
cat > "$incoming"
if [ -s "$incoming" ]; then
  # The commits the pack builds on must be here (not pruned since they were sent); then only the objects.
  if [ -n "$prerequisites" ] && printf '%s\n' $prerequisites | git -C "$fork" cat-file --batch-check | grep -q ' missing$'; then
    rm -f "$incoming"; exit ${MISSING}
  fi
  git -C "$fork" index-pack --fix-thin --stdin < "$incoming" >/dev/null
fi
rm -f "$incoming"
while [ $# -ge 2 ]; do
  sha="$1"; ref="$2"; shift 2
  cur=$(git -C "$fork" rev-parse -q --verify "$ref" || true)
  if [ -z "$cur" ]; then git -C "$fork" update-ref "$ref" "$sha" ""
  elif [ "$cur" = "$sha" ]; then :
  elif case "$ref" in refs/heads/*) git -C "$fork" merge-base --is-ancestor "$cur" "$sha";; *) false;; esac; then
    git -C "$fork" update-ref "$ref" "$sha" "$cur"
  else echo "$ref"; fi
done
`;
  const args = refs.flatMap((r) => [r.sha, r.ref]);
  // The bundle's pack goes in as it is, its prerequisites beside it: `git bundle unbundle` would walk the fork's
  // whole history from every ref to check them.
  const header = bundle ? bundleHeader(bundle) : null;
  if (bundle && !header) throw new Error("the canonical repository's bundle has no readable header");
  const r = await run(
    driver,
    target.ref,
    [
      "sh",
      "-c",
      script,
      "update-fork",
      `${target.folder}/${FORK_DIR}`,
      (header?.prerequisites ?? []).join(" "),
      ...args,
    ],
    { input: bundle && header ? bundle.subarray(header.packStart) : Buffer.alloc(0) },
  );
  if (r.code === MISSING) return { ok: false, reason: "missing-prerequisites" };
  if (r.code === NO_GIT) return { ok: false, reason: "no-fork" };
  if (r.code !== 0) throw failed("bringing the workspace's fork up to date", r);
  return { ok: true, kept: r.stdout.split("\n").filter(Boolean) };
}
