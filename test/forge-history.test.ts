// How history moves between a workspace's fork and the canonical repository, with the real git in a real
// workspace: the fork gets the tags a clone gets, a push carries only what is new, merged work reaches the
// workspace (running at the merge, or started after it), and the canonical repository is kept packed.
import { randomBytes } from "node:crypto";
import { readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dialects } from "./support/databases.ts";
import { forgeFolders, inWorkspace, run, sourceRepository } from "./support/git.ts";
import { type Client, startTestAzusa, type TestAzusa } from "./support/harness.ts";
import { ensureBaseImage } from "./support/images.ts";
import { contractOnSource } from "./support/workspace-setup.ts";

/** Bytes of every file below `dir`. */
const bytesIn = (dir: string): number =>
  readdirSync(dir, { withFileTypes: true }).reduce((sum, e) => {
    const path = join(dir, e.name);
    return sum + (e.isDirectory() ? bytesIn(path) : statSync(path).size);
  }, 0);

describe.each(dialects)("history between the fork and the canonical repository (%s)", (dialect) => {
  const docker = new Docker();
  let dir: string;
  let t: TestAzusa;
  let lead: Client;
  let sato: Client;
  let packageId: string;
  let workspaceId: string;
  let container: string;
  let canonical: string;
  let firstPull: string;

  const git = (...args: string[]) => run("git", ["--git-dir", canonical, ...args]);

  /** Opens a pull request from `branch`, approves and merges it; returns the merge commit. */
  const openApproveMerge = async (branch: string, title: string, beforeMerge = async () => {}) => {
    const opened = await sato.post(`/api/v1/packages/${packageId}/pulls`, { branch, title });
    expect(opened.status).toBe(201);
    const pull = await opened.json();
    expect((await lead.post(`/api/v1/pulls/${pull.id}/reviews`, { verdict: "approve" })).status).toBe(201);
    await beforeMerge();
    const merged = await lead.post(`/api/v1/pulls/${pull.id}/merge`);
    expect(merged.status).toBe(200);
    return (await merged.json()).mergeSha as string;
  };

  beforeAll(async () => {
    const image = await ensureBaseImage(docker);
    const folders = forgeFolders("azusa-history-", image);
    dir = folders.dir;
    const { templates, imports } = folders;
    // A source with tags, and 4 MB that do not compress: a push carrying the whole history would show.
    const work = join(dir, "source-work");
    const source = join(imports, "hanbai.git");
    await sourceRepository(
      work,
      source,
      { "src/price.txt": "price = 100\n", "assets/data.bin": randomBytes(4 * 1024 * 1024) },
      "販売管理",
    );
    const inSource = (...args: string[]) => run("git", ["--git-dir", source, ...args]);
    await inSource("tag", "v1.0");
    await inSource(
      "-c",
      "user.name=Tokyo SI",
      "-c",
      "user.email=dev@tokyo-si.example",
      "tag",
      "-a",
      "v1.1",
      "-m",
      "1.1",
    );

    t = await startTestAzusa({
      dialect,
      env: { AZUSA_TEMPLATES_DIR: templates, AZUSA_SCHEDULES: "off", AZUSA_GIT_IMPORT_DIR: imports },
    });
    const made = await contractOnSource(t, imports, source);
    ({ lead, sato, packageId } = made);
    const { satoId, tenantId } = made;
    const offer = await (await lead.post(`/api/v1/packages/${packageId}/offers`, { engineerId: satoId })).json();
    expect((await sato.post(`/api/v1/offers/${offer.id}/accept`)).status).toBe(200);
    workspaceId = (await (await sato.get(`/api/v1/packages/${packageId}/workspace`)).json()).id;
    await t.running.azusa.workspaces.settled(workspaceId);
    expect(await t.running.azusa.workspaces.ready(workspaceId)).toEqual({ ok: true });
    const [c] = await docker.listContainers({
      filters: { label: [`io.azusa.workspace=${workspaceId}`, "io.azusa.role=workspace"] },
    });
    container = c?.Id as string;
    canonical = t.running.azusa.forge.pathOf({ name: `${tenantId}/${packageId}.git`, defaultBranch: "main" });
  }, 180_000);

  afterAll(async () => {
    await t?.stop();
    for (const c of await docker.listContainers({ all: true, filters: { label: [`io.azusa.package=${packageId}`] } }))
      await docker.getContainer(c.Id).remove({ force: true, v: true });
    for (const v of (await docker.listVolumes({ filters: { label: [`io.azusa.package=${packageId}`] } })).Volumes ?? [])
      await docker.getVolume(v.Name).remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("gives the workspace the branches and tags a clone would have", async () => {
    const r = await inWorkspace(container, "git tag --list; git for-each-ref --format='%(objecttype)' refs/tags/v1.1");
    expect(r.stderr).toBe("");
    expect(r.stdout.split("\n")).toEqual(["v1.0", "v1.1", "tag", ""]);
  });

  it("carries only what a one-line push made into the canonical repository", async () => {
    const pushed = await inWorkspace(
      container,
      `git checkout -q -b feature/tax
       echo 'tax = 0.10' >> src/price.txt
       git commit -q -am 'tax' && git push -q origin feature/tax 2>&1`,
    );
    expect(pushed.code).toBe(0);
    const before = bytesIn(join(canonical, "objects"));
    const opened = await sato.post(`/api/v1/packages/${packageId}/pulls`, { branch: "feature/tax", title: "tax" });
    expect(opened.status).toBe(201);
    const grown = bytesIn(join(canonical, "objects")) - before;
    // One commit, one tree or two, one blob, in a pack with its index: kilobytes, not the 4 MB history.
    expect(grown).toBeGreaterThan(0);
    expect(grown).toBeLessThan(16 * 1024);
    const pull = await opened.json();
    firstPull = pull.id;
    await t.running.azusa.pulls.drain(); // the head is pinned once the answer has gone
    expect(pull.headSha).toBe((await git("rev-parse", "refs/azusa/pulls/1/head")).stdout.trim());

    // Another push onto the same branch: the read that notices it carries only that commit too.
    const again = await inWorkspace(
      container,
      `echo 'total = price * (1 + tax)' >> src/price.txt
       git commit -q -am 'total' && git push -q origin feature/tax 2>&1 && git rev-parse HEAD`,
    );
    expect(again.code).toBe(0);
    const mid = bytesIn(join(canonical, "objects"));
    const seen = await (await lead.get(`/api/v1/pulls/${pull.id}`)).json();
    expect(seen.headSha).toBe(again.stdout.trim());
    expect(bytesIn(join(canonical, "objects")) - mid).toBeLessThan(16 * 1024);
  });

  it("brings merged work into the running workspace, where fetch and rebase work as with any origin", async () => {
    expect((await lead.post(`/api/v1/pulls/${firstPull}/reviews`, { verdict: "approve" })).status).toBe(201);
    const merged = await lead.post(`/api/v1/pulls/${firstPull}/merge`);
    expect(merged.status).toBe(200);
    const mergeSha = (await merged.json()).mergeSha;

    // A second branch, started before the merge from the old main, rebased onto the merged one.
    const r = await inWorkspace(
      container,
      `git checkout -q -b feature/notes main
       echo 'notes' > NOTES.md && git add NOTES.md && git commit -q -m notes
       git fetch -q origin 2>&1
       git rev-parse origin/main
       git rebase -q origin/main 2>&1
       git merge-base --is-ancestor ${mergeSha} HEAD && echo rebased
       git push -q origin feature/notes 2>&1`,
    );
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n")).toEqual([mergeSha, "rebased", ""]);
    // It opens and merges cleanly on top of the first.
    const second = await openApproveMerge("feature/notes", "notes");
    expect((await git("rev-parse", "main")).stdout.trim()).toBe(second);
  });

  it("brings work merged while the workspace was stopped into it when it starts again", async () => {
    const pushed = await inWorkspace(
      container,
      `git fetch -q origin && git checkout -q -b feature/docs origin/main
       echo 'docs' > DOCS.md && git add DOCS.md && git commit -q -m docs && git push -q origin feature/docs 2>&1`,
    );
    expect(pushed.code).toBe(0);
    const mergeSha = await openApproveMerge("feature/docs", "docs", async () => {
      expect((await sato.post(`/api/v1/workspaces/${workspaceId}/stop`)).status).toBe(200);
    });
    expect((await sato.post(`/api/v1/workspaces/${workspaceId}/start`)).status).toBe(200);
    const r = await inWorkspace(container, "git fetch -q origin 2>&1 && git rev-parse origin/main");
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(mergeSha);
  });

  it("keeps the canonical repository in one pack with git's own maintenance", async () => {
    const packs = () => readdirSync(join(canonical, "objects", "pack")).filter((f) => f.endsWith(".pack"));
    expect(packs().length).toBeGreaterThan(1);
    expect(await t.running.azusa.pulls.maintainRepositories()).toBe(1);
    expect(packs()).toHaveLength(1);
    const counts = (await git("count-objects", "-v")).stdout;
    expect(counts).toMatch(/^count: 0$/m);
    // Nothing a pull request or a fork needs went away.
    expect((await git("fsck", "--connectivity-only", "--no-progress")).code).toBe(0);
    expect((await git("rev-parse", "--verify", "refs/azusa/pulls/1/head^{commit}")).code).toBe(0);
    // Packed already: the next run leaves it alone.
    expect(await t.running.azusa.pulls.maintainRepositories()).toBe(0);
  });

  it("leaves a workspace whose fork is gone alone when the canonical repository moves", async () => {
    expect((await git("tag", "v2.0", "main")).code).toBe(0);
    expect((await inWorkspace(container, "rm -rf .azusa/origin.git")).code).toBe(0);
    await t.running.azusa.pulls.maintainRepositories();
    expect(t.logs.join("")).not.toContain("bringing the workspace's fork up to date failed");
  });
});
