// Notices by e-mail: each is written to the outbox in the transaction of what it tells of, then sent by SMTP
// (nodemailer), retried with backoff until it goes or its attempts run out. A restart finds it in the table.
// Bodies are kept sealed (an invitation's carries its one-time link): a copy of the database does not show them.
import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import nodemailer from "nodemailer";
import { type Sealer, tryOpen } from "../../auth/sealed.ts";
import type { Database, Executor, MailOutboxTable } from "../../db/schema.ts";
import type { Actor } from "../../kernel/actor.ts";
import { fail, forbidden, notFound } from "../../kernel/errors.ts";
import { codeOf, text } from "../../kernel/messages.ts";
import type { Logger } from "../../logger.ts";
import type { AuditService } from "../audit/audit.service.ts";

/** One e-mail to send. */
export interface Mail {
  to: string;
  subject: string;
  body: string;
  kind: string;
}

/** A sender of prepared messages (nodemailer's transport, or a test's). */
/**
 * Whether an e-mail of this kind goes to everyone, whatever they chose: invitations, security (access that will
 * stop: vetting running out) and payment. Every other notice is e-mailed only to those who keep e-mail on.
 */
export const essentialMail = (kind: string): boolean =>
  kind === "invitation" || kind.startsWith("security.") || kind.startsWith("payment.") || kind === "vetting.expiring";

/** The place a message's body is sealed to. */
const bodyContext = (id: string) => `mail_outbox:${id}:body`;

/** Why a message whose body cannot be opened is given up at once. */
export const UNREADABLE_BODY = "the message cannot be opened (AZUSA_SECRET changed?)";

/** How long a process holds a message it is sending before another process may send it (a send that never ends). */
const CLAIM_MS = 5 * 60_000;

export type SendMail = (message: { from: string; to: string; subject: string; text: string }) => Promise<unknown>;

