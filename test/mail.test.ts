// Notices by e-mail: a real SMTP server on loopback (smtp-server) receives what Azusa sends through nodemailer,
// and the test reads the messages it received: Japanese subject and body, correctly encoded, with the link.
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMailer } from "../src/domain/notifications/mail.ts";
import { until } from "./support/cli.ts";
import { type HoursWorld, startHoursWorld } from "./support/hours-world.ts";
import { bodyOf, header, startSmtp, type TestSmtp } from "./support/smtp.ts";

describe("notices by e-mail", () => {
  let w: HoursWorld;
  let smtp: TestSmtp;
  let received: TestSmtp["received"];

  beforeAll(async () => {
    smtp = await startSmtp();
    received = smtp.received;
    w = await startHoursWorld("sqlite", { AZUSA_SMTP_URL: smtp.url, AZUSA_MAIL_FROM: "azusa@office.example" });
    // The world's people came by invitation, each e-mailed: those are sent before the notices are looked at.
    const waiting = () =>
      w.t.running.azusa.db.kysely.selectFrom("mail_outbox").select("id").where("state", "!=", "sent").execute();
    await until("the invitations' e-mail", async () => ((await waiting()).length ? undefined : true), 60_000);
    expect(received.length).toBeGreaterThan(0);
    received.length = 0;
  }, 180_000);
  afterAll(async () => {
    await w?.stop();
    await smtp?.close();
  });

  it("e-mails an offer to the engineer, in Japanese, with the link to the page", async () => {
    const pkg = w.juninin.packages["2.1"] as string;
    expect((await w.lead.post(`/api/v1/packages/${pkg}/open`)).status).toBe(200);
    const made = await w.lead.post(`/api/v1/packages/${pkg}/offers`, { engineerId: w.engineers.sato?.id });
    expect(made.status).toBe(201);
    // The outbox is read every two seconds; the message arrives once the offer has committed.
    await expect.poll(() => received.length, { timeout: 30_000, interval: 200 }).toBeGreaterThan(0);
    const [mail, ...more] = received;
    expect(more).toEqual([]);
    expect(mail?.to).toEqual(["sato@matsumoto.example"]);
    const raw = mail?.raw ?? "";
    expect(header(raw, "From")).toContain("azusa@office.example");
    const subject = header(raw, "Subject");
    expect(subject).toContain("のオファーが届きました（勘定系保守（準委任））");
    // Headers are ASCII on the wire: the Japanese is encoded, not sent raw.
    expect(raw.split(/\r?\n\r?\n/)[0]).toMatch(/^[\x20-\x7e\r\n\t]*$/);
    expect(header(raw, "Content-Type")).toMatch(/charset=utf-8/i);
    const body = bodyOf(raw);
    expect(body).toContain("回答期限:");
    expect(body).toContain(`${w.t.base.replace(/\/$/, "")}/notifications`);
    // The row is marked sent once the server's answer is back, a moment after the message arrived.
    const outbox = () =>
      w.t.running.azusa.db.kysely.selectFrom("mail_outbox").selectAll().where("kind", "!=", "invitation").execute();
    await expect
      .poll(async () => (await outbox()).map((m) => [m.to_address, m.state, Number(m.attempts)]), { timeout: 10_000 })
      .toEqual([["sato@matsumoto.example", "sent", 1]]);
    // Nobody else was written to: the lead waits on nothing yet.
    expect(received.flatMap((r) => r.to)).not.toContain("lead@tokyo-si.example");
  }, 60_000);

  it("retries a send the server refused, with backoff, and keeps the refusal for operators", async () => {
    received.length = 0;
    smtp.refuseNext();
    const sato = w.engineers.sato;
    if (!sato) throw new Error("the world has no engineer sato");
    const offers = (await (await sato.client.get("/api/v1/offers")).json()).items as { id: string }[];
    const declined = await sato.client.post(`/api/v1/offers/${offers[0]?.id}/decline`, {
      reason: "日程が合わないため",
    });
    expect(declined?.status).toBe(200);
    const outbox = () =>
      w.t.running.azusa.db.kysely
        .selectFrom("mail_outbox")
        .selectAll()
        .where("to_address", "=", "lead@tokyo-si.example")
        .where("kind", "!=", "invitation")
        .execute();
    // The first attempt is refused: the row waits with the server's words and the time of its next try.
    await expect.poll(async () => (await outbox())[0]?.attempts, { timeout: 30_000, interval: 200 }).toBe(1);
    const [waiting] = await outbox();
    expect(waiting).toMatchObject({ state: "pending", last_error: expect.stringContaining("mailbox busy") });
    expect(Date.parse(waiting?.next_attempt_at ?? "")).toBeGreaterThan(Date.parse(waiting?.created_at ?? ""));
    expect(received).toEqual([]);
    // 30 seconds later it goes.
    await expect.poll(() => received.length, { timeout: 90_000, interval: 500 }).toBe(1);
    expect(received[0]?.to).toEqual(["lead@tokyo-si.example"]);
    expect(header(received[0]?.raw ?? "", "Subject")).toMatch(/sato さんが .* のオファーを辞退しました/);
    await expect
      .poll(async () => (await outbox())[0], { timeout: 10_000 })
      .toMatchObject({ state: "sent", attempts: 2 });
  }, 150_000);

  it("sends each message once when a second process reads the same outbox at the same moment", async () => {
    received.length = 0;
    const azusa = w.t.running.azusa;
    // Two more processes' mailers on the same database, beside the world's own: each polls on its own.
    const mailer = () =>
      createMailer({
        db: azusa.db.kysely,
        logger: pino({ level: "silent" }),
        sealer: azusa.sealer,
        smtpUrl: smtp.url,
        from: "azusa@office.example",
        pollMs: 60_000,
      });
    const first = mailer();
    const second = mailer();
    try {
      const to = Array.from({ length: 12 }, (_, i) => `twice-${i}@office.example`);
      await second.enqueue(
        azusa.db.kysely,
        to.map((address) => ({ to: address, subject: "一度だけ", body: "本文", kind: "test.once" })),
      );
      await Promise.all([first.dispatch(), second.dispatch(), first.dispatch(), second.dispatch()]);
      const left = () =>
        azusa.db.kysely
          .selectFrom("mail_outbox")
          .select("id")
          .where("kind", "=", "test.once")
          .where("state", "!=", "sent")
          .execute();
      await expect.poll(async () => (await left()).length, { timeout: 30_000, interval: 200 }).toBe(0);
      const got = received.flatMap((r) => r.to).filter((a) => a.startsWith("twice-"));
      expect(got.sort()).toEqual([...to].sort());
    } finally {
      await Promise.all([first.stop(), second.stop()]);
    }
  }, 90_000);
});
