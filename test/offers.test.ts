// Matching and offers over HTTP: suggestions with reasons, offers answered or expiring, capacity
// taken and given back, and the access check that lapsed vetting closes.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { dialects } from "./support/databases.ts";
import { sampleContract } from "./support/fixtures.ts";
import { type Client, startTestAzusa, type TestAzusa } from "./support/harness.ts";
import { pullRequestOn } from "./support/pull-requests.ts";
import { SAMPLE_WBS_ROWS, utf8Csv } from "./support/wbs-files.ts";

const ALL_VETTING = ["nda", "background_check", "security_training"] as const;

describe.each(dialects)("matching and offers on %s", (dialect) => {
  let t: TestAzusa;
  let operator: Client;
  let contractor: Client;
  let lead: Client;
  let leadId: string;
  const engineers: Record<string, { id: string; client: Client }> = {};
  let contractId: string;
  let pkg: Record<string, { id: string; state: string }>;

  /** An engineer with a profile, skills, capacity and vetting valid until `until`. */
  async function engineer(
    name: string,
    skills: [string, number][],
    capacity: number,
    vetting: Partial<Record<string, string>> = {},
  ) {
    const { id } = await t.createUser("engineer", `${name}@matsumoto.example`);
    await operator.put(`/api/v1/engineers/${id}`, {
      weeklyCapacityHours: capacity,
      skills: skills.map(([skill, level]) => ({ skill, level })),
    });
    for (const kind of ALL_VETTING) {
      const expiresOn = vetting[kind] ?? "2027-12-31";
      if (expiresOn !== "none")
        await operator.post(`/api/v1/engineers/${id}/vetting`, { kind, issuedOn: "2026-04-01", expiresOn });
    }
    engineers[name] = { id, client: await t.signIn(`${name}@matsumoto.example`) };
    return id;
  }

  const load = async () => {
    const items = (await (await lead.get(`/api/v1/contracts/${contractId}/packages`)).json()).items;
    pkg = Object.fromEntries(items.map((p: { wbsId: string }) => [p.wbsId, p]));
  };
  const open = async (wbsId: string) =>
    expect((await lead.post(`/api/v1/packages/${pkg[wbsId]?.id}/open`)).status).toBe(200);
  const offer = (wbsId: string, name: string) =>
    lead.post(`/api/v1/packages/${pkg[wbsId]?.id}/offers`, { engineerId: engineers[name]?.id });
  const accept = async (wbsId: string, name: string) => {
    const made = await offer(wbsId, name);
    expect(made.status).toBe(201);
    const res = await engineers[name]?.client.post(`/api/v1/offers/${(await made.json()).id}/accept`);
    expect(res?.status).toBe(200);
  };

  beforeAll(async () => {
    t = await startTestAzusa({ dialect, env: { AZUSA_SCHEDULES: "off" } });
    const tokyo = await t.createTenant("東京システムインテグレーション");
    await t.createUser("contractor", "buyer@tokyo-si.example", tokyo.id);
    leadId = (await t.createUser("lead", "lead@tokyo-si.example", tokyo.id)).id;
    operator = await t.signIn("root@office.example");
    contractor = await t.signIn("buyer@tokyo-si.example");
    lead = await t.signIn("lead@tokyo-si.example");
    // 2.1 needs java:3 and spring:3 and is confidential (NDA, background check, security training until 2027-06-30).
    await engineer(
      "sato",
      [
        ["java", 4],
        ["spring", 3],
        ["oracle", 4],
      ],
      40,
    );
    await engineer(
      "ito",
      [
        ["java", 5],
        ["spring", 5],
      ],
      40,
    );
    await engineer("suzuki", [["java", 2]], 40);
    await engineer(
      "tanaka",
      [
        ["java", 4],
        ["spring", 4],
      ],
      40,
      { background_check: "2027-03-31" },
    );
    await engineer(
      "kato",
      [
        ["java", 4],
        ["spring", 4],
      ],
      1,
    );
  });
  afterAll(() => t?.stop());

  beforeEach(async () => {
    contractId = (await (await contractor.post("/api/v1/contracts", { ...sampleContract, leadIds: [leadId] })).json())
      .id;
    await contractor.request("POST", `/api/v1/contracts/${contractId}/wbs`, utf8Csv(SAMPLE_WBS_ROWS), {
      "content-type": "text/csv",
    });
    await load();
  });

  it("ranks eligible engineers with reasons and says why the others are not", async () => {
    const res = await lead.get(`/api/v1/packages/${pkg["2.1"]?.id}/suggestions`);
    expect(res.status).toBe(200);
    const s = await res.json();
    const names = (list: { name: string }[]) => list.map((x) => x.name);
    expect(names(s.ranked).slice(0, 2)).toEqual(["ito", "sato"]); // ito has the larger skill margin
    expect(s.ranked[0].reasons).toMatchObject({ skillMargin: 4, continuity: [] });
    const why = Object.fromEntries(
      s.ineligible.map((i: { name: string; why: string[] }) => [i.name, i.why.join("; ")]),
    );
    expect(why.suzuki).toMatch(/java level 2, needs 3/);
    expect(why.suzuki).toMatch(/spring/);
    expect(why.tanaka).toMatch(/background_check valid until 2027-03-31, needs 2027-06-30/);
    expect(why.kato).toMatch(/spare/);
    expect(Object.keys(why).sort()).toEqual(["kato", "suzuki", "tanaka"]);
  });

  it("ranks first who did an upstream package of the same contract", async () => {
    for (const w of ["1.1.1", "1.1.2", "1.2.2"]) await open(w);
    await accept("1.2.2", "sato"); // 2.1 waits for 1.2.2
    const s = await (await lead.get(`/api/v1/packages/${pkg["2.1"]?.id}/suggestions`)).json();
    expect(s.ranked[0]).toMatchObject({ name: "sato", reasons: { continuity: ["1.2.2"] } });
  });

  it("lets the lead offer, the engineer see and accept it, and takes the capacity", async () => {
    await open("2.1");
    const made = await offer("2.1", "sato");
    expect(made.status).toBe(201);
    const o = await made.json();
    await expect((await lead.get(`/api/v1/packages/${pkg["2.1"]?.id}`)).json()).resolves.toMatchObject({
      state: "offered",
    });
    const sato = engineers.sato?.client as Client;
    expect((await sato.get(`/api/v1/packages/${pkg["2.1"]?.id}`)).status).toBe(200);
    expect((await (await sato.get("/api/v1/offers")).json()).items[0]).toMatchObject({ id: o.id, state: "pending" });
    expect((await engineers.ito?.client.post(`/api/v1/offers/${o.id}/accept`))?.status).toBe(404);

    const res = await sato.post(`/api/v1/offers/${o.id}/accept`);
    expect(res.status).toBe(200);
    expect((await (await lead.get(`/api/v1/packages/${pkg["2.1"]?.id}`)).json()).state).toBe("assigned");
    const profile = await (await sato.get(`/api/v1/engineers/${engineers.sato?.id}`)).json();
    expect(profile.committedWeeklyHours).toBeGreaterThan(0);
    expect((await sato.post(`/api/v1/offers/${o.id}/accept`)).status).toBe(409);
  });

  it("refuses to offer to an ineligible engineer, naming why", async () => {
    await open("2.1");
    const res = await offer("2.1", "suzuki");
    expect(res.status).toBe(409);
    expect((await res.json()).error.message).toMatch(/not eligible: .*java level 2, needs 3/);
    await expect((await lead.get(`/api/v1/packages/${pkg["2.1"]?.id}`)).json()).resolves.toMatchObject({
      state: "open",
    });
  });

  it("reopens the package when the engineer declines, with a reason", async () => {
    await open("2.3");
    const o = await (await offer("2.3", "ito")).json();
    const ito = engineers.ito?.client as Client;
    expect((await ito.post(`/api/v1/offers/${o.id}/decline`, { reason: "" })).status).toBe(400);
    const res = await ito.post(`/api/v1/offers/${o.id}/decline`, { reason: "他案件と重なるため" });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ state: "declined", reason: "他案件と重なるため" });
    await expect((await lead.get(`/api/v1/packages/${pkg["2.3"]?.id}`)).json()).resolves.toMatchObject({
      state: "open",
    });
  });

  it("shows a declined package to the engineer no more", async () => {
    await open("2.3");
    const o = await (await offer("2.3", "ito")).json();
    const ito = engineers.ito?.client as Client;
    expect((await ito.get(`/api/v1/packages/${pkg["2.3"]?.id}`)).status).toBe(200);
    await ito.post(`/api/v1/offers/${o.id}/decline`, { reason: "稼働が足りません" });
    expect((await ito.get(`/api/v1/packages/${pkg["2.3"]?.id}`)).status).toBe(404);
  });

  it("keeps a WBS that has had offers from being imported again", async () => {
    await open("2.3");
    await offer("2.3", "ito");
    const res = await contractor.request("POST", `/api/v1/contracts/${contractId}/wbs`, utf8Csv(SAMPLE_WBS_ROWS), {
      "content-type": "text/csv",
    });
    expect(res.status).toBe(409);
  });

  it("lets two acceptances at once take no more than the engineer's capacity", async () => {
    const { id } = await t.createUser("engineer", `busy-${dialect}@matsumoto.example`);
    await operator.put(`/api/v1/engineers/${id}`, {
      weeklyCapacityHours: 4,
      skills: [
        { skill: "java", level: 5 },
        { skill: "spring", level: 5 },
      ],
    });
    for (const kind of ALL_VETTING)
      await operator.post(`/api/v1/engineers/${id}/vetting`, { kind, issuedOn: "2026-01-01", expiresOn: "2028-01-01" });
    engineers.busy = { id, client: await t.signIn(`busy-${dialect}@matsumoto.example`) };
    await open("2.1"); // about 3.1 h a week
    await open("2.3"); // about 1.5 h a week: both together do not fit in 4 h
    const a = await (await offer("2.1", "busy")).json();
    const b = await (await offer("2.3", "busy")).json();
    const busy = engineers.busy.client;
    const statuses = (
      await Promise.all([busy.post(`/api/v1/offers/${a.id}/accept`), busy.post(`/api/v1/offers/${b.id}/accept`)])
    ).map((r) => r.status);
    expect(statuses.sort()).toEqual([200, 409]);
    const profile = await (await busy.get(`/api/v1/engineers/${id}`)).json();
    expect(profile.committedWeeklyHours).toBeLessThanOrEqual(4);
  });

  it("expires unanswered offers on schedule and reopens the package", async () => {
    await open("2.3");
    const o = await (await offer("2.3", "ito")).json();
    await t.running.azusa.db.kysely
      .updateTable("offer")
      .set({ expires_at: "2000-01-01T00:00:00.000Z" })
      .where("id", "=", o.id)
      .execute();
    const job = t.running.azusa.schedules.find((s) => s.name === "offers.expire");
    expect(await job?.run()).toBeGreaterThanOrEqual(1);
    const offers = await (await lead.get(`/api/v1/offers?packageId=${pkg["2.3"]?.id}`)).json();
    expect(offers.items[0]).toMatchObject({ id: o.id, state: "expired" });
    await expect((await lead.get(`/api/v1/packages/${pkg["2.3"]?.id}`)).json()).resolves.toMatchObject({
      state: "open",
    });
    expect((await engineers.ito?.client.post(`/api/v1/offers/${o.id}/accept`))?.status).toBe(409);
  });

  it("checks capacity again at acceptance", async () => {
    await open("2.3");
    const o = await (await offer("2.3", "ito")).json();
    const ito = engineers.ito as { id: string; client: Client };
    await ito.client.put(`/api/v1/engineers/${ito.id}/capacity`, { weeklyCapacityHours: 0 });
    const res = await ito.client.post(`/api/v1/offers/${o.id}/accept`);
    expect(res.status).toBe(409);
    expect((await res.json()).error.message).toMatch(/spare/);
    await ito.client.put(`/api/v1/engineers/${ito.id}/capacity`, { weeklyCapacityHours: 40 });
  });

  it("gives the capacity back when an assignment is withdrawn, and it can be used again", async () => {
    const { id } = await t.createUser("engineer", `single-${dialect}@matsumoto.example`);
    await operator.put(`/api/v1/engineers/${id}`, {
      weeklyCapacityHours: 3.2,
      skills: [
        { skill: "java", level: 4 },
        { skill: "spring", level: 3 },
      ],
    });
    for (const kind of ALL_VETTING)
      await operator.post(`/api/v1/engineers/${id}/vetting`, { kind, issuedOn: "2026-01-01", expiresOn: "2028-01-01" });
    engineers.single = { id, client: await t.signIn(`single-${dialect}@matsumoto.example`) };
    await open("2.1"); // 80 h over 26 weeks: about 3.1 h a week
    await open("2.3");
    await accept("2.1", "single");
    const refused = await offer("2.3", "single");
    expect(refused.status).toBe(409);
    expect((await lead.post(`/api/v1/packages/${pkg["2.1"]?.id}/withdraw`, { reason: "体制変更" })).status).toBe(204);
    await expect((await lead.get(`/api/v1/packages/${pkg["2.1"]?.id}`)).json()).resolves.toMatchObject({
      state: "open",
    });
    await accept("2.3", "single");
    const audit = await (await contractor.get("/api/v1/audit-events?limit=50")).json();
    expect(audit.items.map((e: { action: string }) => e.action)).toContain("offer.withdrawn");
  });

  it("closes access when vetting lapses, through the one access check", async () => {
    await open("2.3");
    await accept("2.3", "ito");
    const ito = engineers.ito as { id: string };
    const { engineers: roster } = t.running.azusa;
    expect(await roster.access(ito.id, pkg["2.3"]?.id as string)).toMatchObject({ ok: true });
    expect(await roster.access(ito.id, pkg["2.1"]?.id as string)).toMatchObject({
      ok: false,
      reason: "the package is not assigned to this engineer",
    });
    // The NDA's last valid day was yesterday; the daily job marks it, and access ends.
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    await t.running.azusa.db.kysely
      .updateTable("vetting_record")
      .set({ expires_on: yesterday })
      .where("user_id", "=", ito.id)
      .where("kind", "=", "nda")
      .execute();
    const job = t.running.azusa.schedules.find((s) => s.name === "vetting.expire");
    expect(await job?.run()).toContain(ito.id);
    expect(await roster.access(ito.id, pkg["2.3"]?.id as string)).toMatchObject({
      ok: false,
      reason: "vetting lapsed or missing: nda",
      text: { key: "access.vetting" },
    });
    const audit = await (await operator.get("/api/v1/audit-events?limit=5")).json();
    expect(audit.items.map((e: { action: string }) => e.action)).toContain("engineer.vetting_expired");
    await t.running.azusa.db.kysely
      .updateTable("vetting_record")
      .set({ expires_on: "2027-12-31", expired_at: null })
      .where("user_id", "=", ito.id)
      .execute();
  });

  it("withdraws the pending offer when its package is cancelled, and frees an assignment's capacity", async () => {
    await open("2.3");
    const o = await (await offer("2.3", "ito")).json();
    expect((await lead.post(`/api/v1/packages/${pkg["2.3"]?.id}/cancel`, { reason: "スコープ変更" })).status).toBe(200);
    const offers = await (await lead.get(`/api/v1/offers?packageId=${pkg["2.3"]?.id}`)).json();
    expect(offers.items[0]).toMatchObject({ id: o.id, state: "withdrawn", reason: "package cancelled" });
    expect((await engineers.ito?.client.post(`/api/v1/offers/${o.id}/accept`))?.status).toBe(409);

    await open("1.2.2");
    const ito = engineers.ito as { id: string; client: Client };
    const committed = async () =>
      (await (await ito.client.get(`/api/v1/engineers/${ito.id}`)).json()).committedWeeklyHours;
    const before = await committed();
    await accept("1.2.2", "ito");
    expect(await committed()).toBeGreaterThan(before);
    await lead.post(`/api/v1/packages/${pkg["1.2.2"]?.id}/cancel`);
    expect(await committed()).toBe(before);
    expect(await t.running.azusa.engineers.access(ito.id, pkg["1.2.2"]?.id as string)).toMatchObject({ ok: false });
  });

  it("closes the package's open pull requests, with the reason, when its assignment is withdrawn or it is cancelled", async () => {
    const pulls = async (wbsId: string) =>
      (await (await lead.get(`/api/v1/packages/${pkg[wbsId]?.id}/pulls`)).json()).items as {
        id: string;
        number: number;
        state: string;
      }[];
    const closings = async (ids: string[]) =>
      (await (await contractor.get("/api/v1/audit-events?limit=100")).json()).items.filter(
        (e: { action: string; subject: string }) =>
          e.action === "pull_request.closed" && ids.includes(e.subject.replace("pull_request:", "")),
      );

    await open("2.3");
    await accept("2.3", "ito");
    const first = await pullRequestOn(t, pkg["2.3"]?.id as string, { title: "帳票", files: { "a.txt": "1" } });
    const second = await pullRequestOn(t, pkg["2.3"]?.id as string, {
      title: "帳票2",
      files: { "b.txt": "2" },
      branch: "feature/more",
    });
    expect((await lead.post(`/api/v1/packages/${pkg["2.3"]?.id}/withdraw`, { reason: "体制変更" })).status).toBe(204);
    expect((await pulls("2.3")).map((p) => p.state)).toEqual(["closed", "closed"]);
    const withdrawn = await closings([first.id, second.id]);
    expect(withdrawn).toHaveLength(2);
    for (const e of withdrawn) expect(e.details.reason).toBe("assignment withdrawn: 体制変更");
    // a closed pull request cannot be merged into the package any more
    expect((await lead.post(`/api/v1/pulls/${first.id}/merge`)).status).toBe(409);

    await open("1.2.2");
    await accept("1.2.2", "ito");
    const third = await pullRequestOn(t, pkg["1.2.2"]?.id as string, { title: "画面", files: { "c.txt": "3" } });
    expect((await lead.post(`/api/v1/packages/${pkg["1.2.2"]?.id}/cancel`, { reason: "スコープ変更" })).status).toBe(
      200,
    );
    expect((await pulls("1.2.2")).map((p) => p.state)).toEqual(["closed"]);
    const [cancelled] = await closings([third.id]);
    expect(cancelled).toMatchObject({ details: { reason: "package cancelled: スコープ変更" } });
  });

  it("lets only the contract's lead offer and withdraw", async () => {
    await open("2.1");
    const res = await contractor.post(`/api/v1/packages/${pkg["2.1"]?.id}/offers`, { engineerId: engineers.sato?.id });
    expect(res.status).toBe(403);
    expect(
      (
        await engineers.sato?.client.post(`/api/v1/packages/${pkg["2.1"]?.id}/offers`, {
          engineerId: engineers.sato?.id,
        })
      )?.status,
    ).toBe(404);
    expect((await engineers.sato?.client.get(`/api/v1/packages/${pkg["2.1"]?.id}/suggestions`))?.status).toBe(404);
  });

  it("takes the hours of an engineer's stated weekly windows as their capacity, where they stated any", async () => {
    const ito = engineers.ito as { id: string; client: Client };
    const why = async () => {
      const s = await (await lead.get(`/api/v1/packages/${pkg["2.1"]?.id}/suggestions`)).json();
      return s.ineligible.find((i: { name: string }) => i.name === "ito")?.why.join("; ") ?? null;
    };
    expect(await why()).toBeNull();
    const oneHour = { timeZone: "Asia/Tokyo", windows: [{ day: "mon", start: "10:00", end: "11:00" }], exceptions: [] };
    expect((await ito.client.put(`/api/v1/engineers/${ito.id}/availability`, oneHour)).status).toBe(200);
    expect(await why()).toMatch(/spare|over capacity/);
    // Without windows, the weekly capacity applies again.
    await ito.client.put(`/api/v1/engineers/${ito.id}/availability`, { ...oneHour, windows: [] });
    expect(await why()).toBeNull();
  });

  it("counts the days away an engineer declared over the package's span, and says so in why not", async () => {
    const ito = engineers.ito as { id: string; client: Client };
    const why = async () => {
      const s = await (await lead.get(`/api/v1/packages/${pkg["2.1"]?.id}/suggestions`)).json();
      return s.ineligible.find((i: { name: string }) => i.name === "ito")?.why.join("; ") ?? null;
    };
    // Seven hours every Monday: enough, beside what ito already carries, for 2.1's about 3.1 h a week over 2027-01-04 to 2027-06-30.
    const mondays = { timeZone: "Asia/Tokyo", windows: [{ day: "mon", start: "10:00", end: "17:00" }], exceptions: [] };
    expect((await ito.client.put(`/api/v1/engineers/${ito.id}/availability`, mondays)).status).toBe(200);
    expect(await why()).toBeNull();
    // Away from the start until the end of May: the Mondays left in June do not carry the package.
    const away = { ...mondays, exceptions: [{ from: "2027-01-04", to: "2027-05-31", note: "育児休業" }] };
    expect((await ito.client.put(`/api/v1/engineers/${ito.id}/availability`, away)).status).toBe(200);
    expect(await why()).toMatch(/spare a week over the package's span \(148 days away\), needs 3\.\d+ h/);
    // Days away outside the span change nothing.
    const later = { ...mondays, exceptions: [{ from: "2027-08-01", to: "2027-08-31", note: "夏休み" }] };
    expect((await ito.client.put(`/api/v1/engineers/${ito.id}/availability`, later)).status).toBe(200);
    expect(await why()).toBeNull();
    await ito.client.put(`/api/v1/engineers/${ito.id}/availability`, { ...mondays, windows: [] });
  });
});
