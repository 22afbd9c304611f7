// The append-only audit log: each event carries a keyed hash (HMAC-SHA256) of itself and the one before, so
// edits and removals show, and someone with write access to the database but not the key cannot redo them.
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { Kysely, Transaction } from "kysely";
import type { AuditEventTable, Database, Executor } from "../../db/schema.ts";
import type { Actor } from "../../kernel/actor.ts";

export const GENESIS_HASH = "0".repeat(64);

/** One audit event as callers see it. */
export interface AuditEvent {
  seq: number;
  at: string;
  actorId: string | null;
  actorRole: string | null;
  tenantId: string | null;
  action: string;
  subject: string;
  details: Record<string, unknown>;
  hash: string;
}

/** The outcome of walking the chain: `firstBad` names the first row that was changed or removed. */
export interface VerifyResult {
  ok: boolean;
  checked: number;
  firstBad?: { seq: number; problem: string };
}

/**
 * An event's link in the chain: HMAC-SHA256 under `key` of its fields and the previous link. Without a key
 * (`null`) the plain SHA-256 of chains written before the key existed, kept only to adopt them.
 */
export function hashEvent(row: Omit<AuditEventTable, "hash">, key: string | null): string {
  const canonical = JSON.stringify([
    row.seq,
    row.at,
    row.actor_id,
    row.actor_role,
    row.tenant_id,
    row.action,
    row.subject,
    row.details,
    row.prev_hash,
  ]);
  return (key === null ? createHash("sha256") : createHmac("sha256", key)).update(canonical).digest("hex");
}

/** A checkpoint of the chain that leaves the database: the head at an instant, signed with the key. */
export interface Checkpoint {
  seq: number;
  hash: string;
  at: string;
  mac: string;
}

const checkpointMac = (key: string, c: Omit<Checkpoint, "mac">) =>
  createHmac("sha256", key).update(`azusa-audit-checkpoint|${c.seq}|${c.hash}|${c.at}`).digest("hex");

/** One line of a checkpoint file, or an unsigned placeholder when it is not JSON. */
function parseCheckpoint(line: string): Checkpoint {
  try {
    return JSON.parse(line) as Checkpoint;
  } catch {
    return { seq: 0, hash: "", at: "", mac: "" };
  }
}

/** Whether `c` was signed with `key`. */
function signedBy(key: string, c: Checkpoint): boolean {
  const want = Buffer.from(checkpointMac(key, c), "hex");
  const got = Buffer.from(typeof c.mac === "string" ? c.mac : "", "hex");
  return got.length === want.length && timingSafeEqual(got, want);
}

const actorColumns = (actor: Actor) =>
  actor.kind === "user"
    ? { actor_id: actor.userId, actor_role: actor.role }
    : { actor_id: `system:${actor.name}`, actor_role: "system" };

