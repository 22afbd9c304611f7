// Notifications: an in-app list per user, and each tenant's outgoing webhooks, signed with HMAC-SHA256,
// retried with exponential backoff, every attempt recorded.
import { createHmac, randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import { isSealed, type Sealer, sealContext, tryOpen } from "../../auth/sealed.ts";
import type { Database, Executor, NotificationTable, WebhookDeliveryTable } from "../../db/schema.ts";
import type { Actor } from "../../kernel/actor.ts";
import { forbidden, invalidField, notFound } from "../../kernel/errors.ts";
import { type Lang, say, type Text, text } from "../../kernel/messages.ts";
import type { Logger } from "../../logger.ts";
import { preferencesOf } from "../accounts/preferences.service.ts";
import type { AuditService } from "../audit/audit.service.ts";
import { essentialMail, type Mailer } from "./mail.ts";
import { checkReceiverUrl, postToReceiver, type ReceiverPolicy } from "./receiver-address.ts";

/** The header a receiver checks: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. */
export const SIGNATURE_HEADER = "azusa-signature";

const RETRY_MARGIN_MS = 25;

/** Why a delivery whose webhook's secret cannot be opened is given up at once. */
export const UNREADABLE_SECRET = "the webhook's secret cannot be opened (AZUSA_SECRET changed?): set the webhook again";

/** The signature header's value for `body` sent at `timestamp` (seconds) with `secret`. */
export function signPayload(secret: string, timestamp: number, body: string): string {
  const mac = createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex");
  return `t=${timestamp},v1=${mac}`;
}

/** Something worth telling people: in-app to `userIds`, and to the tenant's webhooks when `event` is set. */
export interface Notice {
  userIds: readonly string[];
  tenantId: string | null;
  kind: string;
  /** Written in each recipient's language when it is a catalogue message. */
  title: string | Text;
  body: string | Text;
  subject: string;
  /** The same key for the same user is told once (reminders run again; people are not nagged twice). */
  dedupeKey: string;
  /** Sent to the tenant's webhooks as `{ id, event, tenantId, createdAt, data }`. */
  webhook?: { event: string; data: Record<string, unknown> };
}

export interface Notification {
  id: string;
  kind: string;
  title: string;
  body: string;
  subject: string;
  createdAt: string;
  readAt: string | null;
}

export interface Webhook {
  id: string;
  url: string;
  /**
   * The last four characters only: the secret itself is never given back. `unreadable` when the stored
   * secret cannot be opened (AZUSA_SECRET changed): the webhook has to be set again.
   */
  secretHint: string;
  createdAt: string;
}

export interface WebhookDelivery {
  id: string;
  event: string;
  state: "pending" | "delivered" | "failed";
  attempts: { attempt: number; at: string; statusCode: number | null; error: string | null }[];
  nextAttemptAt: string | null;
  createdAt: string;
  deliveredAt: string | null;
}

/** A notice's words for a reader of `lang`: a catalogue message in that language, plain words as written. */
const sayIn = (lang: Lang, words: string | Text): string => (typeof words === "string" ? words : say(lang, words));

const toNotification = (r: NotificationTable): Notification => ({
  id: r.id,
  kind: r.kind,
  title: r.title,
  body: r.body,
  subject: r.subject,
  createdAt: r.created_at,
  readAt: r.read_at,
});

export function createNotificationService({
  db,
  audit,
  logger,
  now = () => new Date(),
  send = postToReceiver,
  retryBaseMs = 30_000,
  maxAttempts = 6,
  timeoutMs = 10_000,
  allowLoopbackReceivers = false,
  sealer,
  mail,
}: {
  /** Notices e-mailed too, each with a link to the notifications page under `baseUrl`. */
  mail?: { mailer: Mailer; baseUrl: string };
  /** Webhook secrets are stored sealed. */
  sealer: Sealer;
  db: Kysely<Database>;
  audit: AuditService;
  logger: Logger;
  now?: () => Date;
  /** Sends one signed request, resolving to the status code (a receiver of the tests may be passed). */
  send?: typeof postToReceiver;
  /** The wait before the first retry; each later one waits twice as long. */
  retryBaseMs?: number;
  maxAttempts?: number;
  timeoutMs?: number;
  /** Let webhooks point at this machine (127.0.0.0/8, ::1, localhost): a local relay, tests. */
  allowLoopbackReceivers?: boolean;
}) {
  const policy: ReceiverPolicy = { allowLoopback: allowLoopbackReceivers };
  const inFlight = new Set<Promise<void>>();
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;

  function requireContractor(actor: Actor): { userId: string; tenantId: string } {
    if (actor.kind !== "user" || actor.role !== "contractor" || !actor.tenantId) {
      throw forbidden(text("webhooks.contractorOnly"));
    }
    return { userId: actor.userId, tenantId: actor.tenantId };
  }

  /** One attempt at one delivery it has claimed; the outcome and the next try are written down. */
  async function attempt(d: WebhookDeliveryTable, url: string, secret: string): Promise<void> {
    const n = Number(d.attempts) + 1;
    const started = now();
    const timestamp = Math.floor(started.getTime() / 1000);
    let statusCode: number | null = null;
    let error: string | null = null;
    const t0 = performance.now();
    try {
      // The address is checked where the socket connects, so a name cannot be re-pointed in between.
      statusCode = await send(
        url,
        {
          "content-type": "application/json",
          "user-agent": "Azusa-Webhooks/1",
          "azusa-event": d.event,
          "azusa-delivery": d.id,
          [SIGNATURE_HEADER]: signPayload(secret, timestamp, d.payload),
        },
        d.payload,
        { policy, timeoutMs },
      );
      if (statusCode < 200 || statusCode > 299) error = `HTTP ${statusCode}`;
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
    }
    const ok = error === null;
    const wait = retryBaseMs * 2 ** (n - 1);
    const next = ok || n >= maxAttempts ? null : new Date(now().getTime() + wait).toISOString();
    await db.transaction().execute(async (trx) => {
      await trx
        .insertInto("webhook_attempt")
        .values({
          delivery_id: d.id,
          attempt: n,
          at: started.toISOString(),
          status_code: statusCode,
          error,
          duration_ms: Math.round(performance.now() - t0),
        })
        .execute();
      await trx
        .updateTable("webhook_delivery")
        .set({
          attempts: n,
          state: ok ? "delivered" : next ? "pending" : "failed",
          next_attempt_at: next,
          delivered_at: ok ? now().toISOString() : null,
        })
        .where("id", "=", d.id)
        .execute();
    });
    if (!ok) logger.warn({ delivery: d.id, attempt: n, statusCode, error }, "webhook delivery failed");
    if (next && !stopped) {
      // A timer may fire a millisecond before the clock reaches `next`; then nothing would be due and
      // the retry would wait for the next schedule. A small margin makes it due when the timer fires.
      const timer = setTimeout(() => {
        timers.delete(timer);
        void service.dispatch();
      }, wait + RETRY_MARGIN_MS);
      timer.unref();
      timers.add(timer);
    }
  }

  /** Ends a pending delivery as failed without sending it, the reason recorded as its attempt's error. */
  async function giveUp(d: WebhookDeliveryTable, reason: string): Promise<void> {
    const n = Number(d.attempts) + 1;
    const failed = await db.transaction().execute(async (trx) => {
      // The same guard as a claim: another dispatch that got here first has already recorded it.
      const done = await trx
        .updateTable("webhook_delivery")
        .set({ attempts: n, state: "failed", next_attempt_at: null })
        .where("id", "=", d.id)
        .where("state", "=", "pending")
        .where("attempts", "=", d.attempts)
        .where("next_attempt_at", "=", d.next_attempt_at)
        .executeTakeFirst();
      if (Number(done.numUpdatedRows) !== 1) return false;
      await trx
        .insertInto("webhook_attempt")
        .values({
          delivery_id: d.id,
          attempt: n,
          at: now().toISOString(),
          status_code: null,
          error: reason,
          duration_ms: 0,
        })
        .execute();
      return true;
    });
    if (failed) logger.warn({ delivery: d.id, webhook: d.webhook_id, error: reason }, "webhook delivery given up");
  }

  const service = {
    /** Seals every webhook secret stored before sealing existed (at start-up); returns how many. Idempotent. */
    async sealStoredSecrets(): Promise<number> {
      return db.transaction().execute(async (trx) => {
        let count = 0;
        for (const hook of await trx.selectFrom("webhook").select(["id", "secret"]).execute()) {
          if (isSealed(hook.secret)) continue;
          await trx
            .updateTable("webhook")
            .set({ secret: sealer.seal(hook.secret, sealContext.webhook(hook.id)) })
            .where("id", "=", hook.id)
            .execute();
          count++;
        }
        return count;
      });
    },

    /**
     * Writes the in-app notifications and queues the webhook deliveries, in the caller's transaction.
     * Resolves to how many people were told now: those told under the same dedupe key before are not.
     */
    async notify(ex: Executor, notice: Notice): Promise<number> {
      const at = now().toISOString();
      const users = [...new Set(notice.userIds)];
      let told = 0;
      if (users.length) {
        // Each person's notice in their own language.
        const prefs = await preferencesOf(ex, users);
        const words = (lang: Lang) => ({ title: sayIn(lang, notice.title), body: sayIn(lang, notice.body) });
        const written = await ex
          .insertInto("notification")
          .values(
            users.map((user_id) => ({
              id: randomUUID(),
              user_id,
              tenant_id: notice.tenantId,
              kind: notice.kind,
              ...words(prefs.get(user_id)?.language ?? "ja"),
              subject: notice.subject,
              dedupe_key: notice.dedupeKey,
              created_at: at,
              read_at: null,
            })),
          )
          .onConflict((oc) => oc.columns(["user_id", "dedupe_key"]).doNothing())
          .executeTakeFirst();
        told = Number(written.numInsertedOrUpdatedRows ?? 0);
        if (mail && told > 0) {
          // Those told now (a notice told before is not e-mailed again), each at their address, unless they
          // turned e-mail off and the notice can wait.
          const essential = essentialMail(notice.kind);
          const to = (
            await ex
              .selectFrom("notification")
              .innerJoin("user", "user.id", "notification.user_id")
              .select(["user.id", "user.email"])
              .where("notification.dedupe_key", "=", notice.dedupeKey)
              .where("notification.created_at", "=", at)
              .where("notification.user_id", "in", users)
              .execute()
          ).filter((u) => essential || prefs.get(u.id)?.emailNotices !== false);
          const link = `${mail.baseUrl.replace(/\/$/, "")}/notifications`;
          await mail.mailer.enqueue(
            ex,
            to.map((u) => {
              const lang = prefs.get(u.id)?.language ?? "ja";
              const { title, body } = words(lang);
              const footer = say(lang, text("mail.notice.footer", { link }));
              return {
                to: u.email,
                subject: title,
                body: `${[title, body, footer].filter(Boolean).join("\n\n")}\n`,
                kind: notice.kind,
              };
            }),
          );
        }
      }
      if (!notice.tenantId || !notice.webhook) return told;
      const hooks = await ex
        .selectFrom("webhook")
        .select("id")
        .where("tenant_id", "=", notice.tenantId)
        .where("removed_at", "is", null)
        .execute();
      for (const h of hooks) {
        const id = randomUUID();
        const payload = JSON.stringify({
          id,
          event: notice.webhook.event,
          tenantId: notice.tenantId,
          createdAt: at,
          data: notice.webhook.data,
        });
        await ex
          .insertInto("webhook_delivery")
          .values({
            id,
            webhook_id: h.id,
            tenant_id: notice.tenantId,
            event: notice.webhook.event,
            payload,
            state: "pending",
            attempts: 0,
            next_attempt_at: at,
            created_at: at,
            delivered_at: null,
          })
          .execute();
      }
      return told;
    },

    /**
     * Sends every delivery that is due. Each is claimed first (its next attempt pushed past the
     * timeout), so two instances, or two calls, never send the same attempt twice.
     */
    dispatch(): Promise<void> {
      const run = (async () => {
        const at = now();
        const due = await db
          .selectFrom("webhook_delivery")
          .innerJoin("webhook", "webhook.id", "webhook_delivery.webhook_id")
          .selectAll("webhook_delivery")
          .select(["webhook.url", "webhook.secret"])
          .where("webhook_delivery.state", "=", "pending")
          .where("webhook_delivery.next_attempt_at", "<=", at.toISOString())
          .where("webhook.removed_at", "is", null)
          .orderBy("webhook_delivery.created_at")
          .limit(100)
          .execute();
        await Promise.all(
          due.map(async ({ url, secret: sealed, ...d }) => {
            // Opened before the claim: a secret that cannot be opened fails the delivery for good, with
            // its reason, instead of leaving it pending to be claimed and thrown on without end.
            const secret = tryOpen(sealer, sealed, sealContext.webhook(d.webhook_id));
            if (secret === undefined) return giveUp(d, UNREADABLE_SECRET);
            const lease = new Date(at.getTime() + timeoutMs * 2).toISOString();
            const claimed = await db
              .updateTable("webhook_delivery")
              .set({ next_attempt_at: lease })
              .where("id", "=", d.id)
              .where("state", "=", "pending")
              .where("attempts", "=", d.attempts)
              .where("next_attempt_at", "=", d.next_attempt_at)
              .executeTakeFirst();
            if (Number(claimed.numUpdatedRows) !== 1) return;
            await attempt(d, url, secret);
          }),
        );
      })().catch((err) => logger.error({ err }, "webhook dispatch failed"));
      inFlight.add(run);
      void run.finally(() => inFlight.delete(run));
      return run;
    },

    /** Resolves when every send started so far has finished (tests, shutdown). */
    async drain(): Promise<void> {
      while (inFlight.size) await Promise.all([...inFlight]);
    },

    /** Stops retry timers; pending deliveries are picked up again by the next dispatch. */
    async stop(): Promise<void> {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await service.drain();
    },

    async list(actor: Actor, { unread = false }: { unread?: boolean } = {}): Promise<Notification[]> {
      if (actor.kind !== "user") return [];
      let q = db.selectFrom("notification").selectAll().where("user_id", "=", actor.userId);
      if (unread) q = q.where("read_at", "is", null);
      const rows = await q.orderBy("created_at", "desc").orderBy("id").limit(200).execute();
      return rows.map(toNotification);
    },

    async markRead(actor: Actor, id: string): Promise<Notification> {
      if (actor.kind !== "user") throw forbidden();
      const row = await db
        .selectFrom("notification")
        .selectAll()
        .where("id", "=", id)
        .where("user_id", "=", actor.userId)
        .executeTakeFirst();
      if (!row) throw notFound("notification");
      if (row.read_at) return toNotification(row);
      const read_at = now().toISOString();
      await db.updateTable("notification").set({ read_at }).where("id", "=", id).execute();
      return toNotification({ ...row, read_at });
    },

    async createWebhook(actor: Actor, input: { url: string; secret: string }): Promise<Webhook> {
      const { userId, tenantId } = requireContractor(actor);
      const url = checkReceiverUrl(input.url, policy);
      if (input.secret.length < 32) throw invalidField("secret", text("issue.shortString", { n: 32 }));
      const id = randomUUID();
      const row = {
        id,
        tenant_id: tenantId,
        url,
        secret: sealer.seal(input.secret, sealContext.webhook(id)),
        created_by: userId,
        created_at: now().toISOString(),
        removed_at: null,
      };
      await db.transaction().execute(async (trx) => {
        await trx.insertInto("webhook").values(row).execute();
        // The URL is recorded; the secret is not.
        await audit.record(actor, "webhook.created", `webhook:${row.id}`, { url }, { trx });
      });
      return { id: row.id, url, secretHint: `…${input.secret.slice(-4)}`, createdAt: row.created_at };
    },

    async listWebhooks(actor: Actor): Promise<Webhook[]> {
      const { tenantId } = requireContractor(actor);
      const rows = await db
        .selectFrom("webhook")
        .select(["id", "url", "secret", "created_at"])
        .where("tenant_id", "=", tenantId)
        .where("removed_at", "is", null)
        .orderBy("created_at")
        .execute();
      return rows.map((r) => {
        const secret = tryOpen(sealer, r.secret, sealContext.webhook(r.id));
        return {
          id: r.id,
          url: r.url,
          secretHint: secret === undefined ? "unreadable" : `…${secret.slice(-4)}`,
          createdAt: r.created_at,
        };
      });
    },

    async removeWebhook(actor: Actor, id: string): Promise<void> {
      const { tenantId } = requireContractor(actor);
      await db.transaction().execute(async (trx) => {
        const done = await trx
          .updateTable("webhook")
          .set({ removed_at: now().toISOString() })
          .where("id", "=", id)
          .where("tenant_id", "=", tenantId)
          .where("removed_at", "is", null)
          .executeTakeFirst();
        if (Number(done.numUpdatedRows) !== 1) throw notFound("webhook");
        await audit.record(actor, "webhook.removed", `webhook:${id}`, {}, { trx });
      });
    },

    /** A webhook's deliveries, newest first, each with every attempt made. */
    async deliveries(actor: Actor, webhookId: string): Promise<WebhookDelivery[]> {
      const { tenantId } = requireContractor(actor);
      const hook = await db
        .selectFrom("webhook")
        .select("id")
        .where("id", "=", webhookId)
        .where("tenant_id", "=", tenantId)
        .executeTakeFirst();
      if (!hook) throw notFound("webhook");
      const rows = await db
        .selectFrom("webhook_delivery")
        .selectAll()
        .where("webhook_id", "=", webhookId)
        .orderBy("created_at", "desc")
        .limit(100)
        .execute();
      const attempts = rows.length
        ? await db
            .selectFrom("webhook_attempt")
            .selectAll()
            .where(
              "delivery_id",
              "in",
              rows.map((r) => r.id),
            )
            .orderBy("attempt")
            .execute()
        : [];
      return rows.map((r) => ({
        id: r.id,
        event: r.event,
        state: r.state as WebhookDelivery["state"],
        attempts: attempts
          .filter((a) => a.delivery_id === r.id)
          .map((a) => ({
            attempt: Number(a.attempt),
            at: a.at,
            statusCode: a.status_code == null ? null : Number(a.status_code),
            error: a.error,
          })),
        nextAttemptAt: r.next_attempt_at,
        createdAt: r.created_at,
        deliveredAt: r.delivered_at,
      }));
    },
  };
  return service;
}

export type NotificationService = ReturnType<typeof createNotificationService>;
