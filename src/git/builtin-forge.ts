// The built-in forge: a canonical bare repository per package under the data directory, driven through
// the real git. Only Azusa writes to it; workspaces reach it through their fork (fork.ts).
import { spawn } from "node:child_process";
import {
  closeSync,
  createReadStream,
  type Dirent,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fail, invalidWith } from "../kernel/errors.ts";
import { msg } from "../kernel/messages.ts";
import { processAlive } from "../kernel/process.ts";
import { type Diff, parseDiff } from "./diff.ts";
import type { Forge, RepositoryInfo, RepositorySpec } from "./forge.ts";
import { importSource } from "./import-source.ts";

/** Who Azusa's own commits (first commits, merges) are by. */
const AZUSA_IDENTITY = ["-c", "user.name=Azusa", "-c", "user.email=azusa@localhost"];

/**
 * Runs git in `dir` (or in no repository) and resolves with its output; an exit status outside `ok` (0 by
 * default) rejects with git's own message. A plain spawn rather than simple-git: simple-git waits a further
 * 50 ms after every command that prints nothing, and most of the forge's commands print nothing.
 */
export function runGit(
  dir: string | undefined,
  args: string[],
  opts: { input?: string | Buffer | NodeJS.ReadableStream; ok?: number[] } = {},
): Promise<Buffer> {
  const ok = opts.ok ?? [0];
  return new Promise((done, fail) => {
    const child = spawn("git", [...AZUSA_IDENTITY, ...args], {
      cwd: dir,
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, GIT_TERMINAL_PROMPT: "0" },
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => err.push(c));
    child.once("error", fail);
    // git may exit before reading all of its input (a failure): that is reported by its exit status.
    child.stdin.once("error", () => undefined);
    const input = opts.input ?? "";
    if (typeof input === "string" || Buffer.isBuffer(input)) child.stdin.end(input);
    else {
      input.once("error", (err) => {
        child.kill();
        fail(err);
      });
      input.pipe(child.stdin);
    }
    child.once("close", (code, signal) => {
      if (code !== null && ok.includes(code)) return done(Buffer.concat(out));
      const message = Buffer.concat(err).toString("utf8").trim().slice(0, 500);
      fail(new Error(`git ${args[0]} failed (${signal ?? `exit ${code}`})${message ? `: ${message}` : ""}`));
    });
  });
}

/** Whether git exits 0 (a question it answers by its status, or a compare-and-swap). */
const succeeds = (dir: string, args: string[]) =>
  runGit(dir, args).then(
    () => true,
    () => false,
  );

/** runGit's output as text. */
const gitText = async (dir: string | undefined, args: string[], ok?: number[]) =>
  (await runGit(dir, args, { ok })).toString("utf8");

/** Refs kept for Azusa's own use: fork branches and pull request heads; never advertised to readers. */
export const forkRef = (workspaceId: string, branch = "") => `refs/azusa/forks/${workspaceId}/${branch}`;
export const pullRef = (number: number) => `refs/azusa/pulls/${number}/head`;
/** What was last sent to a workspace's fork of a published ref (`refs/heads/main`, `refs/tags/v1`). */
export const sentRef = (workspaceId: string, ref = "") => `refs/azusa/sent/${workspaceId}/${ref}`;

/** A published ref and the object it points at, as sent to a fork. */
export interface PublishedRef {
  ref: string;
  sha: string;
}

const SHA = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;

/** The most a bundle's header may take (its refs: a fork's branches). */
const BUNDLE_HEADER_MAX = 1024 * 1024;

/** The refs a bundle carries, read from its header (`<sha> <ref>` lines; prerequisites start with `-`). */
export function bundleRefs(bundle: Buffer): PublishedRef[] {
  const end = bundle.indexOf("\n\n");
  const header = bundle.subarray(0, Math.max(end, 0)).toString("utf8").split("\n").slice(1);
  return header.flatMap((line) => {
    const [sha = "", ref = ""] = line.split(" ");
    return SHA.test(sha) && ref ? [{ ref, sha }] : [];
  });
}

/**
 * A bundle's header: the refs it carries, the commits it builds on (its prerequisites) and where its pack starts.
 * Null when `head` (the bundle's first bytes) holds no whole header.
 */
