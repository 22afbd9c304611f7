// Interest registrations: a stranger registers on an office's public page, protected against robots and floods;
// the office's operators (and no one else) read them, invite one as an engineer in one step, or delete one on
// request; the retention schedule deletes the rest. Every step is audited without the person's details.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dialects } from "./support/databases.ts";
import { PASSWORD, startTestAzusa, type TestAzusa } from "./support/harness.ts";
import { type OfficePeople, twoOffices } from "./support/offices.ts";
import { csrfTokenIn, getPage, postForm } from "./support/pages.ts";

type Fields = Record<string, string | string[]>;

/** A form as a browser sends it from `address` (the app trusts X-Forwarded-For here, as behind a proxy). */
async function register(t: TestAzusa, officeId: string, fields: Fields, address = "192.0.2.1") {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(fields)) for (const one of [v].flat()) body.append(k, one);
  const res = await fetch(`${t.base}/office-guide/${officeId}/interest`, {
    method: "POST",
    redirect: "manual",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      origin: t.base,
      "x-forwarded-for": address,
    },
    body: body.toString(),
  });
  return {
    status: res.status,
    location: res.headers.get("location"),
    retryAfter: res.headers.get("retry-after"),
    html: await res.text(),
  };
}

const person = (name: string, email: string): Fields => ({
  name,
  email,
  skill: ["Ｊａｖａ", "SQL", ""],
  level: ["4", "3", "1"],
  movingWhen: "2027年春",
  consent: "yes",
  website: "",
});

