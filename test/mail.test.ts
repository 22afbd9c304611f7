// Notices by e-mail: a real SMTP server on loopback (smtp-server) receives what Azusa sends through nodemailer,
// and the test reads the messages it received: Japanese subject and body, correctly encoded, with the link.
import { createServer } from "node:net";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type HoursWorld, startHoursWorld } from "./support/hours-world.ts";

interface Received {
  to: string[];
  raw: string;
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

/** A header's value, its RFC 2047 encoded words decoded (nodemailer writes UTF-8 as base64 or Q). */
function header(raw: string, name: string): string {
  const head = raw.split(/\r?\n\r?\n/)[0] ?? "";
  const m = new RegExp(`^${name}: ((?:.*)(?:\\r?\\n[ \\t].*)*)`, "mi").exec(head);
  const value = (m?.[1] ?? "").replace(/\r?\n[ \t]/g, " ");
  return value.replace(/=\?utf-8\?([bq])\?([^?]*)\?=\s*/gi, (_, enc: string, text: string) =>
    enc.toLowerCase() === "b"
      ? Buffer.from(text, "base64").toString("utf8")
      : Buffer.from(
          text
            .replace(/_/g, " ")
            .replace(/=([0-9A-F]{2})/gi, (_m, h: string) => String.fromCharCode(Number.parseInt(h, 16))),
          "latin1",
        ).toString("utf8"),
  );
}

describe("notices by e-mail", () => {
  let w: HoursWorld;
  let smtp: SMTPServer;
  const received: Received[] = [];
  let refuseNext = false;

  beforeAll(async () => {
    const port = await freePort();
    smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ["STARTTLS"],
      onData(stream, session, done) {
        const chunks: Buffer[] = [];
        stream.on("data", (c: Buffer) => chunks.push(c));
        stream.on("end", () => {
          if (refuseNext) {
            refuseNext = false;
            done(Object.assign(new Error("mailbox busy, try later"), { responseCode: 451 }));
            return;
          }
          received.push({ to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString() });
          done();
        });
      },
    });
    await new Promise<void>((resolve) => smtp.listen(port, "127.0.0.1", resolve));
    w = await startHoursWorld("sqlite", {
      AZUSA_SMTP_URL: `smtp://127.0.0.1:${port}`,
      AZUSA_MAIL_FROM: "azusa@office.example",
    });
  }, 180_000);
  afterAll(async () => {
    await w?.stop();
    await new Promise<void>((resolve) => (smtp ? smtp.close(() => resolve()) : resolve()));
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
    const encoding = header(raw, "Content-Transfer-Encoding").trim().toLowerCase();
    const bodyRaw = raw
      .split(/\r?\n\r?\n/)
      .slice(1)
      .join("\n\n");
    const body =
      encoding === "base64"
        ? Buffer.from(bodyRaw.replace(/\s/g, ""), "base64").toString("utf8")
        : Buffer.from(
            bodyRaw
              .replace(/=\r?\n/g, "")
              .replace(/=([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(Number.parseInt(h, 16))),
            "latin1",
          ).toString("utf8");
    expect(body).toContain("回答期限:");
    expect(body).toContain(`${w.t.base.replace(/\/$/, "")}/notifications`);
    const outbox = await w.t.running.azusa.db.kysely.selectFrom("mail_outbox").selectAll().execute();
    expect(outbox.map((m) => [m.to_address, m.state, Number(m.attempts)])).toEqual([
      ["sato@matsumoto.example", "sent", 1],
    ]);
    // Nobody else was written to: the lead waits on nothing yet.
    expect(received.flatMap((r) => r.to)).not.toContain("lead@tokyo-si.example");
  }, 60_000);

  it("retries a send the server refused, with backoff, and keeps the refusal for operators", async () => {
    received.length = 0;
    refuseNext = true;
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
    expect((await outbox())[0]).toMatchObject({ state: "sent", attempts: 2 });
  }, 150_000);
});