export function bundleHeader(
  head: Buffer,
): { refs: PublishedRef[]; prerequisites: string[]; packStart: number } | null {
  const end = head.indexOf("\n\n");
  if (end < 0 || !/^# v[23] git bundle\n/.test(head.subarray(0, 20).toString("utf8"))) return null;
  const lines = head.subarray(0, end).toString("utf8").split("\n").slice(1);
  const prerequisites = lines.flatMap((l) =>
    l.startsWith("-") && SHA.test(l.slice(1, 41)) ? [l.slice(1).split(" ")[0] ?? ""] : [],
  );
  return { refs: bundleRefs(head), prerequisites, packStart: end + 2 };
}

/**
 * The objects of a pack index (version 2), ordered by where they sit in the pack: `hashBytes` is 20 (SHA-1) or 32.
 */
export function packIndexByOffset(idx: Buffer, hashBytes: number): { offset: number; sha: string }[] {
  if (idx.readUInt32BE(0) !== 0xff744f63 || idx.readUInt32BE(4) !== 2) throw new Error("not a version 2 pack index");
  const n = idx.readUInt32BE(8 + 255 * 4);
  const names = 8 + 256 * 4;
  const offsets = names + n * hashBytes + n * 4;
  const large = offsets + n * 4;
  const out: { offset: number; sha: string }[] = [];
  for (let i = 0; i < n; i++) {
    const small = idx.readUInt32BE(offsets + i * 4);
    const offset = small & 0x80000000 ? Number(idx.readBigUInt64BE(large + (small & 0x7fffffff) * 8)) : small;
    out.push({ offset, sha: idx.toString("hex", names + i * hashBytes, names + (i + 1) * hashBytes) });
  }
  return out.sort((x, y) => x.offset - y.offset);
}

/**
 * Whether every object of `shas` is reachable from the commits `known`: the whole of their history is walked, so
 * this is asked only of what a fork's bundle names without carrying it beyond the trees its commits build on,
 * which git never leaves out of a bundle it makes itself (an older file brought back is carried again).
 */
async function heldAlready(dir: string, shas: string[], known: string[]): Promise<boolean> {
  if (!known.length) return false;
  const held = new Set((await gitText(dir, ["rev-list", "--objects", "--no-object-names", ...known])).split("\n"));
  return shas.every((sha) => held.has(sha));
}

/**
 * The refs of a repository whose names start with one of `prefixes` (a folder such as `refs/heads/`, or a whole
 * ref name), read from its files as git's files backend keeps them (a file per loose ref, then `packed-refs`),
 * without running git: the forge reads refs on every pull request and merge, and a git run costs far more than
 * the read. Loose refs are listed before `packed-refs` is read, so a ref packed meanwhile is still found.
 * Symbolic refs are left out; sorted by name, as `git for-each-ref` prints them.
 */
export function readRefs(dir: string, prefixes: string[]): PublishedRef[] {
  const found = new Map<string, string>();
  const loose: string[] = [];
  const walk = (ref: string) => {
    let entries: Dirent[];
    try {
      entries = readdirSync(join(dir, ref), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.isDirectory()) walk(`${ref}${e.name}/`);
      else if (e.isFile() && !e.name.endsWith(".lock")) loose.push(`${ref}${e.name}`);
    }
  };
  for (const p of prefixes) {
    if (p.endsWith("/")) walk(p);
    else loose.push(p);
  }
  const wanted = (ref: string) => prefixes.some((p) => (p.endsWith("/") ? ref.startsWith(p) : ref === p));
  let packed = "";
  try {
    packed = readFileSync(join(dir, "packed-refs"), "utf8");
  } catch {}
  for (const ref of loose) {
    let text: string;
    try {
      text = readFileSync(join(dir, ref), "utf8").trim();
    } catch {
      continue; // gone meanwhile (deleted, or packed: then packed-refs has it)
    }
    if (SHA.test(text)) found.set(ref, text);
  }
  for (const line of packed.split("\n")) {
    if (!line || line.startsWith("#") || line.startsWith("^")) continue;
    const [sha = "", ref = ""] = line.split(" ");
    if (SHA.test(sha) && wanted(ref) && !found.has(ref)) found.set(ref, sha);
  }
  return [...found].map(([ref, sha]) => ({ ref, sha })).sort((a, b) => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0));
}

