// The built-in forge over the real git: the shared forge contract, and sources only from the tenant's own
// import folder.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { AppError } from "../kernel/errors.ts";
import { createBuiltinForge, sweepUnfinished } from "./builtin-forge.ts";
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
    expect(imported.get("feature/a")).toBe(a.sha);
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