export function createMailer({
  db,
  logger,
  smtpUrl,
  from,
  now = () => new Date(),
  retryBaseMs = 30_000,
  maxAttempts = 6,
  pollMs = 2_000,
  send,
  sealer,
  audit,
}: {
  db: Kysely<Database>;
  sealer: Sealer;
  /** Operators' retries are audited. */
  audit?: AuditService;
  logger: Logger;
  /** `smtp://` or `smtps://`, with credentials when the server asks; never logged. */
  smtpUrl: string;
  from: string;
  now?: () => Date;
  /** The wait before the first retry; each later one waits twice as long. */
  retryBaseMs?: number;
  maxAttempts?: number;
  /** How often the outbox is read for what is due: mail written in a transaction goes once it commits. */
  pollMs?: number;
  send?: SendMail;
}) {
  const transport = send ? null : nodemailer.createTransport(smtpUrl);
  const deliver: SendMail = send ?? ((m) => (transport as nodemailer.Transporter).sendMail(m));
  let running: Promise<number> | null = null;
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;

  async function attempt(m: MailOutboxTable): Promise<boolean> {
    const n = Number(m.attempts) + 1;
    let error: string | null = null;
    const body = tryOpen(sealer, m.body, bodyContext(m.id));
    if (body === undefined) error = UNREADABLE_BODY;
    else
      try {
        await deliver({ from, to: m.to_address, subject: m.subject, text: body });
      } catch (err) {
        // The server's words, without the URL (it may hold the password).
        error = (err instanceof Error ? err.message : String(err)).replaceAll(smtpUrl, "<smtp>").slice(0, 500);
      }
    const wait = retryBaseMs * 2 ** (n - 1);
    const next = error && body !== undefined && n < maxAttempts ? new Date(now().getTime() + wait).toISOString() : null;
    await db
      .updateTable("mail_outbox")
      .set({
        attempts: n,
        state: error === null ? "sent" : next ? "pending" : "failed",
        next_attempt_at: next,
        last_error: error,
        sent_at: error === null ? now().toISOString() : null,
      })
      .where("id", "=", m.id)
      .execute();
    if (error) logger.warn({ mail: m.id, kind: m.kind, attempt: n, error }, "e-mail not sent");
    if (next && !stopped) {
      const timer = setTimeout(() => {
        timers.delete(timer);
        void mailer.dispatch();
      }, wait + 25);
      timer.unref();
      timers.add(timer);
    }
    return error === null;
  }

  /**
   * Takes a due message for this process: its next attempt moves `CLAIM_MS` ahead only if no other process (each
   * process reads the outbox) has moved it since it was read. The one that moved it sends it; a process that dies
   * while sending leaves it to be sent again once the claim has passed.
   */
  async function claim(m: MailOutboxTable): Promise<boolean> {
    const taken = await db
      .updateTable("mail_outbox")
      .set({ next_attempt_at: new Date(now().getTime() + CLAIM_MS).toISOString() })
      .where("id", "=", m.id)
      .where("state", "=", "pending")
      .where("next_attempt_at", "=", m.next_attempt_at)
      .executeTakeFirst();
    return Number(taken.numUpdatedRows) === 1;
  }

  const mailer = {
    /** Writes e-mails to the outbox, in the caller's transaction. */
    async enqueue(ex: Executor, mails: Mail[]): Promise<void> {
      if (!mails.length) return;
      const at = now().toISOString();
      await ex
        .insertInto("mail_outbox")
        .values(
          mails.map((m) => {
            const id = randomUUID();
            return {
              id,
              to_address: m.to,
              subject: m.subject,
              body: sealer.seal(m.body, bodyContext(id)),
              kind: m.kind,
              state: "pending",
              attempts: 0,
              next_attempt_at: at,
              last_error: null,
              created_at: at,
              sent_at: null,
            };
          }),
        )
        .execute();
    },

    /** Sends what is due, one run at a time; resolves to how many went. */
    dispatch(): Promise<number> {
      if (running) return running;
      running = (async () => {
        try {
          const due = await db
            .selectFrom("mail_outbox")
            .selectAll()
            .where("state", "=", "pending")
            .where("next_attempt_at", "<=", now().toISOString())
            .orderBy("created_at")
            .limit(100)
            .execute();
          let sent = 0;
          for (const m of due) if ((await claim(m)) && (await attempt(m))) sent++;
          return sent;
        } finally {
          running = null;
        }
      })();
      return running;
    },

    /**
     * The outbox as operators read it, newest first: to whom, the subject, the state, attempts and the last
     * error. Never the body (an invitation's holds its one-time link). Operators only.
     */
    async outbox(actor: Actor, state?: MailState): Promise<OutboxMail[]> {
      requireOperator(actor);
      let q = db.selectFrom("mail_outbox").selectAll().orderBy("created_at", "desc").orderBy("id").limit(200);
      if (state) q = q.where("state", "=", state);
      return (await q.execute()).map(toOutboxMail);
    },

    /** Sends a waiting or failed message now (operators), its attempts counting on; resolves to its state after. */
    async retry(actor: Actor, id: string): Promise<OutboxMail> {
      requireOperator(actor);
      const row = await db.selectFrom("mail_outbox").selectAll().where("id", "=", id).executeTakeFirst();
      if (!row) throw notFound("mail");
      if (row.state === "sent") throw fail("INVALID_STATE", text("mail.retrySent", { state: codeOf("mail", "sent") }));
      await db.transaction().execute(async (trx) => {
        await trx
          .updateTable("mail_outbox")
          .set({ state: "pending", next_attempt_at: now().toISOString() })
          .where("id", "=", id)
          .execute();
        await audit?.record(
          actor,
          "mail.retried",
          `mail:${id}`,
          { kind: row.kind, attempts: Number(row.attempts) },
          { trx },
        );
      });
      const read = () => db.selectFrom("mail_outbox").selectAll().where("id", "=", id).executeTakeFirstOrThrow();
      // A run already under way may have read the outbox before this row was due: then the next run sends it.
      await mailer.dispatch();
      let after = await read();
      if (after.state === "pending" && Number(after.attempts) === Number(row.attempts)) {
        await mailer.dispatch();
        after = await read();
      }
      return toOutboxMail(after);
    },

    async stop(): Promise<void> {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await running?.catch(() => undefined);
      transport?.close();
    },
  };
  const poll = setInterval(() => {
    mailer.dispatch().catch((err) => logger.debug({ err: (err as Error).message }, "reading the mail outbox"));
  }, pollMs);
  poll.unref();
  const stop = mailer.stop;
  mailer.stop = () => {
    clearInterval(poll);
    return stop();
  };
  return mailer;
}

export type Mailer = ReturnType<typeof createMailer>;

export const mailStates = ["pending", "sent", "failed"] as const;
export type MailState = (typeof mailStates)[number];

/** One message as operators see it: no body. */
export interface OutboxMail {
  id: string;
  to: string;
  subject: string;
  kind: string;
  state: MailState;
  attempts: number;
  nextAttemptAt: string | null;
  lastError: string | null;
  createdAt: string;
  sentAt: string | null;
}

const toOutboxMail = (m: MailOutboxTable): OutboxMail => ({
  id: m.id,
  to: m.to_address,
  subject: m.subject,
  kind: m.kind,
  state: m.state as MailState,
  attempts: Number(m.attempts),
  nextAttemptAt: m.next_attempt_at,
  lastError: m.last_error,
  createdAt: m.created_at,
  sentAt: m.sent_at,
});

/** Refuses anyone but an operator: the outbox and its retries are theirs alone. */
export function requireOperator(actor: Actor): void {
  if (actor.kind !== "user" || actor.role !== "operator") throw forbidden(text("mail.operatorsOnly"));
}