/** True when git refused to write a bundle because it would carry nothing. */
export const emptyBundle = (err: unknown) => err instanceof Error && /empty bundle/.test(err.message);

const safeId = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** A branch name git accepts and that cannot be mistaken for an option or a refspec. */
export function checkBranch(name: string, path = "branch"): void {
  const ok =
    /^[A-Za-z0-9._/-]{1,200}$/.test(name) &&
    !name.startsWith("-") &&
    !name.startsWith("/") &&
    !name.endsWith("/") &&
    !name.endsWith(".lock") &&
    !name.includes("..") &&
    !name.includes("//") &&
    !name.split("/").some((p) => p.startsWith("."));
  if (!ok) throw invalidWith(msg("git.notBranch", { path }), path, msg("form.verdictField"));
}

/** The folder of a canonical repository that holds its workspaces' object store. */
const STORE = "azusa-store";

/** A workspace's fork as the canonical repository knows it. */
export interface ForkState {
  /** Its branches as last imported (branch → commit). */
  branches: Map<string, string>;
  /** Commits known to be in it: those branches and the published branches last sent to it. */
  known: string[];
}

/** A package's object store on the host: one pack of its published history, and the refs it was made from. */
export interface ObjectStore {
  dir: string;
  /** The pack's name (`pack-<name>.pack`). */
  pack: string;
  tips: PublishedRef[];
}

export interface MergeResult {
  ok: boolean;
  /** The new tip of the target branch when ok. */
  sha?: string;
  /** Files in conflict when not ok. */
  conflicts?: string[];
}

/** Options of the built-in forge. */
export interface BuiltinForgeOptions {
  /** Where repositories live: `<root>/<tenant>/<package>.git`. */
  root: string;
  /** The folder sources come from, one folder per tenant (`<importDir>/<tenant id>/`); none when unset. */
  importDir?: string;
}

/** A repository being built beside its place: `<package>.git.building-<pid>-<time>`. */
const BUILDING = /\.git\.building-(\d+)-\d+$/;

/**
 * Removes what a crash left of repositories being built (a whole clone of a source, maybe): those of processes
 * that are gone; another Azusa on the same folder may be building its own. Returns how many went.
 */
export function sweepUnfinished(root: string): number {
  let removed = 0;
  const folders = existsSync(root) ? readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory()) : [];
  for (const tenant of folders) {
    for (const entry of readdirSync(join(root, tenant.name))) {
      const pid = BUILDING.exec(entry)?.[1];
      if (!pid || processAlive(Number(pid))) continue;
      rmSync(join(root, tenant.name, entry), { recursive: true, force: true });
      removed++;
    }
  }
  return removed;
}

