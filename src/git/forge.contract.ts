// The behaviour every forge shares; builtin-forge.test.ts runs it over real git, github-forge.test.ts
// against replayed GitHub API responses.
import { describe, expect, it } from "vitest";
import type { Forge, RepositoryInfo } from "./forge.ts";

/** What a forge's test provides: the forge, the package to make a repository for, an engineer's login. */
export interface ForgeFixture {
  forge: Forge;
  tenantId: string;
  packageId: string;
  engineer: string;
}

export function forgeContract(name: string, setup: () => Promise<ForgeFixture>) {
  describe(`${name} forge contract`, () => {
    let f: ForgeFixture;
    let repo: RepositoryInfo;
    let head: string | null;

    it("makes a repository with a first commit on its default branch", async () => {
      f = await setup();
      repo = await f.forge.createRepository({ tenantId: f.tenantId, packageId: f.packageId, title: "2.3 帳票出力" });
      expect(repo.defaultBranch).toBe("main");
      head = await f.forge.headOf(repo, repo.defaultBranch);
      expect(head).toMatch(/^[0-9a-f]{40}$/);
    });

    it("returns the same repository when asked again", async () => {
      const again = await f.forge.createRepository({
        tenantId: f.tenantId,
        packageId: f.packageId,
        title: "2.3 帳票出力",
      });
      expect(again).toEqual(repo);
      expect(await f.forge.headOf(again, again.defaultBranch)).toBe(head);
    });

    it("knows no branch that was never made", async () => {
      expect(await f.forge.headOf(repo, "does-not-exist")).toBeNull();
    });

    it("protects the default branch with the approvals the contract asks for", async () => {
      expect(await f.forge.protection(repo)).toBeNull();
      await f.forge.protectDefaultBranch(repo, { requiredApprovals: 1 });
      expect(await f.forge.protection(repo)).toEqual({ requiredApprovals: 1 });
    });

    it("gives the engineer access to push branches", async () => {
      await f.forge.grantEngineer(repo, { login: f.engineer });
      expect(await f.forge.engineers(repo)).toEqual([f.engineer]);
    });
  });
}
