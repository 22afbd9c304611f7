// The built-in forge over the real git: the shared forge contract, and local seeds limited to one folder.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createBuiltinForge, localSeed, sweepUnfinished } from "./builtin-forge.ts";
import { forgeContract } from "./forge.contract.ts";

const root = mkdtempSync(join(tmpdir(), "azusa-forge-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

forgeContract("built-in", async () => ({
  forge: createBuiltinForge({ root: join(root, "repos") }),
  tenantId: "tenant-1",
  packageId: "package-1",
  engineer: "sato",
}));

describe("local seeds", () => {
  it("come only from the import folder, never from elsewhere on the machine or the network", () => {
    const imports = join(root, "imports");
    mkdirSync(join(imports, "ok.git"), { recursive: true });
    mkdirSync(join(root, "secret.git"));
    symlinkSync(join(root, "secret.git"), join(imports, "link.git"));
    expect(localSeed(join(imports, "ok.git"), imports)).toBe(join(imports, "ok.git"));
    expect(localSeed(`file://${join(imports, "ok.git")}`, imports)).toBe(join(imports, "ok.git"));
    expect(localSeed(join(root, "secret.git"), imports)).toBeNull();
    expect(localSeed(`${imports}/../secret.git`, imports)).toBeNull();
    expect(localSeed(join(imports, "link.git"), imports)).toBeNull();
    expect(localSeed("https://github.com/octocat/Hello-World.git", imports)).toBeNull();
    expect(localSeed(join(imports, "ok.git"), undefined)).toBeNull();
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