/** The built-in forge over the real git; what a crash left half-built is swept as it is made. */
export function createBuiltinForge({ root, importDir }: BuiltinForgeOptions) {
  sweepUnfinished(root);
  const pathOf = (repo: RepositoryInfo) => resolve(root, repo.name);
  /** git in one repository, its output as text. */
  const git = (dir: string) => ({ raw: (args: string[], ok?: number[]) => gitText(dir, args, ok) });

  async function revParse(dir: string, ref: string): Promise<string | null> {
    try {
      return (await git(dir).raw(["rev-parse", "--verify", "--quiet", `${ref}^{commit}`])).trim() || null;
    } catch {
      return null;
    }
  }

  /**
   * The first commit (a README naming the package) on main, written by one `git fast-import` straight into
   * the bare repository: no working tree, no clone, no push.
   */
  async function firstCommit(bare: string, title: string): Promise<void> {
    const readme = Buffer.from(`# ${title}\n\nThis repository was created by Azusa.\n`, "utf8");
    const message = Buffer.from("Initial commit\n", "utf8");
    const who = `Azusa <azusa@localhost> ${Math.floor(Date.now() / 1000)} +0000`;
    const stream = Buffer.concat([
      Buffer.from(`blob\nmark :1\ndata ${readme.length}\n`),
      readme,
      Buffer.from(`\ncommit refs/heads/main\nauthor ${who}\ncommitter ${who}\ndata ${message.length}\n`),
      message,
      Buffer.from("M 100644 :1 README.md\n\ndone\n"),
    ]);
    await runGit(bare, ["fast-import", "--quiet", "--done"], { input: stream });
  }

  /** The published refs (branches and tags), as a clone gets them. */
  const published = (dir: string): PublishedRef[] => readRefs(dir, ["refs/heads/", "refs/tags/"]);

  /**
   * Writes the object store of `dir` into `<dir>/azusa-store/`: one pack (with its index, so that a workspace
   * indexes nothing) of what the published refs reach and nothing else, the refs it was made from (`tips`), and
   * `ready-<pack>`, the file a workspace checks for before it uses the store. Built beside and renamed.
   */
  async function buildStore(dir: string): Promise<void> {
    const final = join(dir, STORE);
    const tmp = `${final}.building-${process.pid}-${Date.now()}`;
    try {
      mkdirSync(join(tmp, "pack"), { recursive: true });
      const refs = published(dir);
      const tips = [...new Set(refs.map((r) => r.sha))];
      const name = (
        await runGit(dir, ["pack-objects", "--revs", "--delta-base-offset", "-q", join(tmp, "pack", "pack")], {
          input: `${tips.join("\n")}\n`,
        })
      )
        .toString("utf8")
        .trim();
      if (!/^[0-9a-f]{40,64}$/.test(name))
        throw new Error(`git pack-objects printed no pack name: ${name.slice(0, 100)}`);
      writeFileSync(join(tmp, "tips"), refs.map((r) => `${r.sha} ${r.ref}\n`).join(""));
      writeFileSync(join(tmp, `ready-${name}`), "");
      try {
        renameSync(tmp, final);
      } catch (err) {
        // Another process made it meanwhile: theirs is as good.
        if (!existsSync(join(final, "tips"))) throw err;
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }

  const forge = {
    kind: "builtin" as const,
    /** The bare repository's directory, for Git's smart HTTP. */
    pathOf,

    async createRepository(spec: RepositorySpec): Promise<RepositoryInfo> {
      if (!safeId.test(spec.tenantId) || !safeId.test(spec.packageId)) {
        throw fail("VALIDATION", msg("git.plainIds"));
      }
      const repo = { name: `${spec.tenantId}/${spec.packageId}.git`, defaultBranch: "main" };
      const dir = pathOf(repo);
      // Only whole repositories are ever renamed into place; one without main is a crash's leftover.
      if (existsSync(dir) && (await revParse(dir, "refs/heads/main"))) return repo;
      mkdirSync(dirname(dir), { recursive: true });
      // Checked again here, not only when the contract was saved: the folder may have changed since.
      const seed = spec.seed ? importSource(spec.seed, importDir, spec.tenantId) : null;
      // Built beside its final place and renamed: a crash leaves no half-made repository behind.
      const building = `${dir}.building-${process.pid}-${Date.now()}`;
      try {
        if (seed) {
          // Through Git's own transport, never a copy of the source's files: the repository gets the source's
          // branches and tags and only the objects they reach, in one pack (no unreachable history, no
          // .promisor file of a partial clone).
          await git(dirname(dir)).raw(["clone", "-q", "--bare", "--no-local", seed, building]);
          const g = git(building);
          await g.raw(["remote", "remove", "origin"]);
          // The canonical branch is main, whatever the seed called its default branch.
          if (!(await revParse(building, "refs/heads/main"))) await g.raw(["branch", "main", "HEAD"]);
          await g.raw(["symbolic-ref", "HEAD", "refs/heads/main"]);
        } else {
          await git(dirname(dir)).raw(["init", "-q", "--bare", "-b", "main", building]);
          await firstCommit(building, spec.title);
        }
        const g = git(building);
        // Readers see branches and tags only; no push is ever accepted over HTTP.
        await g.raw(["config", "uploadpack.hideRefs", "refs/azusa"]);
        await g.raw(["config", "http.receivepack", "false"]);
        await g.raw(["config", "receive.denyNonFastForwards", "true"]);
        // The workspaces' object store, made now (ahead of the first workspace, as the repository is).
        await buildStore(building);
        rmSync(dir, { recursive: true, force: true });
        renameSync(building, dir);
      } finally {
        rmSync(building, { recursive: true, force: true });
      }
      return repo;
    },

    async headOf(repo: RepositoryInfo, branch: string): Promise<string | null> {
      checkBranch(branch);
      return readRefs(pathOf(repo), [`refs/heads/${branch}`])[0]?.sha ?? null;
    },

    async protectDefaultBranch(repo: RepositoryInfo, rule: { requiredApprovals: number }): Promise<void> {
      await git(pathOf(repo)).raw(["config", "azusa.requiredApprovals", String(rule.requiredApprovals)]);
    },

    async protection(repo: RepositoryInfo): Promise<{ requiredApprovals: number } | null> {
      // exit 1: not set
      const value = await git(pathOf(repo)).raw(["config", "--get", "azusa.requiredApprovals"], [0, 1]);
      return value.trim() ? { requiredApprovals: Number(value.trim()) } : null;
    },

    async grantEngineer(repo: RepositoryInfo, engineer: { login: string }): Promise<void> {
      // On the built-in forge an engineer writes only to their workspace's fork; this records who may.
      if (!(await forge.engineers(repo)).includes(engineer.login))
        await git(pathOf(repo)).raw(["config", "--add", "azusa.engineer", engineer.login]);
    },

    async engineers(repo: RepositoryInfo): Promise<string[]> {
      const out = await git(pathOf(repo)).raw(["config", "--get-all", "azusa.engineer"], [0, 1]);
      return out.split("\n").filter(Boolean);
    },

    /**
     * Sets `refs/azusa/forks/<workspace>/` to the fork's branches (`heads`, branch → commit), dropping deleted
     * ones, with the new objects from `bundle` (a bundle of what the fork has beyond `state.known`; none when the
     * push made no objects). Every commit the branches reach must be one the bundle's own pack carries or one
     * already known to be in the fork, and its deltas may only build on files of the commits it names as its
     * base: a fork cannot name, build on or copy from commits of another one, whatever its header says. `state`
     * is the fork as `forkState` read it just before. Returns the branches as now set, and, when `ahead` names one
     * of them, how many commits it has that the default branch lacks (null otherwise).
     */
    async importFork(
      repo: RepositoryInfo,
      workspaceId: string,
      heads: Map<string, string>,
      bundle: string | null,
      state: ForkState,
      { ahead }: { ahead?: string } = {},
    ): Promise<{ branches: Map<string, string>; ahead: number | null }> {
      if (!safeId.test(workspaceId)) throw fail("VALIDATION", msg("git.plainWorkspace"));
      for (const [branch, sha] of heads) {
        checkBranch(branch);
        if (!SHA.test(sha)) throw new Error(`the fork's branch ${branch} names no commit`);
      }
      const dir = pathOf(repo);
      const prerequisites: string[] = [];
      // The objects the fork itself sent, and those `--fix-thin` added from this repository as delta bases.
      const sent = new Set<string>();
      let bases: string[] = [];
      if (bundle) {
        // Only the objects, straight into index-pack: refs are set below, from `heads`. (`git bundle unbundle`
        // would first walk the whole history from every ref to check the prerequisites, which is checked below.)
        const fd = openSync(bundle, "r");
        const head = Buffer.alloc(BUNDLE_HEADER_MAX);
        const read = readSync(fd, head, 0, head.length, 0);
        const header = bundleHeader(head.subarray(0, read));
        const count = Buffer.alloc(12);
        if (header) readSync(fd, count, 0, 12, header.packStart);
        closeSync(fd);
        if (!header || count.subarray(0, 4).toString("latin1") !== "PACK")
          throw new Error("the fork's bundle has no readable header");
        prerequisites.push(...header.prerequisites);
        const made = (
          await runGit(dir, ["index-pack", "--fix-thin", "--stdin"], {
            input: createReadStream(bundle, { start: header.packStart }),
          })
        ).toString("utf8");
        const name = /^(?:pack|keep)\t([0-9a-f]{40,64})$/m.exec(made)?.[1];
        if (!name) throw new Error(`git index-pack printed no pack name: ${made.slice(0, 100)}`);
        // The pack as written: the objects sent first, in their order, then the bases appended after them.
        const listed = packIndexByOffset(
          readFileSync(join(dir, "objects", "pack", `pack-${name}.idx`)),
          name.length / 2,
        );
        const own = count.readUInt32BE(8);
        for (const o of listed.slice(0, own)) sent.add(o.sha);
        bases = listed.slice(own).map((o) => o.sha);
      }
      const known = state.known;
      const wanted = [...heads.values()];
      // Every object the branches reach, and every commit the bundle builds on, beyond what is known to be in the
      // fork must be one the fork sent: a branch cannot name a commit of another fork (whatever the bundle's header
      // says), a sent commit cannot have one as a parent, a bundle cannot build on one (what it builds on is not in
      // its pack), and a sent tree cannot name another fork's file or folder by its id. One rev-list prints them
      // (as git bundles them: all but the trees of the known commits the new ones build on); an object not here at
      // all is a refusal too.
      const knownSet = new Set(known);
      const beyond = [...new Set([...wanted, ...prerequisites])].filter((sha) => !knownSet.has(sha));
      const reached =
        beyond.length > 0
          ? git(dir)
              .raw(["rev-list", "--objects", "--no-object-names", ...beyond, "--not", ...known])
              .then((out) => {
                const unsent = out.split("\n").filter((sha) => sha && !sent.has(sha));
                return unsent.length === 0 || heldAlready(dir, unsent, known);
              })
              .catch(() => false)
          : Promise.resolve(true);
      // The objects its deltas copy from must be in the trees of the commits it builds on, where git takes them
      // from: a delta against another fork's file would copy its content into this one.
      const based =
        bases.length > 0
          ? prerequisites.length > 0 &&
            git(dir)
              .raw(["rev-list", "--objects", "--no-walk", ...prerequisites])
              .then((out) => {
                const of = new Set(out.split("\n").map((line) => line.split(" ")[0]));
                return bases.every((sha) => of.has(sha));
              })
              .catch(() => false)
          : true;
      // Counted meanwhile: how many commits the branch `ahead` has that the default branch lacks.
      const aheadSha = ahead === undefined ? undefined : heads.get(ahead);
      const counted =
        aheadSha === undefined
          ? null
          : git(dir)
              .raw(["rev-list", "--count", `refs/heads/${repo.defaultBranch}..${aheadSha}`])
              .then((out) => Number(out.trim()))
              .catch(() => null);
      const [ownCommits, ownBases, aheadBy] = await Promise.all([reached, based, counted]);
      if (!ownCommits || !ownBases) throw new Error("the fork's branches name commits it did not send");
      const updates = [
        ...[...heads].map(([branch, sha]) => `update ${forkRef(workspaceId, branch)} ${sha}`),
        ...[...state.branches.keys()].filter((b) => !heads.has(b)).map((b) => `delete ${forkRef(workspaceId, b)}`),
      ];
      if (updates.length) await runGit(dir, ["update-ref", "--stdin"], { input: `${updates.join("\n")}\n` });
      return { branches: new Map(heads), ahead: aheadBy };
    },

    /**
     * A workspace's fork as the canonical repository knows it, in one read: its branches as last imported, and
     * the commits known to be in it (those branches and the published branches last sent to it), which a fork's
     * bundle leaves out.
     */
    async forkState(repo: RepositoryInfo, workspaceId: string): Promise<ForkState> {
      const forks = forkRef(workspaceId);
      const branches = new Map<string, string>();
      const known = new Set<string>();
      for (const { ref, sha } of readRefs(pathOf(repo), [forks, sentRef(workspaceId, "refs/heads/")])) {
        known.add(sha);
        if (ref.startsWith(forks)) branches.set(ref.slice(forks.length), sha);
      }
      return { branches, known: [...known] };
    },

    /** A bundle of every branch and tag, the refs a clone gets, to seed a fork; with the refs it carries. */
    async bundlePublished(repo: RepositoryInfo): Promise<{ bundle: Buffer; refs: PublishedRef[] }> {
      const bundle = await runGit(pathOf(repo), ["bundle", "create", "-q", "-", "--branches", "--tags"]);
      return { bundle, refs: bundleRefs(bundle) };
    },

    /**
     * The published refs (branches and tags) that moved since they were last sent to a workspace's fork, and a
     * bundle of the objects the fork lacks for them: only what goes beyond what the fork is known to hold (`forkState`), unless `full`. No refs
     * when the fork is up to date; no bundle when the refs moved to commits the fork has.
     */
    async publishedFor(
      repo: RepositoryInfo,
      workspaceId: string,
      { full = false }: { full?: boolean } = {},
    ): Promise<{ refs: PublishedRef[]; bundle: Buffer | null }> {
      const dir = pathOf(repo);
      // One read: what was sent, the published refs, and the fork's branches as last imported.
      const prefix = sentRef(workspaceId);
      const forks = forkRef(workspaceId);
      const sent = new Map<string, string>();
      const current: PublishedRef[] = [];
      const known = new Set<string>();
      for (const { ref, sha } of readRefs(dir, [prefix, forks, "refs/heads/", "refs/tags/"])) {
        if (ref.startsWith(prefix)) {
          sent.set(ref.slice(prefix.length), sha);
          if (ref.startsWith(`${prefix}refs/heads/`)) known.add(sha);
        } else if (ref.startsWith(forks)) known.add(sha);
        else current.push({ ref, sha });
      }
      const refs = current.filter((r) => sent.get(r.ref) !== r.sha);
      if (!refs.length) return { refs, bundle: null };
      try {
        const bundle = await runGit(dir, [
          "bundle",
          "create",
          "-q",
          "-",
          ...refs.map((r) => r.ref),
          "--not",
          ...(full ? [] : known),
        ]);
        return { refs: bundleRefs(bundle), bundle };
      } catch (err) {
        if (emptyBundle(err)) return { refs, bundle: null };
        throw err;
      }
    },

    /**
     * The package's object store (made now when the repository predates it): its pack's name and the refs it was
     * made from. What a workspace's fork borrows instead of holding the history itself.
     */
    async store(repo: RepositoryInfo): Promise<ObjectStore> {
      const dir = join(pathOf(repo), STORE);
      if (!existsSync(join(dir, "tips"))) await buildStore(pathOf(repo));
      const ready = readdirSync(dir).find((f) => f.startsWith("ready-"));
      if (!ready) throw new Error(`the object store of ${repo.name} is incomplete`);
      const tips = readFileSync(join(dir, "tips"), "utf8")
        .split("\n")
        .filter(Boolean)
        .map((line) => {
          const [sha = "", ref = ""] = line.split(" ");
          return { ref, sha };
        });
      return { dir, pack: ready.slice("ready-".length), tips };
    },

    /** The store's files as a tar stream (paths relative to the store's root, the ready file last). */
    storeFiles(store: ObjectStore): NodeJS.ReadableStream {
      const files = [`pack/pack-${store.pack}.pack`, `pack/pack-${store.pack}.idx`, `ready-${store.pack}`];
      const tar = spawn("tar", ["-c", "--owner=0", "--group=0", "--mode=a+r,a-w", "-C", store.dir, ...files], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      return tar.stdout;
    },

    /**
     * Every published ref, and a bundle of what they reach beyond the store's refs (null when nothing): with the
     * store, all a new fork needs.
     */
    async publishedBeyond(
      repo: RepositoryInfo,
      store: ObjectStore,
    ): Promise<{ refs: PublishedRef[]; bundle: Buffer | null }> {
      const dir = pathOf(repo);
      const refs = published(dir);
      const known = new Set(store.tips.map((t) => t.sha));
      const moved = refs.filter((r) => !known.has(r.sha));
      if (!moved.length) return { refs, bundle: null };
      const base = [...known];
      try {
        const bundle = await runGit(dir, ["bundle", "create", "-q", "-", ...moved.map((r) => r.ref), "--not", ...base]);
        return { refs, bundle };
      } catch (err) {
        if (emptyBundle(err)) return { refs, bundle: null };
        throw err;
      }
    },

    /** Records that these published refs now are in a workspace's fork. */
    async markSent(repo: RepositoryInfo, workspaceId: string, refs: PublishedRef[]): Promise<void> {
      if (!safeId.test(workspaceId)) throw fail("VALIDATION", msg("git.plainWorkspace"));
      if (!refs.length) return;
      const input = refs.map((r) => `update ${sentRef(workspaceId, r.ref)} ${r.sha}\n`).join("");
      await runGit(pathOf(repo), ["update-ref", "--stdin"], { input });
    },

    /**
     * Packs the repository with git's own maintenance (the gc task: one pack, loose objects packed, refs packed),
     * when it holds more than one pack or any loose object. Returns whether it ran.
     */
    async maintain(repo: RepositoryInfo): Promise<boolean> {
      const dir = pathOf(repo);
      const counts = Object.fromEntries(
        (await git(dir).raw(["count-objects", "-v"]))
          .split("\n")
          .filter(Boolean)
          .map((l) => l.split(": ") as [string, string]),
      );
      if (Number(counts.count) === 0 && Number(counts.packs) <= 1) return false;
      await git(dir).raw(["maintenance", "run", "--quiet", "--task=gc"]);
      return true;
    },

    /** Keeps a pull request's head reachable even when its fork branch goes away. */
    async pin(repo: RepositoryInfo, number: number, sha: string): Promise<void> {
      await git(pathOf(repo)).raw(["update-ref", pullRef(number), sha]);
    },

    /** What `head` changes against the default branch, from their merge base (three-dot). */
    async diff(repo: RepositoryInfo, head: string): Promise<Diff> {
      const text = await git(pathOf(repo)).raw([
        "diff",
        "--no-color",
        "--no-ext-diff",
        "--find-renames",
        `refs/heads/${repo.defaultBranch}...${head}`,
      ]);
      return parseDiff(text);
    },

    /** What changed from `base` to `head` (two-dot). */
    async diffBetween(repo: RepositoryInfo, base: string, head: string): Promise<Diff> {
      const text = await git(pathOf(repo)).raw(["diff", "--no-color", "--no-ext-diff", "--find-renames", base, head]);
      return parseDiff(text);
    },

    /** Whether `head` has commits the default branch lacks. */
    async ahead(repo: RepositoryInfo, head: string): Promise<number> {
      const out = await git(pathOf(repo)).raw(["rev-list", "--count", `refs/heads/${repo.defaultBranch}..${head}`]);
      return Number(out.trim());
    },

    /**
     * Merges `head` into the default branch with a merge commit, made without a working tree
     * (`git merge-tree --write-tree`); the branch moves only if nobody moved it meanwhile.
     */
    async merge(repo: RepositoryInfo, head: string, message: string): Promise<MergeResult> {
      const made = await forge.mergeCommit(repo, head, message);
      if (!made.ok) return { ok: false, conflicts: made.conflicts };
      if (!(await forge.advance(repo, made.sha, made.base))) {
        throw fail("CONFLICT", msg("git.mergeMoved"));
      }
      return { ok: true, sha: made.sha };
    },

    /**
     * The merge commit of `head` into the default branch as it is now, written as an object but referenced by
     * nothing yet (`advance` makes it the branch's tip), or the conflicted paths.
     */
    async mergeCommit(
      repo: RepositoryInfo,
      head: string,
      message: string,
    ): Promise<{ ok: true; sha: string; base: string } | { ok: false; conflicts: string[]; base: string }> {
      const dir = pathOf(repo);
      const g = git(dir);
      const base = readRefs(dir, [`refs/heads/${repo.defaultBranch}`])[0]?.sha ?? null;
      if (!base) throw fail("INVALID_STATE", msg("git.noDefault"));
      // A clean merge prints the tree; a conflicted one (exit status 1) prints the tree, then the conflicted paths.
      const out = await g.raw(["merge-tree", "--write-tree", "--name-only", "--no-messages", base, head], [0, 1]);
      const [tree = "", ...rest] = out.split("\n").map((l) => l.trim());
      const conflicts = [...new Set(rest.filter(Boolean))];
      if (conflicts.length) return { ok: false, conflicts, base };
      if (!/^[0-9a-f]{40,64}$/.test(tree)) throw new Error(`git merge-tree printed no tree: ${out.slice(0, 200)}`);
      const sha = (await g.raw(["commit-tree", tree, "-p", base, "-p", head, "-m", message])).trim();
      return { ok: true, sha, base };
    },

    /** Moves the default branch from `base` to `sha`; false when it is no longer at `base` (somebody moved it). */
    async advance(repo: RepositoryInfo, sha: string, base: string): Promise<boolean> {
      return succeeds(pathOf(repo), ["update-ref", "-m", "merge", `refs/heads/${repo.defaultBranch}`, sha, base]);
    },

    /** Whether the default branch contains `sha` (is it, or descends from it). */
    async contains(repo: RepositoryInfo, sha: string): Promise<boolean> {
      return succeeds(pathOf(repo), ["merge-base", "--is-ancestor", sha, `refs/heads/${repo.defaultBranch}`]);
    },
  } satisfies Forge & Record<string, unknown>;
  return forge;
}

export type BuiltinForge = ReturnType<typeof createBuiltinForge>;
