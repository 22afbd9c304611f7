// A real `azusa serve` killed with SIGKILL at the worst moment of its work (held there by the test-only
// AZUSA_TEST_PAUSE_AT), then started again: what it had half done is either whole or gone. On SQLite and PostgreSQL.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Kysely } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../src/db/schema.ts";
import { exited } from "../support/cli.ts";
import { dialects } from "../support/databases.ts";
import { sampleContract } from "../support/fixtures.ts";
import { run } from "../support/git.ts";
import { type HoursWorld, startHoursWorld } from "../support/hours-world.ts";
import {
  killHard as kill,
  pausedAt,
  type Served,
  serveBeside,
  signInTo as signIn,
  stopServe as stop,
  withDatabase,
} from "../support/kill.ts";
import { pullRequestOn } from "../support/pull-requests.ts";
import { generatedWbs, utf8Csv } from "../support/wbs-files.ts";

describe.each(dialects)("killed at the worst moment and started again, on %s", (dialect) => {
  let w: HoursWorld;
  let templatesDir: string;
  let contractId: string;
  let pull: { id: string };
  let bare: string;
  const running: Served[] = [];

  beforeAll(async () => {
    w = await startHoursWorld(dialect);
    // The spawned processes read the same templates as the world's (an image never built: no container starts).
    templatesDir = mkdtempSync(join(tmpdir(), "azusa-kill-templates-"));
    writeFileSync(
      join(templatesDir, "default.devcontainer.json"),
      JSON.stringify({ image: "azusa-test/not-built:1", remoteUser: "azusa" }),
    );
    // Arranged by the world's own process: a contract without a WBS, and an approved pull request.
    contractId = (await (await w.contractor.post("/api/v1/contracts", sampleContract)).json()).id;
    const packageId = w.ukeoi.packages["1.1.1"] as string;
    await w.assign(packageId, "sato");
    await w.move(packageId, "in_progress");
    pull = await pullRequestOn(w.t, packageId, { title: "帳票出力", files: { "report.txt": "done\n" } });
    expect((await w.lead.post(`/api/v1/pulls/${pull.id}/reviews`, { verdict: "approve" })).status).toBe(201);
    const { pulls, forge } = w.t.running.azusa;
    bare = forge.pathOf(await pulls.ensureRepository(packageId));
    // SQLite serves one process: the world's steps aside for the ones the tests start and kill.
    if (dialect === "sqlite") await w.t.running.stop();
  }, 120_000);
  afterAll(async () => {
    for (const s of running) {
      s.child.kill("SIGKILL");
      await exited(s.child);
    }
    await w?.stop();
    rmSync(templatesDir, { recursive: true, force: true });
  });

  const serve = async (pauseAt?: string) => {
    const served = await serveBeside(w.t, { AZUSA_TEMPLATES_DIR: templatesDir }, pauseAt);
    running.push(served);
    return served;
  };
  const withDb = <T>(use: (db: Kysely<Database>) => Promise<T>) => withDatabase(w.t, dialect, use);
  const events = (action: string, subject: string) =>
    withDb(async (db) => {
      const rows = await db
        .selectFrom("audit_event")
        .select("seq")
        .where("action", "=", action)
        .where("subject", "=", subject)
        .execute();
      return rows.length;
    });

  it("a WBS import killed with its packages written and their dependencies not leaves no row; importing again works", async () => {
    const csv = utf8Csv(generatedWbs(2000));
    const first = await serve("wbs.writing");
    const contractor = await signIn(first, "buyer@tokyo-si.example");
    const upload = contractor
      .request("POST", `/api/v1/contracts/${contractId}/wbs`, csv, { "content-type": "text/csv" })
      .catch((err: Error) => err);
    await pausedAt(first, "wbs.writing");
    await kill(first);
    expect(await upload).toBeInstanceOf(Error); // the connection died with the process

    const rows = (table: "work_package" | "wbs_group") =>
      withDb(
        async (db) => (await db.selectFrom(table).select("id").where("contract_id", "=", contractId).execute()).length,
      );
    expect(await rows("work_package")).toBe(0);
    expect(await rows("wbs_group")).toBe(0);
    expect(await events("wbs.imported", `contract:${contractId}`)).toBe(0);

    const second = await serve();
    const again = await signIn(second, "buyer@tokyo-si.example");
    const res = await again.request("POST", `/api/v1/contracts/${contractId}/wbs`, csv, { "content-type": "text/csv" });
    expect(res.status).toBe(201);
    const { packages } = await res.json();
    await stop(second);
    expect(await rows("work_package")).toBe(packages.length);
    expect(await events("wbs.imported", `contract:${contractId}`)).toBe(1);
  }, 240_000);

  it("a merge killed after main moved and before the pull request was marked is merged once after the restart", async () => {
    const mergeCommits = async () =>
      Number((await run("git", ["-C", bare, "rev-list", "--merges", "--count", "refs/heads/main"])).stdout.trim());
    const pullRow = () =>
      withDb((db) => db.selectFrom("pull_request").selectAll().where("id", "=", pull.id).executeTakeFirstOrThrow());

    const first = await serve("pulls.merge.advanced");
    const lead = await signIn(first, "lead@tokyo-si.example");
    const merging = lead.post(`/api/v1/pulls/${pull.id}/merge`).catch((err: Error) => err);
    await pausedAt(first, "pulls.merge.advanced");
    await kill(first);
    expect(await merging).toBeInstanceOf(Error);
    // What the crash left: main has the merge commit, the pull request is still open with its claim.
    expect(await mergeCommits()).toBe(1);
    const left = await pullRow();
    expect(left).toMatchObject({ state: "open", merge_sha: expect.any(String) });
    // The claim's lease is still the dead process's for most of a minute: the process started again on the same data
    // directory knows it for its own earlier life's and settles the merge at start-up, without waiting.
    const lease = await withDb((db) =>
      db.selectFrom("job_lock").selectAll().where("name", "=", `merge:${pull.id}`).executeTakeFirstOrThrow(),
    );
    expect(Date.parse(lease.expires_at)).toBeGreaterThan(Date.now());

    const second = await serve();
    expect(second.output()).toContain("interrupted merge settled");
    const lead2 = await signIn(second, "lead@tokyo-si.example");
    expect((await lead2.post(`/api/v1/pulls/${pull.id}/merge`)).status).toBe(409);
    await stop(second);
    expect(await pullRow()).toMatchObject({ state: "merged", merge_sha: left.merge_sha });
    expect(await events("pull_request.merged", `pull_request:${pull.id}`)).toBe(1);
    expect(await mergeCommits()).toBe(1);
  }, 240_000);
});
