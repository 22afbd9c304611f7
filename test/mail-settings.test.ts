// Each person's settings, on both databases: the language their notices and e-mail are written in, and whether
// notices that can wait are e-mailed. A real SMTP server on loopback reads what went out; essential mail
// (here, vetting about to run out) reaches even those who turned e-mail off.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { text } from "../src/kernel/messages.ts";
import { until } from "./support/cli.ts";
import { dialects } from "./support/databases.ts";
import { type Client, startTestAzusa, type TestAzusa } from "./support/harness.ts";
import { csrfTokenIn, getPage, postForm } from "./support/pages.ts";
import { bodyOf, header, startSmtp, type TestSmtp } from "./support/smtp.ts";

const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);

describe.each(dialects)("settings of notices and e-mail (%s)", (dialect) => {
  let t: TestAzusa;
  let smtp: TestSmtp;
  let root: Client;
  let sato: Client;
  let satoId: string;

  /** Waits until every message in the outbox has gone, then hands back what arrived and forgets it. */
  const delivered = async () => {
    const db = t.running.azusa.db.kysely;
    await until("the outbox to empty", async () => {
      const left = await db.selectFrom("mail_outbox").select("id").where("state", "!=", "sent").execute();
      return left.length ? undefined : true;
    });
    return smtp.received
      .splice(0)
      .map((m) => ({ to: m.to[0], subject: header(m.raw, "Subject"), body: bodyOf(m.raw) }));
  };

  beforeAll(async () => {
    smtp = await startSmtp();
    t = await startTestAzusa({ dialect, env: { AZUSA_SMTP_URL: smtp.url, AZUSA_MAIL_FROM: "azusa@office.example" } });
    satoId = (await t.createUser("engineer", "sato@matsumoto.example")).id;
    root = await t.signIn("root@office.example");
    sato = await t.signIn("sato@matsumoto.example");
    const profile = { weeklyCapacityHours: 32, invoiceNumber: "T1234567890123", skills: [{ skill: "Java", level: 4 }] };
    expect((await root.put(`/api/v1/engineers/${satoId}`, profile)).status).toBe(200);
    await delivered();
  }, 120_000);
  afterAll(async () => {
    await t?.stop();
    await smtp?.close();
  });

  it("starts in Japanese with e-mail on, and refuses a change that names nothing or a language it does not speak", async () => {
    expect(await (await sato.get("/api/v1/me/settings")).json()).toEqual({ language: "ja", emailNotices: true });
    const empty = await sato.put("/api/v1/me/settings", {});
    expect(empty.status).toBe(400);
    const emptyBody = await empty.json();
    expect(emptyBody.error).toMatchObject({ code: "VALIDATION", requestId: expect.any(String) });
    expect(JSON.stringify(emptyBody)).toContain("language");
    const french = await sato.put("/api/v1/me/settings", { language: "fr" });
    expect(french.status).toBe(400);
    expect(JSON.stringify(await french.json())).toContain("language");
    const unknown = await sato.put("/api/v1/me/settings", { emailNotices: false, colour: "red" });
    expect(unknown.status).toBe(400);
    // Nothing was half-written.
    expect(await (await sato.get("/api/v1/me/settings")).json()).toEqual({ language: "ja", emailNotices: true });
    expect((await t.anonymous().get("/api/v1/me/settings")).status).toBe(401);
  });

  it("keeps each person's settings their own, changed from the settings page and audited", async () => {
    const page = await getPage(sato, "/settings");
    expect(page.status).toBe(200);
    expect(page.html).toContain("急がない通知もメールで受け取る");
    const saved = await postForm(sato, "/settings", { _csrf: csrfTokenIn(page.html), language: "en" });
    expect(saved.status).toBe(303);
    expect(await (await sato.get("/api/v1/me/settings")).json()).toEqual({ language: "en", emailNotices: false });
    // Another person's are untouched.
    expect(await (await root.get("/api/v1/me/settings")).json()).toEqual({ language: "ja", emailNotices: true });
    const bad = await postForm(sato, "/settings", { _csrf: csrfTokenIn(page.html), language: "fr", emailNotices: "1" });
    expect(bad.status).toBe(400);
    expect(await (await sato.get("/api/v1/me/settings")).json()).toEqual({ language: "en", emailNotices: false });
    const audit = await (await root.get("/api/v1/audit-events?limit=5")).json();
    expect(audit.items).toContainEqual(
      expect.objectContaining({ action: "user.preferences_changed", subject: `user:${satoId}` }),
    );
  });

  it("writes notices in each reader's language and e-mails one that can wait only to those who keep e-mail on", async () => {
    const { db, notifications } = t.running.azusa;
    await notifications.notify(db.kysely, {
      userIds: [satoId, (await (await root.get("/api/v1/me")).json()).id],
      tenantId: null,
      kind: "offer.withdrawn",
      title: text("notice.offer.withdrawn", { name: "1.2 帳票出力" }),
      body: text("notice.reason", { reason: "計画変更" }),
      subject: "package:p1",
      dedupeKey: "test.withdrawn:1",
    });
    const mails = await delivered();
    expect(mails.map((m) => [m.to, m.subject])).toEqual([
      ["root@office.example", "1.2 帳票出力 のオファー・アサインが取り下げられました"],
    ]);
    expect(mails[0]?.body).toContain("理由: 計画変更");
    expect(mails[0]?.body).toContain(`Azusa の通知: ${t.base}/notifications`);
    const [inApp] = await (await sato.get("/api/v1/notifications")).json().then((r) => r.items);
    expect(inApp).toMatchObject({
      title: "The offer or assignment of 1.2 帳票出力 was withdrawn",
      body: "Reason: 計画変更",
    });
  });

  it("e-mails essential notices even to those who turned e-mail off, in their language", async () => {
    const recorded = await root.post(`/api/v1/engineers/${satoId}/vetting`, {
      kind: "nda",
      issuedOn: inDays(-300),
      expiresOn: inDays(10),
    });
    expect(recorded.status).toBe(201);
    expect(await t.running.azusa.reminders.vetting()).toBeGreaterThan(0);
    const mails = await delivered();
    const to = Object.fromEntries(mails.map((m) => [m.to, m]));
    expect(to["sato@matsumoto.example"]?.subject).toBe(`The vetting record (nda) runs out on ${inDays(10)}`);
    expect(to["sato@matsumoto.example"]?.body).toContain(`Your notices in Azusa: ${t.base}/notifications`);
    expect(to["root@office.example"]?.subject).toBe(`審査記録（nda）の有効期限 ${inDays(10)} が近づいています`);
  });
});
