// Races, run concurrently on SQLite and PostgreSQL: the same thing done twice at once has exactly one winner,
// and a merge a crash interrupted is settled so that the canonical branch and the pull request agree.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { weeklyHoursOf } from "../../src/domain/offers/offers.service.ts";
import { weekOf } from "../../src/domain/timesheets/time.ts";
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
    const { pulls, db } = w.t.running.azusa;
    await claimedLongAgo(packageId, pull);
    // While another live process holds the merge's lease, the claim is its own, however old: left alone.
    const lease = { name: `merge:${pull.id}`, owner: "another-process", slot: "its-slot" };
    await db.kysely
      .insertInto("job_lock")
      .values({ ...lease, expires_at: new Date(Date.now() + 60_000).toISOString() })
      .execute();
    expect(await pulls.settleMerges()).toBe(0);
    expect((await w.lead.post(`/api/v1/pulls/${pull.id}/merge`)).status).toBe(409);
    // That process died: its lease ran out.
    await db.kysely
      .updateTable("job_lock")
      .set({ expires_at: new Date(Date.now() - 1000).toISOString() })
      .where("name", "=", lease.name)
      .execute();

    expect(await pulls.settleMerges()).toBe(1);
    expect(await (await w.lead.get(`/api/v1/pulls/${pull.id}`)).json()).toMatchObject({
      state: "open",
      mergeSha: null,
    });
    expect((await w.lead.post(`/api/v1/pulls/${pull.id}/merge`)).status).toBe(200);
    expect(await mergeCommits(packageId)).toBe(1);
    expect(await events("pull_request.merged", `pull_request:${pull.id}`)).toBe(1);
  });

  /** Statuses of different calls started together, sorted. */
  const race = async (...calls: (() => Promise<{ status: number }>)[]) =>
    (await Promise.all(calls.map((call) => call()))).map((r) => r.status).sort();

  const ukeoi = (wbsId: string) => w.ukeoi.packages[wbsId] as string;
  const engineer = (name: string) => w.engineers[name] as HoursWorld["engineers"][string];

  /** The package opened and offered to the engineer; the pending offer's id. */
  const offered = async (packageId: string, name: string) => {
    expect((await w.lead.post(`/api/v1/packages/${packageId}/open`)).status).toBe(200);
    const offer = await w.lead.post(`/api/v1/packages/${packageId}/offers`, { engineerId: engineer(name).id });
    expect(offer.status).toBe(201);
    return (await offer.json()).id as string;
  };

  const assignments = async (packageId: string) =>
    (
      await w.t.running.azusa.db.kysely
        .selectFrom("assignment")
        .select("id")
        .where("package_id", "=", packageId)
        .execute()
    ).length;

  it("the same offer accepted twice at once: one assignment", async () => {
    const packageId = ukeoi("1.2.2");
    const offerId = await offered(packageId, "kato");
    const accept = () => engineer("kato").client.post(`/api/v1/offers/${offerId}/accept`);
    expect(await together(2, accept)).toEqual([200, 409]);
    expect(await assignments(packageId)).toBe(1);
    await w.t.running.azusa.workspaces.drain();
  });

  it("two offers for one package at once: one offer", async () => {
    const packageId = ukeoi("2.3");
    expect((await w.lead.post(`/api/v1/packages/${packageId}/open`)).status).toBe(200);
    const offer = (name: string) => () =>
      w.lead.post(`/api/v1/packages/${packageId}/offers`, { engineerId: engineer(name).id });
    expect(await race(offer("sato"), offer("ito"))).toEqual([201, 409]);
    const offers = (await (await w.lead.get(`/api/v1/offers?packageId=${packageId}`)).json()).items;
    expect(offers.filter((o: { state: string }) => o.state === "pending")).toHaveLength(1);
  });

  it("acceptances that together exceed the engineer's capacity: one fits, the other is refused", async () => {
    const { id } = await w.t.createUser("engineer", "yamada@matsumoto.example");
    // Either package alone fits (40 h and 48 h spread over the contract's remaining weeks); both do not.
    const today = new Date().toISOString().slice(0, 10);
    const weekly = [40, 48].map((hours) => weeklyHoursOf(hours, "2026-04-01", "2027-12-31", today));
    const profile = await w.operator.put(`/api/v1/engineers/${id}`, {
      weeklyCapacityHours: Math.round(Math.max(...weekly) * 105) / 100,
      timeZone: "Asia/Tokyo",
      skills: ["java", "spring", "oracle", "sql", "業務分析", "テスト設計"].map((skill) => ({ skill, level: 7 })),
    });
    expect(profile.status).toBe(200);
    const vetting = { kind: "nda", issuedOn: "2026-01-01", expiresOn: "2028-12-31" };
    expect((await w.operator.post(`/api/v1/engineers/${id}/vetting`, vetting)).status).toBe(201);
    const yamada = await w.t.signIn("yamada@matsumoto.example");
    const offers: string[] = [];
    for (const wbsId of ["1.2.1", "3.1"]) {
      const packageId = ukeoi(wbsId);
      expect((await w.lead.post(`/api/v1/packages/${packageId}/open`)).status).toBe(200);
      const offer = await w.lead.post(`/api/v1/packages/${packageId}/offers`, { engineerId: id });
      expect(offer.status).toBe(201);
      offers.push((await offer.json()).id);
    }
    const accept = (offerId: string) => () => yamada.post(`/api/v1/offers/${offerId}/accept`);
    expect(await race(...offers.map(accept))).toEqual([200, 409]);
    await w.t.running.azusa.workspaces.drain();
  });

  it("a timesheet approved twice at once: one approval", async () => {
    const packageId = w.juninin.packages["2.1"] as string;
    await w.assign(packageId, "sato");
    const sato = engineer("sato");
    const date = "2026-11-10";
    const entry = { packageId, timeZone: "Asia/Tokyo", date, minutes: 120 };
    expect((await sato.client.post("/api/v1/time-entries", entry)).status).toBe(201);
    const sheets = (await (await sato.client.get(`/api/v1/timesheets?week=${weekOf(date)}`)).json()).items;
    const sheet = sheets.find((s: { contractId: string }) => s.contractId === w.juninin.id);
    expect((await sato.client.post(`/api/v1/timesheets/${sheet.id}/submit`)).status).toBe(200);
    expect(await together(2, () => w.lead.post(`/api/v1/timesheets/${sheet.id}/approve`))).toEqual([200, 409]);
    expect(await events("timesheet.approved", `timesheet:${sheet.id}`)).toBe(1);
  });

  it("a delivery accepted and rejected at once: one decision", async () => {
    const packageId = ukeoi("2.2");
    await w.assign(packageId, "ito");
    await w.move(packageId, "in_progress", "in_review");
    expect((await engineer("ito").client.post(`/api/v1/packages/${packageId}/deliver`)).status).toBe(201);
    const statuses = await race(
      () => w.contractor.post(`/api/v1/packages/${packageId}/accept-delivery`),
      () => w.contractor.post(`/api/v1/packages/${packageId}/reject-delivery`, { reasons: ["受入基準を満たさない"] }),
    );
    expect(statuses).toEqual([200, 409]);
    const deliveries = (await (await w.contractor.get(`/api/v1/packages/${packageId}/deliveries`)).json()).items;
    expect(deliveries).toHaveLength(1);
    expect(deliveries[0].decision).toMatch(/^(accepted|rejected)$/);
  });
});
