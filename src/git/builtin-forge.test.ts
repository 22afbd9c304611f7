// The built-in forge over the real git: the shared forge contract, and sources only from the tenant's own
// import folder.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deflateSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { AppError } from "../kernel/errors.ts";
import { createBuiltinForge, readRefs, sweepUnfinished } from "./builtin-forge.ts";
import { forgeContract } from "./forge.contract.ts";
import { checkImportSource, importSource } from "./import-source.ts";

const root = mkdtempSync(join(tmpdir(), "azusa-forge-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

forgeContract("built-in", async () => ({
  forge: createBuiltinForge({ root: join(root, "repos") }),
  tenantId: "tenant-1",
  packageId: "package-1",
  engineer: "sato",
}));

describe("sources in the tenant's import folder", () => {
  const imports = join(root, "imports");
  const git = (...args: string[]) => spawnSync("git", args, { encoding: "utf8" });
  const makeRepo = (dir: string) => {
    git("init", "-q", "-b", "trunk", dir);
    writeFileSync(join(dir, "app.ts"), "export const client = 'secret';\n");
    git("-C", dir, "add", ".");
    git("-C", dir, "-c", "user.name=c", "-c", "user.email=c@example.invalid", "commit", "-q", "-m", "client code");
  };
  mkdirSync(join(imports, "tenant-a"), { recursive: true });
  mkdirSync(join(imports, "tenant-b"), { recursive: true });
  makeRepo(join(imports, "tenant-a", "ok"));
  makeRepo(join(imports, "tenant-b", "theirs"));
  makeRepo(join(root, "elsewhere"));
  symlinkSync(join(imports, "tenant-b", "theirs"), join(imports, "tenant-a", "link"));
  symlinkSync(join(imports, "tenant-a", "ok"), join(imports, "tenant-a", "inside-link"));
  const refused = (source: string, tenant = "tenant-a") => {
    try {
      importSource(source, imports, tenant);
    } catch (err) {
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).code).toBe("VALIDATION");
      expect((err as AppError).message).toMatch(/^sourceRepository: /);
      return (err as AppError).message;
    }
    throw new Error(`${source} was accepted`);
  };

  it("are named relative to the tenant's folder, as an absolute path inside it, or as a file:/// URL", () => {
    const ok = join(imports, "tenant-a", "ok");
    expect(importSource("ok", imports, "tenant-a")).toBe(ok);
    expect(importSource(ok, imports, "tenant-a")).toBe(ok);
    expect(importSource(`file://${ok}`, imports, "tenant-a")).toBe(ok);
    expect(importSource("inside-link", imports, "tenant-a")).toBe(ok);
    // A name that merely begins with two dots lies inside the folder.
    makeRepo(join(imports, "tenant-a", "..dotted.git"));
    expect(importSource("..dotted.git", imports, "tenant-a")).toBe(join(imports, "tenant-a", "..dotted.git"));
  });

  it("never reach another tenant's folder, a path leading out, the network, or a path that does not exist", () => {
    const outside = refused(join(imports, "tenant-b", "theirs"));
    expect(outside).toMatch(/inside the tenant's import folder/);
    // Outside the folder, whether a path exists is never told.
    expect(refused(join(imports, "tenant-b", "no-such"))).toBe(outside);
    expect(refused("../tenant-b/theirs")).toBe(outside);
    expect(refused(join(root, "elsewhere"))).toBe(outside);
    expect(refused("/etc")).toBe(outside);
    expect(refused(".")).toBe(outside);
    expect(refused("link")).toMatch(/a link leads out/);
    expect(refused("missing.git")).toMatch(/no repository at this path/);
    expect(refused("https://example.invalid/client.git")).toMatch(/network addresses are never fetched/);
    expect(refused("git@example.invalid:client.git")).toMatch(/network addresses are never fetched/);
    expect(refused("ok", "tenant-c")).toMatch(/no import folder yet/);
    expect(() => importSource("ok", undefined, "tenant-a")).toThrow(/AZUSA_GIT_IMPORT_DIR/);
  });

  it("must be a Git repository with a commit when a contract names them", async () => {
    mkdirSync(join(imports, "tenant-a", "plain-folder"));
    await expect(checkImportSource("ok", imports, "tenant-a")).resolves.toBe(join(imports, "tenant-a", "ok"));
    await expect(checkImportSource("plain-folder", imports, "tenant-a")).rejects.toThrow(/not a Git repository/);
  });

  it("seed the canonical repository, and a source that went away is an error, not a first commit", async () => {
    const forge = createBuiltinForge({ root: join(root, "seeded"), importDir: imports });
    const repo = await forge.createRepository({ tenantId: "tenant-a", packageId: "p1", title: "P1", seed: "ok" });
    const log = git("--git-dir", forge.pathOf(repo), "log", "--format=%s", "main");
    expect(log.stdout.trim()).toBe("client code");
    await expect(
      forge.createRepository({ tenantId: "tenant-a", packageId: "p2", title: "P2", seed: "gone.git" }),
    ).rejects.toThrow(/sourceRepository: no repository/);
    await expect(
      forge.createRepository({ tenantId: "tenant-a", packageId: "p3", title: "P3", seed: "../tenant-b/theirs" }),
    ).rejects.toThrow(/sourceRepository: must name a repository/);
    expect(existsSync(join(root, "seeded", "tenant-a", "p2.git"))).toBe(false);
    expect(existsSync(join(root, "seeded", "tenant-a", "p3.git"))).toBe(false);
  });
});

describe("a repository seeded from a source", () => {
  const git = (dir: string, ...args: string[]) =>
    spawnSync("git", ["-C", dir, "-c", "user.name=c", "-c", "user.email=c@example.invalid", ...args], {
      encoding: "utf8",
    });

  it("holds only the source's branches and tags and the objects they reach, in one pack", async () => {
    const imports = join(root, "reachable-imports");
    const source = join(imports, "tenant-a", "big");
    mkdirSync(source, { recursive: true });
    git(source, "init", "-q", "-b", "main");
    writeFileSync(join(source, "app.ts"), "export const a = 1;\n");
    git(source, "add", ".");
    git(source, "commit", "-q", "-m", "first");
    git(source, "tag", "v1.0");
    // History the source's pack still holds but nothing reaches: a commit with a large file, then dropped.
    writeFileSync(join(source, "dump.bin"), Buffer.alloc(2 * 1024 * 1024, 7));
    git(source, "add", ".");
    git(source, "commit", "-q", "-m", "dropped");
    const dropped = git(source, "rev-parse", "HEAD:dump.bin").stdout.trim();
    git(source, "reset", "-q", "--hard", "HEAD~1");
    git(source, "reflog", "expire", "--expire=now", "--all");
    git(source, "repack", "-q", "-a", "-d");
    // As in a partial clone: a .promisor file beside the pack.
    const pack = spawnSync("sh", ["-c", `ls ${source}/.git/objects/pack/*.pack`], { encoding: "utf8" }).stdout.trim();
    writeFileSync(pack.replace(/\.pack$/, ".promisor"), "");
    expect(git(source, "cat-file", "-e", dropped).status).toBe(0);

    const forge = createBuiltinForge({ root: join(root, "reachable"), importDir: imports });
    const repo = await forge.createRepository({ tenantId: "tenant-a", packageId: "p1", title: "P1", seed: "big" });
    const dir = forge.pathOf(repo);
    expect(git(dir, "for-each-ref", "--format=%(refname)").stdout.split("\n").filter(Boolean)).toEqual([
      "refs/heads/main",
      "refs/tags/v1.0",
    ]);
    expect(git(dir, "cat-file", "-e", dropped).status).not.toBe(0);
    const packs = spawnSync("ls", [join(dir, "objects", "pack")], { encoding: "utf8" }).stdout.split("\n");
    expect(packs.filter((f) => f.endsWith(".promisor"))).toEqual([]);
    expect(packs.filter((f) => f.endsWith(".pack"))).toHaveLength(1);
    // Exactly what a fresh repack of the reachable objects holds: same count, no loose objects, no more bytes.
    const counts = (d: string) =>
      Object.fromEntries(
        git(d, "count-objects", "-v")
          .stdout.trim()
          .split("\n")
          .map((l) => l.split(": ") as [string, string]),
      );
    const reachable = git(dir, "rev-list", "--objects", "--all").stdout.trim().split("\n").length;
    const made = counts(dir);
    expect(Number(made["in-pack"])).toBe(reachable);
    expect(Number(made.count)).toBe(0);
    const fresh = join(root, "reachable-fresh.git");
    spawnSync("cp", ["-r", dir, fresh]);
    git(fresh, "repack", "-q", "-a", "-d", "-f");
    expect(Number(counts(fresh)["in-pack"])).toBe(reachable);
    expect(Number(made["size-pack"])).toBeLessThanOrEqual(Number(counts(fresh)["size-pack"]) + 4);
  });
});

describe("repositories a crash left half-built", () => {
  it("are removed when their process is gone, and left to a process still building them", () => {
    const repos = join(root, "sweep");
    const gone = spawnSync("true").pid as number; // a process that has ended
    const leftover = join(repos, "tenant-1", `package-1.git.building-${gone}-1795600000000`);
    const building = join(repos, "tenant-1", `package-2.git.building-${process.pid}-1795600000000`);
    const finished = join(repos, "tenant-1", "package-3.git");
    for (const dir of [leftover, building, finished]) mkdirSync(join(dir, "objects"), { recursive: true });

    expect(sweepUnfinished(repos)).toBe(1);
    expect([existsSync(leftover), existsSync(building), existsSync(finished)]).toEqual([false, true, true]);
    expect(sweepUnfinished(join(root, "no-such-folder"))).toBe(0);
  });
});

describe("what a fork's bundle may bring", () => {
  const forge = createBuiltinForge({ root: join(root, "forks") });
  const git = (cwd: string, ...args: string[]) =>
    spawnSync("git", ["-c", "user.name=e", "-c", "user.email=e@example.invalid", ...args], { cwd, encoding: "utf8" });
  /** A clone of the canonical repository standing in for a workspace's fork, with one commit on `branch`. */
  const forkWith = (canonical: string, name: string, branch: string) => {
    const dir = join(root, "forks", name);
    spawnSync("git", ["clone", "-q", canonical, dir]);
    git(dir, "checkout", "-q", "-b", branch);
    writeFileSync(join(dir, `${name}.txt`), `${name}\n`);
    git(dir, "add", ".");
    git(dir, "commit", "-q", "-m", name);
    return { dir, sha: git(dir, "rev-parse", "HEAD").stdout.trim() };
  };
  const bundleOf = (dir: string, name: string, not: string[]) => {
    const file = join(root, "forks", `${name}.bundle`);
    git(dir, "bundle", "create", "-q", file, "--branches", "--not", ...not);
    return file;
  };

  it("takes a push's own commits, and refuses a branch at another fork's commit, named or built upon", async () => {
    const repo = await forge.createRepository({ tenantId: "t", packageId: "p", title: "p" });
    const canonical = forge.pathOf(repo);
    const main = git(canonical, "rev-parse", "main").stdout.trim();
    await forge.markSent(repo, "ws-a", [{ ref: "refs/heads/main", sha: main }]);
    await forge.markSent(repo, "ws-b", [{ ref: "refs/heads/main", sha: main }]);
    const a = forkWith(canonical, "a", "feature/a");
    const stateA = await forge.forkState(repo, "ws-a");
    expect(stateA.known).toEqual([main]);
    const imported = await forge.importFork(
      repo,
      "ws-a",
      new Map([["feature/a", a.sha]]),
      bundleOf(a.dir, "a", stateA.known),
      stateA,
    );
    expect(imported.branches.get("feature/a")).toBe(a.sha);
    expect((await forge.forkState(repo, "ws-a")).branches.get("feature/a")).toBe(a.sha);

    // Another workspace names a's commit, which the canonical repository holds but b never sent.
    const stateB = await forge.forkState(repo, "ws-b");
    await expect(forge.importFork(repo, "ws-b", new Map([["x", a.sha]]), null, stateB)).rejects.toThrow(/did not send/);
    // Nor may it build on a's commit: a bundle whose prerequisite it is.
    const b = join(root, "forks", "b");
    spawnSync("git", ["clone", "-q", a.dir, b]);
    git(b, "checkout", "-q", "feature/a");
    writeFileSync(join(b, "b.txt"), "b\n");
    git(b, "add", ".");
    git(b, "commit", "-q", "-m", "b on a");
    const onA = git(b, "rev-parse", "HEAD").stdout.trim();
    const file = join(root, "forks", "b.bundle");
    git(b, "bundle", "create", "-q", file, "HEAD", "--not", a.sha);
    await expect(forge.importFork(repo, "ws-b", new Map([["y", onA]]), file, stateB)).rejects.toThrow(/did not send/);
    expect((await forge.forkState(repo, "ws-b")).branches.size).toBe(0);
  });
});

/** A pack (format 2) written by hand: whole objects, or a blob as a delta against a base named by its id. */
function handPack(
  objects: ({ type: "commit" | "tree" | "blob"; body: Buffer } | { deltaOf: string; delta: Buffer })[],
) {
  const varint = (n: number) => {
    const out: number[] = [];
    do {
      let b = n & 0x7f;
      n = Math.floor(n / 128);
      if (n) b |= 0x80;
      out.push(b);
    } while (n);
    return Buffer.from(out);
  };
  const header = (type: number, size: number) => {
    const out = [(type << 4) | (size & 0x0f) | (size > 15 ? 0x80 : 0)];
    for (let n = size >> 4; n; n >>= 7) out.push((n & 0x7f) | (n > 127 ? 0x80 : 0));
    return Buffer.from(out);
  };
  const count = Buffer.alloc(4);
  count.writeUInt32BE(objects.length);
  const parts = [Buffer.from("PACK\0\0\0\x02", "latin1"), count];
  for (const o of objects) {
    if ("deltaOf" in o) parts.push(header(7, o.delta.length), Buffer.from(o.deltaOf, "hex"), deflateSync(o.delta));
    else parts.push(header({ commit: 1, tree: 2, blob: 3 }[o.type], o.body.length), deflateSync(o.body));
  }
  const body = Buffer.concat(parts);
  return { pack: Buffer.concat([body, createHash("sha1").update(body).digest()]), varint };
}

/** An object's id, as git computes it. */
const objectId = (type: string, body: Buffer) =>
  createHash("sha1")
    .update(Buffer.concat([Buffer.from(`${type} ${body.length}\0`), body]))
    .digest("hex");

describe("a fork's bundle written by hand", () => {
  const forge = createBuiltinForge({ root: join(root, "crafted") });
  const dir = join(root, "crafted-work");
  mkdirSync(dir, { recursive: true });
  const git = (cwd: string, ...args: string[]) =>
    spawnSync("git", ["-c", "user.name=e", "-c", "user.email=e@example.invalid", ...args], { cwd, encoding: "utf8" });
  const secret = `${Array.from({ length: 400 }, (_, i) => `line ${i} of engineer A's unpublished work`).join("\n")}\n`;

  /** A package whose canonical repository holds A's unpublished commit (a secret file), sent by workspace ws-a. */
  async function withForkA(packageId: string) {
    const repo = await forge.createRepository({ tenantId: "t", packageId, title: packageId });
    const canonical = forge.pathOf(repo);
    const main = git(canonical, "rev-parse", "main").stdout.trim();
    for (const ws of ["ws-a", "ws-b"]) await forge.markSent(repo, ws, [{ ref: "refs/heads/main", sha: main }]);
    const a = join(dir, `${packageId}-a`);
    git(dir, "clone", "-q", canonical, a);
    git(a, "checkout", "-q", "-b", "feature/a");
    writeFileSync(join(a, "secret.txt"), secret);
    git(a, "add", ".");
    git(a, "commit", "-q", "-m", "A's work");
    const aSha = git(a, "rev-parse", "HEAD").stdout.trim();
    const bundle = join(dir, `${packageId}-a.bundle`);
    git(a, "bundle", "create", "-q", bundle, "--branches", "--not", main);
    await forge.importFork(repo, "ws-a", new Map([["feature/a", aSha]]), bundle, await forge.forkState(repo, "ws-a"));
    return { repo, canonical, main, a, aSha };
  }

  /** B's clone of `from`, checked out with `checkout` args, with one commit adding b.txt (removing `drop`). */
  function commitB(name: string, from: string, checkout: string[], drop: string[] = []) {
    const b = join(dir, name);
    git(dir, "clone", "-q", from, b);
    git(b, "checkout", "-q", ...checkout);
    if (drop.length) git(b, "rm", "-q", ...drop);
    writeFileSync(join(b, "b.txt"), "b\n");
    git(b, "add", ".");
    git(b, "commit", "-q", "-m", "B's work");
    return { b, sha: git(b, "rev-parse", "HEAD").stdout.trim() };
  }

  it("refuses a branch that the bundle's header points at another fork's commit", async () => {
    const { repo, canonical, main, aSha } = await withForkA("header");
    // B's own, honest commit, bundled by git; then a line naming A's commit added to the header.
    const { b, sha: bSha } = commitB("header-b", canonical, ["-b", "mine"]);
    const honest = join(dir, "header-b.bundle");
    git(b, "bundle", "create", "-q", honest, "mine", "--not", main);
    const text = readFileSync(honest);
    const crafted = join(dir, "header-b-crafted.bundle");
    const at = text.indexOf("\n\n");
    writeFileSync(
      crafted,
      Buffer.concat([text.subarray(0, at), Buffer.from(`\n${aSha} refs/heads/x`), text.subarray(at)]),
    );
    const stateB = await forge.forkState(repo, "ws-b");
    await expect(
      forge.importFork(
        repo,
        "ws-b",
        new Map([
          ["mine", bSha],
          ["x", aSha],
        ]),
        crafted,
        stateB,
      ),
    ).rejects.toThrow(/did not send/);
    expect((await forge.forkState(repo, "ws-b")).branches.size).toBe(0);
    // The same push without the borrowed ref is taken.
    const taken = await forge.importFork(repo, "ws-b", new Map([["mine", bSha]]), honest, stateB);
    expect([...taken.branches]).toEqual([["mine", bSha]]);
  });

  it("refuses a sent commit whose parent is another fork's commit", async () => {
    const { repo, aSha, a } = await withForkA("parent");
    // B's commit sits on A's (B's clone holds A's objects, as if it had learnt them); it removes A's files so
    // that the pack has nothing to borrow, and the header names no prerequisite.
    const { b, sha: onA } = commitB("parent-b", a, ["-b", "on-a", aSha], ["secret.txt", "README.md"]);
    const bundle = join(dir, "parent-b.bundle");
    git(b, "bundle", "create", "-q", bundle, "on-a", "--not", aSha);
    const text = readFileSync(bundle);
    const lines = text.subarray(0, text.indexOf("\n\n")).toString("utf8").split("\n");
    expect(lines.some((l) => l.startsWith(`-${aSha}`))).toBe(true);
    const crafted = join(dir, "parent-b-crafted.bundle");
    writeFileSync(
      crafted,
      Buffer.concat([
        Buffer.from(lines.filter((l) => !l.startsWith("-")).join("\n")),
        text.subarray(text.indexOf("\n\n")),
      ]),
    );
    // The pack is whole: it needs nothing from the canonical repository.
    const scratch = join(dir, "parent-scratch.git");
    git(dir, "init", "-q", "--bare", scratch);
    const pack = readFileSync(crafted).subarray(readFileSync(crafted).indexOf("\n\n") + 2);
    expect(spawnSync("git", ["index-pack", "--stdin"], { cwd: scratch, input: pack }).status).toBe(0);

    const stateB = await forge.forkState(repo, "ws-b");
    await expect(forge.importFork(repo, "ws-b", new Map([["on-a", onA]]), crafted, stateB)).rejects.toThrow(
      /did not send/,
    );
    expect((await forge.forkState(repo, "ws-b")).branches.size).toBe(0);
  });

  it("refuses a file made as a delta against another fork's file", async () => {
    const { repo, main } = await withForkA("delta");
    // B never held A's file, only its id: its blob copies all of A's file and adds a line.
    const aBlob = objectId("blob", Buffer.from(secret));
    const { varint } = handPack([]);
    const size = Buffer.byteLength(secret);
    const extra = Buffer.from("extra\n");
    const copy = Buffer.from([0x80 | 0x10 | 0x20 | 0x40, size & 0xff, (size >> 8) & 0xff, (size >> 16) & 0xff]);
    const delta = Buffer.concat([varint(size), varint(size + extra.length), copy, Buffer.from([extra.length]), extra]);
    const blob = objectId("blob", Buffer.concat([Buffer.from(secret), extra]));
    const tree = Buffer.concat([Buffer.from("100644 secret.txt\0"), Buffer.from(blob, "hex")]);
    const treeId = objectId("tree", tree);
    const who = "B <b@example.invalid> 1800000000 +0900";
    const commit = Buffer.from(`tree ${treeId}\nparent ${main}\nauthor ${who}\ncommitter ${who}\n\nleak\n`);
    const commitId = objectId("commit", commit);
    const { pack } = handPack([
      { deltaOf: aBlob, delta },
      { type: "tree", body: tree },
      { type: "commit", body: commit },
    ]);
    const bundle = join(dir, "delta-b.bundle");
    writeFileSync(
      bundle,
      Buffer.concat([Buffer.from(`# v2 git bundle\n-${main} base\n${commitId} refs/heads/leak\n\n`), pack]),
    );
    const stateB = await forge.forkState(repo, "ws-b");
    await expect(forge.importFork(repo, "ws-b", new Map([["leak", commitId]]), bundle, stateB)).rejects.toThrow(
      /did not send/,
    );
    expect((await forge.forkState(repo, "ws-b")).branches.size).toBe(0);
  });

  type HandObject = { type: "tree" | "blob"; body: Buffer };
  /** A tree entry as git stores it. */
  const entry = (mode: string, name: string, sha: string) =>
    Buffer.concat([Buffer.from(`${mode} ${name}\0`), Buffer.from(sha, "hex")]);
  /** A bundle of one commit on `parent` whose top tree is `root`, carrying `objects`, the tree and the commit. */
  function handBundle(name: string, parent: string, objects: HandObject[], root: Buffer) {
    const who = "B <b@example.invalid> 1800000000 +0900";
    const commit = Buffer.from(
      `tree ${objectId("tree", root)}\nparent ${parent}\nauthor ${who}\ncommitter ${who}\n\n${name}\n`,
    );
    const commitId = objectId("commit", commit);
    const { pack } = handPack([...objects, { type: "tree", body: root }, { type: "commit", body: commit }]);
    const bundle = join(dir, `${name}.bundle`);
    writeFileSync(
      bundle,
      Buffer.concat([Buffer.from(`# v2 git bundle\n-${parent} base\n${commitId} refs/heads/x\n\n`), pack]),
    );
    return { bundle, commitId };
  }

  it("refuses a sent tree that names another fork's file or folder by its id", async () => {
    const { repo, canonical, main, aSha } = await withForkA("by-id");
    // B knows only the ids of A's file and of A's whole tree; its pack carries its own trees and commit, which
    // name them, and nothing else: neither is in what B was given.
    const aBlob = git(canonical, "rev-parse", `${aSha}:secret.txt`).stdout.trim();
    const aTree = git(canonical, "rev-parse", `${aSha}^{tree}`).stdout.trim();
    expect(objectId("blob", Buffer.from(secret))).toBe(aBlob);
    const readme = git(canonical, "rev-parse", `${main}:README.md`).stdout.trim();
    const push = (name: string, objects: HandObject[], root: Buffer) =>
      handBundle(`by-id-${name}`, main, objects, root);
    const own = Buffer.from("b\n");
    const attempts = [
      // A's file named in B's top folder, beside README.md which B was given.
      push(
        "file",
        [{ type: "blob", body: own }],
        Buffer.concat([
          entry("100644", "README.md", readme),
          entry("100644", "b.txt", objectId("blob", own)),
          entry("100644", "secret.txt", aBlob),
        ]),
      ),
      // A's whole tree as a sub-folder of B's.
      push("folder", [], Buffer.concat([entry("100644", "README.md", readme), entry("40000", "x", aTree)])),
      // A's file one folder down, in a tree B sent.
      (() => {
        const sub = entry("100644", "s.txt", aBlob);
        return push(
          "deep",
          [{ type: "tree", body: sub }],
          Buffer.concat([entry("100644", "README.md", readme), entry("40000", "d", objectId("tree", sub))]),
        );
      })(),
    ];
    const stateB = await forge.forkState(repo, "ws-b");
    for (const { bundle, commitId } of attempts) {
      // The pack itself is whole for index-pack: nothing in it is missing a base.
      await expect(forge.importFork(repo, "ws-b", new Map([["leak", commitId]]), bundle, stateB)).rejects.toThrow(
        /did not send/,
      );
      expect((await forge.forkState(repo, "ws-b")).branches.size).toBe(0);
    }
    // The same kind of push naming only what B was given (README.md) besides what it carries is taken.
    const honest = push(
      "honest",
      [{ type: "blob", body: own }],
      Buffer.concat([entry("100644", "README.md", readme), entry("100644", "b.txt", objectId("blob", own))]),
    );
    const taken = await forge.importFork(repo, "ws-b", new Map([["mine", honest.commitId]]), honest.bundle, stateB);
    expect([...taken.branches]).toEqual([["mine", honest.commitId]]);
  });

  it("takes a sent tree that names, without carrying it, a file of the history the fork was given", async () => {
    const repo = await forge.createRepository({ tenantId: "t", packageId: "given", title: "given" });
    const canonical = forge.pathOf(repo);
    // Published history: old.txt added, then removed; the fork was given all of it.
    const w = join(dir, "given-w");
    git(dir, "clone", "-q", canonical, w);
    writeFileSync(join(w, "old.txt"), "an older file\n");
    git(w, "add", ".");
    git(w, "commit", "-q", "-m", "old");
    const old = git(w, "rev-parse", "HEAD:old.txt").stdout.trim();
    git(w, "rm", "-q", "old.txt");
    git(w, "commit", "-q", "-m", "gone");
    git(w, "push", "-q", canonical, "main");
    const main = git(canonical, "rev-parse", "main").stdout.trim();
    await forge.markSent(repo, "ws-b", [{ ref: "refs/heads/main", sha: main }]);
    const readme = git(canonical, "rev-parse", `${main}:README.md`).stdout.trim();
    const own = Buffer.from("b\n");
    const back = handBundle(
      "given-back",
      main,
      [{ type: "blob", body: own }],
      Buffer.concat([
        entry("100644", "README.md", readme),
        entry("100644", "b.txt", objectId("blob", own)),
        entry("100644", "old.txt", old),
      ]),
    );
    const stateB = await forge.forkState(repo, "ws-b");
    const taken = await forge.importFork(repo, "ws-b", new Map([["back", back.commitId]]), back.bundle, stateB);
    expect([...taken.branches]).toEqual([["back", back.commitId]]);
  });
});

describe("refs read from the repository's files", () => {
  it("are what git for-each-ref lists, loose or packed, moved or deleted since they were packed", () => {
    const dir = join(root, "refs-read.git");
    const git = (...args: string[]) =>
      spawnSync("git", ["-c", "user.name=e", "-c", "user.email=e@example.invalid", "--git-dir", dir, ...args], {
        encoding: "utf8",
      });
    git("init", "-q", "--bare", "-b", "main");
    const commit = (message: string, parent?: string) =>
      spawnSync(
        "git",
        [
          "-c",
          "user.name=e",
          "-c",
          "user.email=e@example.invalid",
          "--git-dir",
          dir,
          "commit-tree",
          "4b825dc642cb6eb9a060e54bf8d69288fbee4904",
          ...(parent ? ["-p", parent] : []),
          "-m",
          message,
        ],
        { encoding: "utf8" },
      ).stdout.trim();
    git("hash-object", "-w", "-t", "tree", "/dev/null");
    const one = commit("one");
    const two = commit("two", one);
    for (const ref of ["refs/heads/main", "refs/heads/gone", "refs/heads/a/b", "refs/azusa/forks/ws-1/x"])
      git("update-ref", ref, one);
    git("tag", "-a", "-m", "v1", "v1", one);
    git("tag", "light", one);
    git("pack-refs", "--all");
    git("update-ref", "refs/heads/main", two); // loose, over the packed one
    git("update-ref", "refs/heads/late", two); // loose only
    git("update-ref", "-d", "refs/heads/gone");
    const listed = (prefixes: string[]) =>
      git("for-each-ref", "--format=%(objectname) %(refname)", ...prefixes)
        .stdout.split("\n")
        .filter(Boolean)
        .map((line) => {
          const [sha, ref] = line.split(" ");
          return { ref, sha };
        });
    expect(readRefs(dir, ["refs/heads/", "refs/tags/"])).toEqual(listed(["refs/heads/", "refs/tags/"]));
    expect(readRefs(dir, ["refs/azusa/forks/ws-1/"])).toEqual(listed(["refs/azusa/forks/ws-1/"]));
    expect(readRefs(dir, ["refs/heads/main"])).toEqual([{ ref: "refs/heads/main", sha: two }]);
    expect(readRefs(dir, ["refs/heads/gone", "refs/heads/none"])).toEqual([]);
  });
});
