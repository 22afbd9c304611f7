// The built-in forge over the real git: the shared forge contract, and local seeds limited to one folder.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createBuiltinForge, localSeed } from "./builtin-forge.ts";
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
