// Races, run concurrently on SQLite and PostgreSQL: the same thing done twice at once has exactly one winner,
// and a merge a crash interrupted is settled so that the canonical branch and the pull request agree.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dialects } from "../support/databases.ts";
import { run } from "../support/git.ts";
import { type HoursWorld, startHoursWorld } from "../support/hours-world.ts";
import { pullRequestOn } from "../support/pull-requests.ts";

describe.each(dialects)("races on %s", (dialect) => {
  let w: HoursWorld;

  beforeAll(async () => {
    w = await startHoursWorld(dialect);
  });
  afterAll(async () => {
    await w?.stop();
  });

  /** Statuses of `n` calls started together, sorted. */
  const together = async (n: number, call: () => Promise<{ status: number }>) =>
    (await Promise.all(Array.from({ length: n }, call))).map((r) => r.status).sort();

  /** The number of `action` events about `subject`. */
  const events = async (action: string, subject: string) =>
    (
      await w.t.running.azusa.db.kysely
        .selectFrom("audit_event")
        .select("seq")
        .where("action", "=", action)
        .where("subject", "=", subject)
        .execute()
    ).length;

  /** Merge commits on the package's canonical main. */
  const mergeCommits = async (packageId: string) => {
    const { pulls, forge } = w.t.running.azusa;
    const repo = await pulls.ensureRepository(packageId);
    const r = await run("git", ["-C", forge.pathOf(repo), "rev-list", "--merges", "--count", "refs/heads/main"]);
    return Number(r.stdout.trim());
  };

  /** An approved pull request on a package of its own, assigned and in progress. */
  const approvedPull = async (wbsId: string, engineer: string) => {
    const packageId = w.ukeoi.packages[wbsId] as string;
    await w.assign(packageId, engineer);
    await w.move(packageId, "in_progress");
    const pull = await pullRequestOn(w.t, packageId, {
      title: `work on ${wbsId}`,
      files: { [`${wbsId}.txt`]: "done\n" },
    });
    expect((await w.lead.post(`/api/v1/pulls/${pull.id}/reviews`, { verdict: "approve" })).status).toBe(201);
    return { packageId, pull };
  };

  /** The state a merge leaves up to its claim: the merge commit made and recorded on the row, five minutes ago. */
  const claimedLongAgo = async (packageId: string, pull: { id: string; headSha: string }) => {
    const { pulls, forge, db } = w.t.running.azusa;
    const repo = await pulls.ensureRepository(packageId);
    const made = await forge.mergeCommit(repo, pull.headSha, "Merge pull request #1");
    if (!made.ok) throw new Error("the merge conflicts");
    await db.kysely
      .updateTable("pull_request")
      .set({ merge_sha: made.sha, updated_at: new Date(Date.now() - 5 * 60_000).toISOString() })
      .where("id", "=", pull.id)
      .execute();
    return { repo, made };
  };

  it("a pull request merged twice at once: one 200, one 409, one merge commit, one event", async () => {
    const { packageId, pull } = await approvedPull("2.1", "ito");
    expect(await together(2, () => w.lead.post(`/api/v1/pulls/${pull.id}/merge`))).toEqual([200, 409]);
    expect(await mergeCommits(packageId)).toBe(1);
    expect(await events("pull_request.merged", `pull_request:${pull.id}`)).toBe(1);
  });

  it("a crash after the branch moved and before the pull request was marked: reconcile marks it merged", async () => {
    const { packageId, pull } = await approvedPull("1.1.1", "sato");
    const { pulls, forge } = w.t.running.azusa;
    // What a merge had done when the process died: the commit made and claimed a while ago, main moved.
    const { repo, made } = await claimedLongAgo(packageId, pull);
    expect(await forge.advance(repo, made.sha, made.base)).toBe(true);

    expect(await pulls.settleMerges()).toBe(1);
    const seen = await (await w.lead.get(`/api/v1/pulls/${pull.id}`)).json();
    expect(seen).toMatchObject({ state: "merged", mergeSha: made.sha });
    expect(await events("pull_request.merged", `pull_request:${pull.id}`)).toBe(1);
    // Merging again adds nothing.
    expect((await w.lead.post(`/api/v1/pulls/${pull.id}/merge`)).status).toBe(409);
    expect(await mergeCommits(packageId)).toBe(1);
  });

  it("a crash before the branch moved: the claim is released and the merge can be made", async () => {
    const { packageId, pull } = await approvedPull("1.1.2", "kato");
    const { pulls } = w.t.running.azusa;
    await claimedLongAgo(packageId, pull);

    expect(await pulls.settleMerges()).toBe(1);
    expect(await (await w.lead.get(`/api/v1/pulls/${pull.id}`)).json()).toMatchObject({
      state: "open",
      mergeSha: null,
    });
    expect((await w.lead.post(`/api/v1/pulls/${pull.id}/merge`)).status).toBe(200);
    expect(await mergeCommits(packageId)).toBe(1);
    expect(await events("pull_request.merged", `pull_request:${pull.id}`)).toBe(1);
  });
});
