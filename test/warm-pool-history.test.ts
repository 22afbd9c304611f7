// A workspace taken from the warm pool was made before its package was known, so it has no package object
// store mounted: its fork gets the whole history in its own volume. The real git in a real pooled workspace:
// the code and tags arrive, a push becomes a pull request, and merged work reaches the fork.
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { join } from "node:path";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { sweepInstance } from "./support/docker.ts";
import { forgeFolders, inWorkspace, run, sourceRepository } from "./support/git.ts";
import { type Client, startTestAzusa, type TestAzusa } from "./support/harness.ts";
import { ensureBaseImage } from "./support/images.ts";
import { contractOnSource } from "./support/workspace-setup.ts";

describe("history in a workspace taken from the warm pool", () => {
  const docker = new Docker();
  const instance = `test-pool-history-${randomBytes(5).toString("hex")}`;
  let dir: string;
  let t: TestAzusa;
  let lead: Client;
  let sato: Client;
  let packageId: string;
  let workspaceId: string;
  let container: string;
  let pooled: string;
  const recorded: { workspace: string; ref: string }[] = [];

  const poolContainers = () =>
    docker.listContainers({ all: true, filters: { label: [`io.azusa.instance=${instance}`, "io.azusa.pool"] } });

  beforeAll(async () => {
    const image = await ensureBaseImage(docker);
    const folders = forgeFolders("azusa-pool-history-", image);
    dir = folders.dir;
    const source = join(dir, "hanbai.git");
    await sourceRepository(join(dir, "source-work"), source, { "src/price.txt": "price = 100\n" }, "販売管理");
    expect((await run("git", ["--git-dir", source, "tag", "v1.0"])).code).toBe(0);

    t = await startTestAzusa({
      env: {
        AZUSA_TEMPLATES_DIR: folders.templates,
        AZUSA_SCHEDULES: "off",
        AZUSA_GIT_IMPORT_DIR: folders.imports,
        AZUSA_INSTANCE_ID: instance,
        AZUSA_WARM_POOL: "1",
      },
    });
    const made = await contractOnSource(t, folders.imports, source);
    ({ lead, sato, packageId } = made);

    await t.running.azusa.pool.fill();
    const [first] = await poolContainers();
    expect(first?.State).toBe("running");
    pooled = first?.Id as string;

    // every ref recorded as sent to a fork, as the real forge records it
    const markSent = t.running.azusa.forge.markSent.bind(t.running.azusa.forge);
    vi.spyOn(t.running.azusa.forge, "markSent").mockImplementation(async (repo, id, refs) => {
      recorded.push(...refs.map((r) => ({ workspace: id, ref: r.ref })));
      return markSent(repo, id, refs);
    });
    const offer = await (await lead.post(`/api/v1/packages/${packageId}/offers`, { engineerId: made.satoId })).json();
    expect((await sato.post(`/api/v1/offers/${offer.id}/accept`)).status).toBe(200);
    workspaceId = (await (await sato.get(`/api/v1/packages/${packageId}/workspace`)).json()).id;
    await t.running.azusa.workspaces.settled(workspaceId);
    expect(await t.running.azusa.workspaces.ready(workspaceId)).toEqual({ ok: true });
    const row = await t.running.azusa.db.kysely
      .selectFrom("workspace")
      .select("container_id")
      .where("id", "=", workspaceId)
      .executeTakeFirstOrThrow();
    container = row.container_id as string;
  }, 180_000);

  afterAll(async () => {
    await t?.stop();
    await sweepInstance(docker, instance);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("checks the package's code and tags out into the pooled workspace, with the history in its own fork", async () => {
    expect(container).toBe(pooled);
    const r = await inWorkspace(
      container,
      `cat src/price.txt; git tag --list; git rev-parse --abbrev-ref HEAD
       test ! -e /opt/azusa/objects && echo no-store
       test ! -e .azusa/origin.git/objects/info/alternates && echo no-alternates
       git -C .azusa/origin.git cat-file -e v1.0^{commit} && echo has-history`,
    );
    expect(r.stderr).toBe("");
    expect(r.stdout.split("\n")).toEqual([
      "price = 100",
      "v1.0",
      "main",
      "no-store",
      "no-alternates",
      "has-history",
      "",
    ]);
    const events = await t.running.azusa.db.kysely
      .selectFrom("audit_event")
      .select("action")
      .where("subject", "=", `workspace:${workspaceId}`)
      .execute();
    expect(events.map((e) => e.action)).toContain("repository.fork_created");
    expect(events.map((e) => e.action)).not.toContain("repository.fork_skipped");
  });

  it("records each published ref as sent to the fork once, though the checkout first tried the store", () => {
    const ours = recorded.filter((r) => r.workspace === workspaceId).map((r) => r.ref);
    expect(ours.sort()).toEqual(["refs/heads/main", "refs/tags/v1.0"]);
  });

  it("takes a push as a pull request, and brings the merge back into the fork", async () => {
    const pushed = await inWorkspace(
      container,
      `git checkout -q -b feature/tax
       echo 'tax = 0.10' >> src/price.txt
       git commit -q -am 'tax' && git push -q origin feature/tax 2>&1 && git rev-parse HEAD`,
    );
    expect(pushed.code).toBe(0);
    const opened = await sato.post(`/api/v1/packages/${packageId}/pulls`, { branch: "feature/tax", title: "tax" });
    expect(opened.status).toBe(201);
    const pull = await opened.json();
    expect(pull.headSha).toBe(pushed.stdout.trim());
    expect((await lead.post(`/api/v1/pulls/${pull.id}/reviews`, { verdict: "approve" })).status).toBe(201);
    const merged = await lead.post(`/api/v1/pulls/${pull.id}/merge`);
    expect(merged.status).toBe(200);
    const mergeSha = (await merged.json()).mergeSha;
    const r = await inWorkspace(
      container,
      "git fetch -q origin 2>&1 && git rebase -q origin/main && git rev-parse origin/main && git log -1 --format=%s",
    );
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n").slice(0, 2)).toEqual([mergeSha, "Merge pull request #1: tax"]);
  });

  it("keeps the fork across a stop and a start, and brings work merged meanwhile into it", async () => {
    const pushed = await inWorkspace(
      container,
      `git checkout -q -b feature/docs origin/main
       echo 'docs' > DOCS.md && git add DOCS.md && git commit -q -m docs && git push -q origin feature/docs 2>&1`,
    );
    expect(pushed.code).toBe(0);
    const pull = await (
      await sato.post(`/api/v1/packages/${packageId}/pulls`, { branch: "feature/docs", title: "docs" })
    ).json();
    expect((await lead.post(`/api/v1/pulls/${pull.id}/reviews`, { verdict: "approve" })).status).toBe(201);
    expect((await sato.post(`/api/v1/workspaces/${workspaceId}/stop`)).status).toBe(200);
    const merged = await lead.post(`/api/v1/pulls/${pull.id}/merge`);
    expect(merged.status).toBe(200);
    expect((await sato.post(`/api/v1/workspaces/${workspaceId}/start`)).status).toBe(200);
    const r = await inWorkspace(container, "git fetch -q origin 2>&1 && git rev-parse origin/main && cat DOCS.md");
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n")).toEqual([(await merged.json()).mergeSha, "docs", ""]);
  });
});