/** Records who did what to which subject. Builds an audit service over one database. */
export function createAuditService({
  db,
  key,
  now = () => new Date(),
  onRecorded,
}: {
  db: Kysely<Database>;
  /** The chain's key (AZUSA_AUDIT_KEY); it lives neither in the database nor in the data directory. */
  key: string;
  now?: () => Date;
  /**
   * Told of each event `record` appends, in its transaction (a notice sent through it goes out on commit): how
   * every process learns at once of a change that ends access, such as a key removed or an assignment ended.
   */
  onRecorded?: (action: string, trx: Executor) => Promise<void>;
}) {
  async function append(
    trx: Executor,
    actor: Actor,
    action: string,
    subject: string,
    details: Record<string, unknown>,
    tenantId: string | null,
  ): Promise<number> {
    // Bumping the head first takes the write lock (a row lock in PostgreSQL, the database lock in
    // SQLite), so concurrent appends serialize and the chain never forks.
    const head = await trx
      .updateTable("audit_head")
      .set((eb) => ({ seq: eb("seq", "+", 1) }))
      .where("id", "=", 1)
      .returning(["seq", "hash"])
      .executeTakeFirstOrThrow();
    const row = {
      seq: Number(head.seq),
      at: now().toISOString(),
      ...actorColumns(actor),
      tenant_id: tenantId,
      action,
      subject,
      details: JSON.stringify(details),
      prev_hash: head.hash,
    };
    const hash = hashEvent(row, key);
    await trx
      .insertInto("audit_event")
      .values({ ...row, hash })
      .execute();
    await trx.updateTable("audit_head").set({ hash }).where("id", "=", 1).execute();
    await onRecorded?.(action, trx);
    return row.seq;
  }

  /** The chain's head now, signed. */
  async function checkpoint(): Promise<Checkpoint> {
    const head = await db
      .selectFrom("audit_head")
      .select(["seq", "hash"])
      .where("id", "=", 1)
      .executeTakeFirstOrThrow();
    const c = { seq: Number(head.seq), hash: head.hash, at: now().toISOString() };
    return { ...c, mac: checkpointMac(key, c) };
  }

  /** Walks the chain with its links made under `linkKey` (null: plain SHA-256). */
  async function walk(linkKey: string | null): Promise<VerifyResult> {
    const pageSize = 1000;
    let expectedSeq = 1;
    let prevHash = GENESIS_HASH;
    let checked = 0;
    for (;;) {
      const rows = await db
        .selectFrom("audit_event")
        .selectAll()
        .where("seq", ">=", expectedSeq)
        .orderBy("seq", "asc")
        .limit(pageSize)
        .execute();
      for (const raw of rows) {
        const row = { ...raw, seq: Number(raw.seq) };
        if (row.seq !== expectedSeq) {
          return { ok: false, checked, firstBad: { seq: expectedSeq, problem: "removed" } };
        }
        if (row.prev_hash !== prevHash) {
          // The previous row was rewritten with a fresh hash (or this row's link was edited).
          const seq = Math.max(row.seq - 1, 1);
          return {
            ok: false,
            checked,
            firstBad: { seq, problem: `changed (event ${row.seq} no longer links to it)` },
          };
        }
        if (hashEvent(row, linkKey) !== row.hash) {
          return { ok: false, checked, firstBad: { seq: row.seq, problem: "changed" } };
        }
        prevHash = row.hash;
        expectedSeq = row.seq + 1;
        checked++;
      }
      if (rows.length < pageSize) break;
    }
    const head = await db.selectFrom("audit_head").select(["seq", "hash"]).where("id", "=", 1).executeTakeFirst();
    if (!head) return { ok: false, checked, firstBad: { seq: 1, problem: "chain head missing" } };
    if (Number(head.seq) >= expectedSeq) {
      return { ok: false, checked, firstBad: { seq: expectedSeq, problem: "removed" } };
    }
    if (head.hash !== prevHash) {
      return { ok: false, checked, firstBad: { seq: expectedSeq - 1, problem: "changed" } };
    }
    return { ok: true, checked };
  }

  return {
    checkpoint,

    /**
     * Keys a chain written before the chain had a key: its plain SHA-256 links are checked, then every event
     * is linked again under the key, once. A chain that does not check is left as it is and refused, and so
     * is one that `checkpoints` (the lines of the checkpoint file) show was keyed before: someone who can
     * write the database marked it not keyed to have plain links they made adopted.
     */
    async adoptKey(checkpoints: string[] = []): Promise<{ adopted: number }> {
      return db.transaction().execute(async (trx) => {
        // Touching the head first takes the write lock, as an append does: two starts key the chain once.
        await trx
          .updateTable("audit_head")
          .set((eb) => ({ keyed: eb.ref("keyed") }))
          .where("id", "=", 1)
          .execute();
        const head = await trx
          .selectFrom("audit_head")
          .select(["seq", "keyed"])
          .where("id", "=", 1)
          .executeTakeFirstOrThrow();
        if (Number(head.keyed) === 1) return { adopted: 0 };
        if (checkpoints.some((line) => line.trim() && signedBy(key, parseCheckpoint(line)))) {
          throw new Error(
            "the audit chain is marked not keyed, yet checkpoints signed with its key exist: it was keyed before and has been rewritten in the database; it is not keyed again (check it with `azusa audit verify --checkpoints`)",
          );
        }
        let prev = GENESIS_HASH;
        let seq = 0;
        const rows = await trx.selectFrom("audit_event").selectAll().orderBy("seq", "asc").execute();
        for (const raw of rows) {
          const row = { ...raw, seq: Number(raw.seq) };
          if (row.seq !== seq + 1 || row.prev_hash !== prev || hashEvent(row, null) !== row.hash) {
            throw new Error(
              `the audit chain (written before AZUSA_AUDIT_KEY) is broken at event ${seq + 1}; it is not keyed`,
            );
          }
          prev = row.hash;
          seq = row.seq;
        }
        if (seq !== Number(head.seq)) throw new Error(`the audit chain is broken at event ${seq + 1}; it is not keyed`);
        prev = GENESIS_HASH;
        for (const raw of rows) {
          const row = { ...raw, seq: Number(raw.seq), prev_hash: prev };
          prev = hashEvent(row, key);
          await trx
            .updateTable("audit_event")
            .set({ prev_hash: row.prev_hash, hash: prev })
            .where("seq", "=", row.seq)
            .execute();
        }
        await trx.updateTable("audit_head").set({ hash: prev, keyed: 1 }).where("id", "=", 1).execute();
        return { adopted: rows.length };
      });
    },

    /**
     * Checks the chain against checkpoints written outside the database (one JSON object a line): each must
     * be signed with the key and name an event the chain still holds with the same hash, so that removing
     * the newest events and moving the head back is found too.
     */
    async verifyCheckpoints(lines: string[]): Promise<VerifyResult & { checkpoints: number }> {
      const walked = await this.verify();
      if (!walked.ok) return { ...walked, checkpoints: 0 };
      const last = walked.checked;
      let checkpoints = 0;
      for (const [i, line] of lines.entries()) {
        if (!line.trim()) continue;
        const c = parseCheckpoint(line);
        if (!signedBy(key, c)) {
          return {
            ok: false,
            checked: last,
            checkpoints,
            firstBad: { seq: 0, problem: `checkpoint on line ${i + 1} is not signed with this key` },
          };
        }
        if (c.seq > last) {
          return {
            ok: false,
            checked: last,
            checkpoints,
            firstBad: {
              seq: last + 1,
              problem: `removed (the checkpoint of ${c.at} names event ${c.seq}; the chain ends at event ${last})`,
            },
          };
        }
        if (c.seq > 0) {
          const event = await db.selectFrom("audit_event").select("hash").where("seq", "=", c.seq).executeTakeFirst();
          if (event?.hash !== c.hash) {
            return {
              ok: false,
              checked: last,
              checkpoints,
              firstBad: { seq: c.seq, problem: `changed (the checkpoint of ${c.at} names another event ${c.seq})` },
            };
          }
        }
        checkpoints++;
      }
      return { ok: true, checked: last, checkpoints };
    },

    /**
     * Appends one event. Pass `trx` to make the event part of the caller's transaction, so that a
     * change and its audit record land together or not at all.
     */
    async record(
      actor: Actor,
      action: string,
      subject: string,
      details: Record<string, unknown> = {},
      opts: { tenantId?: string | null; trx?: Transaction<Database> } = {},
    ): Promise<number> {
      const tenantId = opts.tenantId ?? (actor.kind === "user" ? actor.tenantId : null);
      if (opts.trx) return append(opts.trx, actor, action, subject, details, tenantId);
      return db.transaction().execute((trx) => append(trx, actor, action, subject, details, tenantId));
    },

    /**
     * Appends several events of one actor in one transaction, chained in the order given, with one
     * move of the chain head: for streams of events such as egress connections.
     */
    async recordMany(
      actor: Actor,
      events: { action: string; subject: string; details: Record<string, unknown>; tenantId: string | null }[],
    ): Promise<void> {
      if (events.length === 0) return;
      await db.transaction().execute(async (trx) => {
        const head = await trx
          .updateTable("audit_head")
          .set((eb) => ({ seq: eb("seq", "+", events.length) }))
          .where("id", "=", 1)
          .returning(["seq", "hash"])
          .executeTakeFirstOrThrow();
        let seq = Number(head.seq) - events.length;
        let prev = head.hash;
        const at = now().toISOString();
        const rows = events.map((e) => {
          seq++;
          const row = {
            seq,
            at,
            ...actorColumns(actor),
            tenant_id: e.tenantId,
            action: e.action,
            subject: e.subject,
            details: JSON.stringify(e.details),
            prev_hash: prev,
          };
          prev = hashEvent(row, key);
          return { ...row, hash: prev };
        });
        // 100 rows of 10 columns stay well under every driver's limit on bound parameters
        for (let i = 0; i < rows.length; i += 100) {
          await trx
            .insertInto("audit_event")
            .values(rows.slice(i, i + 100))
            .execute();
        }
        await trx.updateTable("audit_head").set({ hash: prev }).where("id", "=", 1).execute();
      });
    },

    /** Events newest first; `tenantId` narrows to one tenant's events. */
    async list(opts: { tenantId?: string; limit?: number; beforeSeq?: number } = {}): Promise<AuditEvent[]> {
      let q = db
        .selectFrom("audit_event")
        .selectAll()
        .orderBy("seq", "desc")
        .limit(opts.limit ?? 100);
      if (opts.tenantId) q = q.where("tenant_id", "=", opts.tenantId);
      if (opts.beforeSeq) q = q.where("seq", "<", opts.beforeSeq);
      const rows = await q.execute();
      return rows.map((r) => ({
        seq: Number(r.seq),
        at: r.at,
        actorId: r.actor_id,
        actorRole: r.actor_role,
        tenantId: r.tenant_id,
        action: r.action,
        subject: r.subject,
        details: JSON.parse(r.details) as Record<string, unknown>,
        hash: r.hash,
      }));
    },

    /**
     * Walks the whole chain in order and names the first row that was changed or removed. Links are checked
     * under the key only: a chain marked not keyed is walked by its plain links to name where it breaks, and
     * is refused even when they hold, since anyone who can write the database can mark it so and redo them.
     */
    async verify(): Promise<VerifyResult> {
      const head = await db.selectFrom("audit_head").select("keyed").where("id", "=", 1).executeTakeFirst();
      if (Number(head?.keyed) === 1) return walk(key);
      const plain = await walk(null);
      if (!plain.ok || plain.checked === 0) return plain;
      return {
        ok: false,
        checked: 0,
        firstBad: {
          seq: 1,
          problem:
            "not keyed (plain SHA-256 links, which anyone who can write the database can redo; Azusa keys the chain when it starts, so check this one against the checkpoints)",
        },
      };
    },
  };
}

export type AuditService = ReturnType<typeof createAuditService>;