describe.each(dialects)("interest registrations on %s", (dialect) => {
  let t: TestAzusa;
  let as: OfficePeople;
  let northId: string;
  let southId: string;

  const registrations = async (officeId: string) =>
    (await (await as.root.get(`/api/v1/offices/${officeId}/interests`)).json()).items as {
      id: string;
      name: string;
      email: string;
      skills: { skill: string; level: number }[];
      consentText: string;
      invitedAt: string | null;
    }[];

  beforeAll(async () => {
    t = await startTestAzusa({ dialect, env: { AZUSA_TRUST_PROXY: "true", AZUSA_INTEREST_RETENTION_DAYS: "90" } });
    ({ as, northId, southId } = await twoOffices(t));
  });
  afterAll(() => t?.stop());

  it("takes a registration from the public page without sign-in and tells only that office's operators", async () => {
    const page = await getPage(t.anonymous(), `/office-guide/${northId}`);
    expect(page.html).toContain('id="consent-text"');
    expect(page.html).toContain("90 日後に削除します");
    const res = await register(t, northId, person("山田 花子", "Hanako@Example.jp"), "192.0.2.10");
    expect(res.status).toBe(303);
    expect(res.location).toBe(`/office-guide/${northId}?registered=1`);
    expect((await getPage(t.anonymous(), res.location ?? "")).html).toContain("ご登録ありがとうございました。");

    const [r] = await registrations(northId);
    expect(r).toMatchObject({
      name: "山田 花子",
      email: "hanako@example.jp",
      skills: [
        { skill: "java", level: 4 },
        { skill: "sql", level: 3 },
      ],
      movingWhen: "2027年春",
      invitedAt: null,
    });
    expect(r?.consentText).toContain("北オフィス の運用担当");
    expect(r?.consentText).toContain("office@example.jp");

    const told = (await (await as.operator.get("/api/v1/notifications")).json()).items;
    expect(told).toEqual([expect.objectContaining({ kind: "interest.registered", subject: `office:${northId}` })]);
    const south = (await (await as.southOperator.get("/api/v1/notifications")).json()).items;
    expect(south).toEqual([]);
    const audit = await (await as.root.get("/api/v1/audit-events?limit=1")).json();
    expect(audit.items[0]).toMatchObject({ action: "interest.registered", subject: `interest:${r?.id}` });
    expect(JSON.stringify(audit.items[0])).not.toMatch(/hanako|山田/);
  });

  it("shows registrations to the office's operators and office admins only", async () => {
    expect((await as.operator.get(`/api/v1/offices/${northId}/interests`)).status).toBe(200);
    for (const client of [as.southOperator, as.engineer, as.contractor, as.lead]) {
      const res = await client.get(`/api/v1/offices/${northId}/interests`);
      expect(res.status).toBe(403);
      expect((await res.json()).error).toMatchObject({ code: "FORBIDDEN", requestId: expect.any(String) });
      expect((await getPage(client, `/offices/${northId}/interests`)).status).toBeGreaterThanOrEqual(403);
    }
    expect((await t.anonymous().get(`/api/v1/offices/${northId}/interests`)).status).toBe(401);
    expect((await getPage(t.anonymous(), `/offices/${northId}/interests`)).status).toBe(303);
    const list = await getPage(as.operator, `/offices/${northId}/interests`);
    expect(list.html).toContain("hanako@example.jp");
    expect(list.html).toContain("java (4), sql (3)");
  });

  it("names each wrong field, keeps what was typed, and stores nothing", async () => {
    const before = (await registrations(northId)).length;
    const noConsent = await register(
      t,
      northId,
      { ...person("鈴木 一郎", "ichiro@example.jp"), consent: "" },
      "192.0.2.11",
    );
    expect(noConsent.status).toBe(400);
    expect(noConsent.html).toContain("ichiro@example.jp");
    expect(noConsent.html).toMatch(/<strong>[^<]*consent[^<]*<\/strong>|同意/);
    const bad = await register(
      t,
      northId,
      { ...person("x".repeat(101), "not-an-address"), level: ["9", "3", "1"] },
      "192.0.2.11",
    );
    expect(bad.status).toBe(400);
    for (const field of ["name", "email", "skills.0.level"]) expect(bad.html).toContain(field);
    expect((await registrations(northId)).length).toBe(before);
  });

  it("refuses a body larger than a person's registration with 413", async () => {
    const before = (await registrations(northId)).length;
    const res = await register(
      t,
      northId,
      { ...person("大きな 登録", "big@example.jp"), movingWhen: "あ".repeat(20_000) },
      "192.0.2.12",
    );
    expect(res.status).toBe(413);
    expect((await registrations(northId)).length).toBe(before);
  });

  it("says thank you to a robot that fills the hidden field, and keeps nothing", async () => {
    const before = (await registrations(northId)).length;
    const res = await register(
      t,
      northId,
      { ...person("Robot", "robot@spam.example"), website: "https://spam.example" },
      "192.0.2.13",
    );
    expect(res.status).toBe(303);
    expect(res.location).toBe(`/office-guide/${northId}?registered=1`);
    expect((await registrations(northId)).length).toBe(before);
  });

  it("admits five registrations an hour from one address, counted in the database, then answers 429", async () => {
    const address = "198.51.100.7";
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      statuses.push((await register(t, southId, person(`人 ${i}`, `p${i}@example.jp`), address)).status);
    }
    expect(statuses).toEqual([303, 303, 303, 303, 303]);
    const refused = await register(t, southId, person("六人目", "p6@example.jp"), address);
    expect(refused.status).toBe(429);
    expect(Number(refused.retryAfter)).toBeGreaterThan(0);
    expect(refused.html).toContain("登録が多すぎます");
    const rows = await t.running.azusa.db.kysely
      .selectFrom("sign_in_attempt")
      .select("key")
      .where("key", "=", `interest:${address}`)
      .execute();
    expect(rows.length).toBe(5);
    expect((await registrations(southId)).map((r) => r.email)).not.toContain("p6@example.jp");
    // Another address is not held back by this one.
    expect((await register(t, southId, person("別の人", "other@example.jp"), "198.51.100.8")).status).toBe(303);
  });

  it("turns a registration into an engineer invitation in one step, once, that the person can accept", async () => {
    const [r] = await registrations(northId);
    expect((await as.southOperator.post(`/api/v1/interests/${r?.id}/invitation`)).status).toBe(403);
    expect((await as.engineer.post(`/api/v1/interests/${r?.id}/invitation`)).status).toBe(403);
    const res = await as.operator.post(`/api/v1/interests/${r?.id}/invitation`);
    expect(res.status).toBe(201);
    const inv = await res.json();
    expect(inv).toMatchObject({ email: "hanako@example.jp", token: expect.any(String) });
    expect((await as.operator.post(`/api/v1/interests/${r?.id}/invitation`)).status).toBe(409);
    const audit = await (await as.root.get("/api/v1/audit-events?limit=1")).json();
    expect(audit.items[0]).toMatchObject({ action: "interest.invited", subject: `interest:${r?.id}` });
    const accepted = await t.anonymous().post("/api/v1/invitations/accept", {
      token: inv.token,
      name: "山田 花子",
      password: PASSWORD,
    });
    expect(accepted.status).toBe(201);
    expect(await accepted.json()).toMatchObject({ email: "hanako@example.jp", role: "engineer" });
    expect((await registrations(northId))[0]?.invitedAt).toEqual(expect.any(String));
  });

  it("invites from the operators' page with one button, showing the link to send", async () => {
    await register(t, northId, person("田中 次郎", "jiro@example.jp"), "192.0.2.20");
    const list = await getPage(as.operator, `/offices/${northId}/interests`);
    const jiro = (await registrations(northId)).find((r) => r.email === "jiro@example.jp");
    const res = await postForm(as.operator, `/interests/${jiro?.id}/invite`, { _csrf: csrfTokenIn(list.html) });
    expect(res.status).toBe(200);
    expect(res.html).toMatch(/id="invitation-link">[^<]*\/invite\?token=/);
  });

  it("deletes a registration on the person's request, audited by id without their details", async () => {
    await register(t, northId, person("削除 希望", "erase-me@example.jp"), "192.0.2.21");
    const r = (await registrations(northId)).find((x) => x.email === "erase-me@example.jp");
    for (const client of [as.southOperator, as.engineer, as.contractor, as.lead]) {
      expect((await client.delete(`/api/v1/interests/${r?.id}`)).status).toBe(403);
    }
    expect((await as.operator.delete(`/api/v1/interests/${r?.id}`)).status).toBe(204);
    expect((await as.operator.delete(`/api/v1/interests/${r?.id}`)).status).toBe(404);
    expect((await registrations(northId)).map((x) => x.email)).not.toContain("erase-me@example.jp");
    const audit = await (await as.root.get("/api/v1/audit-events?limit=1")).json();
    expect(audit.items[0]).toMatchObject({
      action: "interest.deleted",
      subject: `interest:${r?.id}`,
      details: { reason: "request", officeId: northId },
    });
    expect(JSON.stringify(audit.items[0])).not.toContain("erase-me");
  });

  it("deletes registrations past the retention period on schedule, and no others", async () => {
    const [old, ...rest] = await registrations(southId);
    const longAgo = new Date(Date.now() - 91 * 86_400_000).toISOString();
    await t.running.azusa.db.kysely
      .updateTable("interest_registration")
      .set({ created_at: longAgo })
      .where("id", "=", old?.id ?? "")
      .execute();
    const dispose = t.running.azusa.schedules.find((s) => s.name === "interests.dispose");
    expect(await dispose?.run()).toBe(1);
    expect((await registrations(southId)).map((r) => r.id)).toEqual(rest.map((r) => r.id));
    const audit = await (await as.root.get("/api/v1/audit-events?limit=1")).json();
    expect(audit.items[0]).toMatchObject({ action: "interest.deleted", details: { reason: "retention" } });
    expect(await dispose?.run()).toBe(0);
  });
});
