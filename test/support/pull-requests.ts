// A pull request on a package's real canonical repository, without a workspace: a commit made with the git
// CLI in a clone, pinned where the forge pins pull request heads, and the row the pulls service reads.
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import { pullRef } from "../../src/git/builtin-forge.ts";
import { run } from "./git.ts";
import type { TestAzusa } from "./harness.ts";

/**
 * Opens the next pull request on `packageId` whose head adds or changes `files` (path → content) on top
 * of main, from the package's workspace if it has one (its fork is not read unless the workspace runs).
 * The canonical repository is made as Azusa makes it (first use).
 */
export async function pullRequestOn(
  t: TestAzusa,
  packageId: string,
  { title, files, branch = "feature/work" }: { title: string; files: Record<string, string>; branch?: string },
): Promise<{ id: string; number: number; headSha: string }> {
  const { pulls, forge, db } = t.running.azusa;
  const repo = await pulls.ensureRepository(packageId);
  const bare = forge.pathOf(repo);
  const work = mkdtempSync(join(tmpdir(), "azusa-pr-"));
  const git = async (...args: string[]) => {
    const r = await run("git", ["-c", "user.name=sato", "-c", "user.email=sato@matsumoto.example", ...args], {
      cwd: work,
    });
    expect(r.code, r.stderr).toBe(0);
    return r.stdout.trim();
  };
  try {
    await git("clone", "-q", bare, ".");
    await git("checkout", "-q", "-b", branch);
    for (const [path, content] of Object.entries(files)) writeFileSync(join(work, path), content);
    await git("add", "-A");
    await git("commit", "-q", "-m", title);
    const head = await git("rev-parse", "HEAD");
    const pkg = await db.kysely
      .selectFrom("work_package")
      .select("tenant_id")
      .where("id", "=", packageId)
      .executeTakeFirstOrThrow();
    const earlier = await db.kysely
      .selectFrom("pull_request")
      .select("id")
      .where("package_id", "=", packageId)
      .execute();
    const number = earlier.length + 1;
    // The package's workspace, when it has one: a pull request without one is taken to live on GitHub.
    const workspace = await db.kysely
      .selectFrom("workspace")
      .select("id")
      .where("package_id", "=", packageId)
      .orderBy("created_at", "desc")
      .executeTakeFirst();
    await git("push", "-q", bare, `HEAD:${pullRef(number)}`);
    const at = new Date().toISOString();
    const id = randomUUID();
    await db.kysely
      .insertInto("pull_request")
      .values({
        id,
        package_id: packageId,
        tenant_id: pkg.tenant_id,
        number,
        workspace_id: workspace?.id ?? null,
        author_id: null,
        title,
        description: "",
        source_branch: branch,
        target_branch: repo.defaultBranch,
        head_sha: head,
        state: "open",
        merge_sha: null,
        merged_by: null,
        merged_at: null,
        external_id: null,
        created_at: at,
        updated_at: at,
      })
      .execute();
    return { id, number, headSha: head };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
