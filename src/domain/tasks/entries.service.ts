// Double entry of task items: two different keyers each key an item without seeing the other's entry; equal
// entries are accepted, differing ones wait for a lead of the contract, who decides with both shown.
// Values of individual-number fields (特定個人情報) are sealed at rest under a key kept outside the database,
// shown in full only to the lead deciding a dispute, masked to the last four digits everywhere else, and every
// showing of them is an audit event naming the person, the items and the purpose.
import { randomUUID } from "node:crypto";
import { type Kysely, PostgresAdapter, sql } from "kysely";
import type { Sealer } from "../../auth/sealed.ts";
import type { Database, TaskBatchTable } from "../../db/schema.ts";
import type { Actor } from "../../kernel/actor.ts";
import { AppError, fail, forbidden, invalidField, notFound } from "../../kernel/errors.ts";
import { codeOf, text } from "../../kernel/messages.ts";
import type { AuditService } from "../audit/audit.service.ts";
import { visibleContracts } from "../contracts/contracts.service.ts";
import { describeIneligibility, ineligibilityText } from "../matching/matching.ts";
import { adjudicatedBatches, holdsAdjudicatorGrant } from "./adjudicators.service.ts";
import { deleteDocuments } from "./documents.service.ts";
import { normalizeWidth, readFieldValue, type TaskField } from "./field-values.ts";
import { taskVettingGaps } from "./tasks.service.ts";

/** Where an item stands: fewer than two entries in, both equal, different (waiting for a lead), decided. */
export const taskItemStates = ["open", "agreed", "disputed", "adjudicated"] as const;
export type TaskItemState = (typeof taskItemStates)[number];

/** Keyed values by field name, as stored after reading (canonical forms). */
export type TaskValues = Record<string, string>;

/** The places sealed task values are stored in, as the context their sealing is bound to. */
export const taskSealContext = {
  entry: (entryId: string, field: string) => `task_entry:${entryId}:${field}`,
  result: (itemId: string, field: string) => `task_item:${itemId}:result:${field}`,
};

/** An individual number as shown outside entry and adjudication: its last four digits only. */
export const maskIndividualNumber = (value: string): string => (value === "" ? "" : `********${value.slice(-4)}`);

export interface TakenItem {
  batchId: string;
  title: string;
  fields: TaskField[];
  item: { id: string; seq: number; source: Record<string, string> } | null;
}

/** The 削除・廃棄記録 of a batch. */
export interface TaskDisposal {
  batchId: string;
  reason: "retention_end" | "request";
  /** Items deleted, with their source rows and accepted values. */
  items: number;
  /** Entries deleted. */
  entries: number;
  /** Individual numbers destroyed (each stored value, in entries and accepted values). */
  individualNumbers: number;
  /** Document pages destroyed (the images of document items; a PDF was kept only as its pages). */
  documents: number;
  method: string;
  disposedBy: string;
  disposedAt: string;
}

/** How a batch's values are destroyed, as the record states it. */
export const DISPOSAL_METHOD =
  "rows deleted from the database (items, document pages, entries, accepted values); individual numbers and document pages were stored sealed under a key kept outside the database";

export interface KeyerStats {
  userId: string;
  name: string;
  /** Entries sent. */
  itemsDone: number;
  /** Of those, entries on items already settled (agreed or decided). */
  settled: number;
  /** Settled entries that matched the accepted values. */
  agreed: number;
  /** agreed / settled, or null while nothing is settled. */
  agreementRate: number | null;
  /** Median seconds from taking an item to sending its entry, or null with no entry sent. */
  medianSecondsPerItem: number | null;
}

const fieldsOf = (batch: Pick<TaskBatchTable, "fields">) => JSON.parse(batch.fields) as TaskField[];
const isSecret = (field: TaskField) => field.type === "individual_number";
const hasSecrets = (fields: TaskField[]) => fields.some(isSecret);

/** How long a keyer may hold an item without sending it before it is given back, unless configured. */
export const DEFAULT_TASK_HOLD_MS = 30 * 60_000;

export function createTaskEntryService({
  db,
  audit,
  sealer,
  holdMs = DEFAULT_TASK_HOLD_MS,
}: {
  db: Kysely<Database>;
  audit: AuditService;
  sealer: Sealer;
  /** An item taken and not sent for this long is given back (`reclaimOverdue`), for another keyer. */
  holdMs?: number;
}) {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  const reclaimedError = () =>
    fail("CONFLICT", text("tasks.reclaimed", { minutes: Math.round((holdMs / 60_000) * 10) / 10 }));

  /** Values with individual numbers sealed for their place. */
  function seal(fields: TaskField[], values: TaskValues, context: (field: string) => string): string {
    const stored: TaskValues = {};
    for (const field of fields) {
      const value = values[field.name] ?? "";
      stored[field.name] = isSecret(field) && value !== "" ? sealer.seal(value, context(field.name)) : value;
    }
    return JSON.stringify(stored);
  }

  function open(fields: TaskField[], stored: string, context: (field: string) => string): TaskValues {
    const values = JSON.parse(stored) as TaskValues;
    for (const field of fields) {
      const value = values[field.name];
      if (isSecret(field) && value) values[field.name] = sealer.open(value, context(field.name));
    }
    return values;
  }

  function mask(fields: TaskField[], values: TaskValues): TaskValues {
    const shown = { ...values };
    for (const field of fields) {
      const value = shown[field.name];
      if (isSecret(field) && value) shown[field.name] = maskIndividualNumber(value);
    }
    return shown;
  }

  /** Every field of the schema read from what was keyed; the first wrong one is named as `values.<name>`. */
  function read(fields: TaskField[], keyed: Record<string, string>): TaskValues {
    const byName = new Map(fields.map((f) => [normalizeWidth(f.name), f]));
    for (const name of Object.keys(keyed)) {
      if (!byName.has(normalizeWidth(name))) throw invalidField(`values.${name}`, text("task.notAField"));
    }
    const given = new Map(Object.entries(keyed).map(([k, v]) => [normalizeWidth(k), v]));
    const values: TaskValues = {};
    for (const field of fields) {
      const reading = readFieldValue(field, given.get(normalizeWidth(field.name)) ?? "");
      if (!reading.ok) throw invalidField(`values.${field.name}`, text(`task.refusal.${reading.refusal}`));
      values[field.name] = reading.value;
    }
    return values;
  }

  const same = (fields: TaskField[], a: TaskValues, b: TaskValues) =>
    fields.every((f) => (a[f.name] ?? "") === (b[f.name] ?? ""));

  /** The batch if its contract is the actor's to manage (its contractors, the leads named on it). */
  async function managedBatch(actor: Actor, batchId: string): Promise<TaskBatchTable> {
    const row = await visibleContracts(db, actor)
      .innerJoin("task_batch", "task_batch.contract_id", "contract.id")
      .selectAll("task_batch")
      .where("task_batch.id", "=", batchId)
      .executeTakeFirst();
    if (!row) throw notFound("taskBatch");
    return row;
  }

  /** The batch if the actor is one of its keyers; NOT_FOUND otherwise, as for any foreign id. */
  async function keyedBatch(actor: Actor, batchId: string): Promise<TaskBatchTable> {
    if (actor.kind !== "user" || actor.role !== "engineer") throw notFound("taskBatch");
    const row = await db
      .selectFrom("task_batch")
      .innerJoin("task_keyer", "task_keyer.batch_id", "task_batch.id")
      .selectAll("task_batch")
      .where("task_batch.id", "=", batchId)
      .where("task_keyer.user_id", "=", actor.userId)
      .executeTakeFirst();
    if (!row) throw notFound("taskBatch");
    return row;
  }

  const vettingGaps = (batch: Pick<TaskBatchTable, "fields" | "vetting">, userId: string, lead = false) =>
    taskVettingGaps(db, batch, userId, lead);

  /** Refuses (403, with the reasons) a keyer or lead whose vetting for the batch is missing or lapsed. */
  async function requireVetted(batch: Pick<TaskBatchTable, "fields" | "vetting">, userId: string, lead = false) {
    const gaps = await vettingGaps(batch, userId, lead);
    if (gaps.length) {
      throw fail("FORBIDDEN", text("tasks.notVetted", { why: gaps.map(ineligibilityText) }));
    }
  }

  const userOf = (actor: Actor) => {
    if (actor.kind !== "user") throw forbidden();
    return actor;
  };

  /** A lead named on the contract: the one who decides disputes and sees per-person figures. */
  function requireLead(actor: Actor): void {
    if (actor.kind !== "user" || actor.role !== "lead") {
      throw forbidden(text("tasks.leadDecides"));
    }
  }

  /**
   * The batch if the actor decides its disputes: a lead named on the contract, or an engineer holding a grant for
   * it (adjudicators.service.ts), each with the batch's vetting valid today (403 with the reasons otherwise).
   * Contractors get 403; everyone else 404, as for a foreign id.
   */
  async function decidingBatch(actor: Actor, batchId: string): Promise<TaskBatchTable> {
    if (actor.kind === "user" && actor.role === "engineer") {
      const batch = await db.selectFrom("task_batch").selectAll().where("id", "=", batchId).executeTakeFirst();
      if (!batch || !(await holdsAdjudicatorGrant(db, actor.userId, batch))) throw notFound("taskBatch");
      await requireVetted(batch, actor.userId);
      return batch;
    }
    const batch = await managedBatch(actor, batchId);
    requireLead(actor);
    await requireVetted(batch, userOf(actor).userId, true);
    return batch;
  }

  /** The item and its batch if the actor decides the batch's disputes; never an engineer's own item (403). */
  async function decidingItem(actor: Actor, itemId: string) {
    const item = await db.selectFrom("task_item").selectAll().where("id", "=", itemId).executeTakeFirst();
    if (!item) throw notFound("taskItem");
    const batch = await decidingBatch(actor, item.batch_id).catch((err) => {
      throw err instanceof AppError && err.code === "NOT_FOUND" ? notFound("taskItem") : err;
    });
    if (actor.kind === "user" && actor.role === "engineer") {
      const own = await db
        .selectFrom("task_entry")
        .select("id")
        .where("item_id", "=", itemId)
        .where("user_id", "=", actor.userId)
        .executeTakeFirst();
      if (own) throw forbidden(text("tasks.ownItem"));
    }
    return { item, batch };
  }

  async function disposalOf(batchId: string): Promise<TaskDisposal | null> {
    const r = await db.selectFrom("task_disposal").selectAll().where("batch_id", "=", batchId).executeTakeFirst();
    return r
      ? {
          batchId: r.batch_id,
          reason: r.reason as TaskDisposal["reason"],
          items: Number(r.items),
          entries: Number(r.entries),
          individualNumbers: Number(r.individual_numbers),
          documents: Number(r.documents),
          method: r.method,
          disposedBy: r.disposed_by,
          disposedAt: r.disposed_at,
        }
      : null;
  }

  /** Destroys a batch's items, entries and accepted values and keeps the record; once only. */
  async function destroy(actor: Actor, batch: TaskBatchTable, reason: TaskDisposal["reason"]): Promise<TaskDisposal> {
    const fields = fieldsOf(batch);
    const secretNames = fields.filter(isSecret).map((f) => f.name);
    const by = actor.kind === "user" ? actor.userId : `system:${actor.name}`;
    const countSecrets = (stored: string | null) => {
      if (!stored || secretNames.length === 0) return 0;
      const values = JSON.parse(stored) as TaskValues;
      return secretNames.filter((name) => values[name]).length;
    };
    await db.transaction().execute(async (trx) => {
      // Taking the batch's row first: a second disposal at once waits here, then finds the record.
      await trx
        .updateTable("task_batch")
        .set({ updated_at: new Date().toISOString() })
        .where("id", "=", batch.id)
        .execute();
      const done = await trx
        .selectFrom("task_disposal")
        .select("id")
        .where("batch_id", "=", batch.id)
        .executeTakeFirst();
      if (done) throw fail("INVALID_STATE", text("tasks.alreadyDisposed"));
      let individualNumbers = 0;
      let entries = 0;
      for (const e of await trx.selectFrom("task_entry").select("values").where("batch_id", "=", batch.id).execute()) {
        entries++;
        individualNumbers += countSecrets(e.values);
      }
      const results = await trx
        .selectFrom("task_item")
        .select("result")
        .where("batch_id", "=", batch.id)
        .where("result", "is not", null)
        .execute();
      for (const r of results) individualNumbers += countSecrets(r.result);
      await trx.deleteFrom("task_entry").where("batch_id", "=", batch.id).execute();
      const documents = await deleteDocuments(trx, batch.id);
      const items = await trx.deleteFrom("task_item").where("batch_id", "=", batch.id).executeTakeFirst();
      const record = {
        id: randomUUID(),
        batch_id: batch.id,
        tenant_id: batch.tenant_id,
        reason,
        items: Number(items.numDeletedRows),
        entries,
        individual_numbers: individualNumbers,
        documents,
        method: DISPOSAL_METHOD,
        disposed_by: by,
        disposed_at: new Date().toISOString(),
      };
      await trx.insertInto("task_disposal").values(record).execute();
      await audit.record(
        actor,
        "task_batch.disposed",
        `task_batch:${batch.id}`,
        { reason, items: record.items, entries, individualNumbers, documents },
        { trx, tenantId: batch.tenant_id },
      );
    });
    return (await disposalOf(batch.id)) as TaskDisposal;
  }

  const service = {
    /**
     * Destroys the batch's documents and sensitive values on a contractor's request, before its retention
     * end, and keeps the disposal record. Refused (409) when already done.
     */
    async dispose(actor: Actor, batchId: string): Promise<TaskDisposal> {
      const batch = await managedBatch(actor, batchId);
      if (actor.kind !== "user" || actor.role !== "contractor") {
        throw forbidden(text("tasks.contractorDisposes"));
      }
      return destroy(actor, batch, "request");
    },

    /** The batch's disposal record, or null while its values are kept. */
    async disposal(actor: Actor, batchId: string): Promise<TaskDisposal | null> {
      await managedBatch(actor, batchId);
      return disposalOf(batchId);
    },

    /** Disposes of every batch whose retention end (its last day, in Tokyo) has passed; returns how many. */
    async disposeExpired(actor: Actor, today: string): Promise<number> {
      const due = await db
        .selectFrom("task_batch")
        .selectAll()
        .where("retention_until", "<", today)
        .where((eb) =>
          eb.not(eb.exists(eb.selectFrom("task_disposal").select("id").whereRef("batch_id", "=", "task_batch.id"))),
        )
        .execute();
      let n = 0;
      for (const batch of due) {
        try {
          await destroy(actor, batch, "retention_end");
          n++;
        } catch (err) {
          // Another process disposed of it between the read and now.
          if (!(err instanceof AppError && err.code === "INVALID_STATE")) throw err;
        }
      }
      return n;
    },

    /** Names an engineer as a keyer of the batch (its contractors and leads). Naming one twice is a no-op. */
    async addKeyer(
      actor: Actor,
      batchId: string,
      engineerId: string,
    ): Promise<{ userId: string; name: string; why: string[] }[]> {
      const batch = await managedBatch(actor, batchId);
      const { userId } = userOf(actor);
      if (actor.kind === "user" && actor.role !== "contractor" && actor.role !== "lead") throw forbidden();
      const engineer = await db
        .selectFrom("user")
        .select(["id", "name"])
        .where("id", "=", engineerId)
        .where("role", "=", "engineer")
        .executeTakeFirst();
      if (!engineer) throw invalidField("engineerId", text("tasks.noEngineer"));
      const gaps = await vettingGaps(batch, engineer.id);
      if (gaps.length) {
        throw fail(
          "CONFLICT",
          text("tasks.keyerNotVetted", { name: engineer.name, why: gaps.map(ineligibilityText) }),
          {
            why: gaps.map(describeIneligibility),
          },
        );
      }
      await db.transaction().execute(async (trx) => {
        const added = await trx
          .insertInto("task_keyer")
          .values({ batch_id: batchId, user_id: engineerId, added_by: userId, added_at: new Date().toISOString() })
          .onConflict((oc) => oc.columns(["batch_id", "user_id"]).doNothing())
          .executeTakeFirst();
        if (Number(added.numInsertedOrUpdatedRows ?? 0) > 0) {
          await audit.record(actor, "task_batch.keyer_added", `task_batch:${batchId}`, { engineerId }, { trx });
        }
      });
      return service.keyers(actor, batch.id);
    },

    /** The batch's keyers, each with why they may not key it today (vetting missing or lapsed; empty: may). */
    async keyers(actor: Actor, batchId: string): Promise<{ userId: string; name: string; why: string[] }[]> {
      const batch = await managedBatch(actor, batchId);
      const rows = await db
        .selectFrom("task_keyer")
        .innerJoin("user", "user.id", "task_keyer.user_id")
        .select(["user.id", "user.name"])
        .where("task_keyer.batch_id", "=", batchId)
        .orderBy("task_keyer.added_at")
        .execute();
      return Promise.all(
        rows.map(async (r) => ({
          userId: r.id,
          name: r.name,
          why: (await vettingGaps(batch, r.id)).map(describeIneligibility),
        })),
      );
    },

    /** The batches the engineer keys, with how many items are still open to them. */
    async myBatches(actor: Actor): Promise<{ id: string; title: string; fields: TaskField[]; done: number }[]> {
      if (actor.kind !== "user" || actor.role !== "engineer") return [];
      const rows = await db
        .selectFrom("task_keyer")
        .innerJoin("task_batch", "task_batch.id", "task_keyer.batch_id")
        .select(["task_batch.id", "task_batch.title", "task_batch.fields"])
        .where("task_keyer.user_id", "=", actor.userId)
        .orderBy("task_batch.created_at", "desc")
        .execute();
      if (rows.length === 0) return [];
      const done = await db
        .selectFrom("task_entry")
        .select(["batch_id", (eb) => eb.fn.countAll<number | string>().as("n")])
        .where("user_id", "=", actor.userId)
        .where("submitted_at", "is not", null)
        .groupBy("batch_id")
        .execute();
      const doneBy = new Map(done.map((d) => [d.batch_id, Number(d.n)]));
      return rows.map((r) => ({ id: r.id, title: r.title, fields: fieldsOf(r), done: doneBy.get(r.id) ?? 0 }));
    },

    /**
     * The batches whose disputes the actor decides, with the disputes waiting for them: a lead's, those of the
     * contracts naming them; an engineer's, those they hold a grant for, without the items they keyed.
     */
    async disputedBatches(actor: Actor): Promise<{ id: string; title: string; disputed: number }[]> {
      if (actor.kind === "user" && actor.role === "engineer") {
        const userId = actor.userId;
        const rows = await adjudicatedBatches(db, userId)
          .leftJoin("task_item", (j) =>
            j
              .onRef("task_item.batch_id", "=", "task_batch.id")
              .on("task_item.state", "=", "disputed")
              .on(noEntryOf(userId, "task_item.id")),
          )
          .select(["task_batch.id", "task_batch.title", (eb) => eb.fn.count<number | string>("task_item.id").as("n")])
          .groupBy(["task_batch.id", "task_batch.title", "task_batch.created_at"])
          .orderBy("task_batch.created_at", "desc")
          .execute();
        return rows.map((r) => ({ id: r.id, title: r.title, disputed: Number(r.n) }));
      }
      requireLead(actor);
      const rows = await visibleContracts(db, actor)
        .innerJoin("task_batch", "task_batch.contract_id", "contract.id")
        .leftJoin("task_item", (j) =>
          j.onRef("task_item.batch_id", "=", "task_batch.id").on("task_item.state", "=", "disputed"),
        )
        .select(["task_batch.id", "task_batch.title", (eb) => eb.fn.count<number | string>("task_item.id").as("n")])
        .groupBy(["task_batch.id", "task_batch.title", "task_batch.created_at"])
        .orderBy("task_batch.created_at", "desc")
        .execute();
      return rows.map((r) => ({ id: r.id, title: r.title, disputed: Number(r.n) }));
    },

    /** The field schema of a batch whose disputes the actor decides. */
    async decisionFields(actor: Actor, batchId: string): Promise<TaskField[]> {
      return fieldsOf(await decidingBatch(actor, batchId));
    },

    /** The first disputed item of a batch the actor decides (never one an engineer keyed), or null when none waits. */
    async nextDispute(actor: Actor, batchId: string): Promise<string | null> {
      await decidingBatch(actor, batchId);
      let q = db.selectFrom("task_item").select("id").where("batch_id", "=", batchId).where("state", "=", "disputed");
      if (actor.kind === "user" && actor.role === "engineer") q = q.where(noEntryOf(actor.userId, "task_item.id"));
      const row = await q.orderBy("seq").limit(1).executeTakeFirst();
      return row?.id ?? null;
    },

    /**
     * The next item for a keyer: the one they already hold, else the first open item with fewer than two
     * entries taken and none of theirs. Taking raises the item's count only while it is below two, so two
     * keyers at once never make a third entry. `item` is null when nothing is left for them.
     */
    async take(actor: Actor, batchId: string): Promise<TakenItem> {
      if (actor.kind !== "user" || actor.role !== "engineer") throw notFound("taskBatch");
      const userId = actor.userId;
      // The batch (if the actor keys it) and the item they hold, if any, in one statement: a take is the commonest
      // request of task work, and on SQLite every statement waits its turn on the one connection.
      const batch = await db
        .selectFrom("task_batch")
        .innerJoin("task_keyer", "task_keyer.batch_id", "task_batch.id")
        .selectAll("task_batch")
        .select((eb) =>
          eb
            .selectFrom("task_entry")
            .select("task_entry.item_id")
            .where("task_entry.batch_id", "=", batchId)
            .where("task_entry.user_id", "=", userId)
            .where("task_entry.submitted_at", "is", null)
            .where("task_entry.reclaimed_at", "is", null)
            .orderBy("task_entry.taken_at")
            .limit(1)
            .as("held_id"),
        )
        .where("task_batch.id", "=", batchId)
        .where("task_keyer.user_id", "=", userId)
        .executeTakeFirst();
      if (!batch) throw notFound("taskBatch");
      await requireVetted(batch, userId);
      const answer = (item: { id: string; seq: number; source: string } | undefined): TakenItem => ({
        batchId,
        title: batch.title,
        fields: fieldsOf(batch),
        item: item ? { id: item.id, seq: Number(item.seq), source: JSON.parse(item.source) } : null,
      });
      // A keyer holds one item at most (a take gives back the held one before any other).
      const held = batch.held_id
        ? await db
            .selectFrom("task_item")
            .select(["id", "seq", "source"])
            .where("id", "=", batch.held_id)
            .executeTakeFirst()
        : undefined;
      if (held) return answer(held);
      // One statement finds the first free place and takes it (on PostgreSQL skipping items another keyer is
      // taking at this moment); a few tries in case the place went between the subquery and the update.
      for (let attempt = 0; attempt < 20; attempt++) {
        const took = await db
          .transaction()
          .execute(async (trx) => {
            const claimed = await trx
              .updateTable("task_item")
              .set((eb) => ({ claims: eb("claims", "+", 1) }))
              .where("id", "=", (eb) => {
                const first = eb
                  .selectFrom("task_item as free")
                  .select("free.id")
                  .where("free.batch_id", "=", batchId)
                  .where("free.state", "=", "open")
                  .where("free.claims", "<", 2)
                  .where(noEntryOf(userId, "free.id"))
                  .orderBy("free.seq")
                  .limit(1);
                return postgres ? first.forUpdate().skipLocked() : first;
              })
              .where("claims", "<", 2)
              .returning(["id", "seq", "source"])
              .executeTakeFirst();
            if (!claimed) return null;
            const inserted = await trx
              .insertInto("task_entry")
              .values({
                id: randomUUID(),
                batch_id: batchId,
                item_id: claimed.id,
                user_id: userId,
                values: null,
                taken_at: new Date().toISOString(),
                submitted_at: null,
                agreed: null,
              })
              .onConflict((oc) => oc.columns(["item_id", "user_id"]).doNothing())
              .executeTakeFirst();
            if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 0) throw new RetryTake();
            return claimed;
          })
          .catch((err) => {
            if (err instanceof RetryTake) return undefined;
            throw err;
          });
        if (took) return answer(took);
        // On SQLite the statement ran alone: nothing taken is nothing left. On PostgreSQL the free places may all
        // be being taken by others at this moment (skipped as locked): look again unless none is left.
        if (took === null && !postgres) return answer(undefined);
        if (took === null) {
          const left = await db
            .selectFrom("task_item")
            .select("id")
            .where("batch_id", "=", batchId)
            .where("state", "=", "open")
            .where("claims", "<", 2)
            .where(noEntryOf(userId, "task_item.id"))
            .limit(1)
            .executeTakeFirst();
          if (!left) return answer(undefined);
        }
      }
      throw fail("CONFLICT", text("tasks.busy"));
    },

    /**
     * The schedule's pass: every item taken and not sent for longer than the hold is given back, so that
     * another keyer may take it; the entry stays, marked, so that its keyer's late send is refused with the
     * reason. Each is audited (`task_item.reclaimed`). Returns how many were given back.
     */
    async reclaimOverdue(actor: Actor, now = new Date()): Promise<number> {
      const cutoff = new Date(now.getTime() - holdMs).toISOString();
      const overdue = await db
        .selectFrom("task_entry")
        .innerJoin("task_batch", "task_batch.id", "task_entry.batch_id")
        .select(["task_entry.id", "task_entry.item_id", "task_entry.user_id", "task_entry.taken_at"])
        .select(["task_batch.id as batchId", "task_batch.tenant_id"])
        .where("task_entry.submitted_at", "is", null)
        .where("task_entry.taken_at", "<", cutoff)
        .where("task_entry.reclaimed_at", "is", null)
        .execute();
      let n = 0;
      for (const e of overdue) {
        await db.transaction().execute(async (trx) => {
          // The same order as a send (item, then entry): a send at this moment wins or is refused, never both.
          await trx.updateTable("task_item").set({ state: sql`state` }).where("id", "=", e.item_id).execute();
          const marked = await trx
            .updateTable("task_entry")
            .set({ reclaimed_at: now.toISOString() })
            .where("id", "=", e.id)
            .where("submitted_at", "is", null)
            .where("reclaimed_at", "is", null)
            .executeTakeFirst();
          if (Number(marked.numUpdatedRows) === 0) return;
          await trx
            .updateTable("task_item")
            .set((eb) => ({ claims: eb("claims", "-", 1) }))
            .where("id", "=", e.item_id)
            .execute();
          await audit.record(
            actor,
            "task_item.reclaimed",
            `task_item:${e.item_id}`,
            { batchId: e.batchId, keyerId: e.user_id, takenAt: e.taken_at },
            { trx, tenantId: e.tenant_id },
          );
          n++;
        });
      }
      return n;
    },

    /** Gives back an item taken but not sent, so that another keyer may take it. */
    async release(actor: Actor, itemId: string): Promise<void> {
      const { userId } = userOf(actor);
      await db.transaction().execute(async (trx) => {
        const gone = await trx
          .deleteFrom("task_entry")
          .where("item_id", "=", itemId)
          .where("user_id", "=", userId)
          .where("submitted_at", "is", null)
          .where("reclaimed_at", "is", null)
          .executeTakeFirst();
        if (Number(gone.numDeletedRows) === 0) throw notFound("taskItem");
        await trx
          .updateTable("task_item")
          .set((eb) => ({ claims: eb("claims", "-", 1) }))
          .where("id", "=", itemId)
          .execute();
      });
    },

    /**
     * Sends the keyer's entry of an item they hold. The second entry in settles the item: agreed when both
     * are equal field by field, otherwise disputed for a lead. Answers the entry as stored, masked.
     */
    async submit(
      actor: Actor,
      itemId: string,
      keyed: Record<string, string>,
    ): Promise<{ itemId: string; values: TaskValues; state: TaskItemState }> {
      const { userId } = userOf(actor);
      const entry = await db
        .selectFrom("task_entry")
        .innerJoin("task_batch", "task_batch.id", "task_entry.batch_id")
        .select([
          "task_entry.id",
          "task_entry.batch_id",
          "task_batch.fields",
          "task_batch.vetting",
          "task_batch.tenant_id",
          "task_entry.reclaimed_at",
        ])
        .where("task_entry.item_id", "=", itemId)
        .where("task_entry.user_id", "=", userId)
        .where("task_entry.submitted_at", "is", null)
        .executeTakeFirst();
      if (!entry) throw notFound("taskItem");
      if (entry.reclaimed_at) throw reclaimedError();
      await requireVetted(entry, userId);
      const fields = fieldsOf(entry);
      const values = read(fields, keyed);
      const now = new Date().toISOString();
      const state = await db.transaction().execute(async (trx) => {
        // Locks the item: the two entries of an item are compared by whichever comes second, once. SQLite's
        // transactions already run one at a time on its one connection: the statement would only cost a turn.
        if (postgres) await trx.updateTable("task_item").set({ state: sql`state` }).where("id", "=", itemId).execute();
        const sent = await trx
          .updateTable("task_entry")
          .set({ values: seal(fields, values, (f) => taskSealContext.entry(entry.id, f)), submitted_at: now })
          .where("id", "=", entry.id)
          .where("reclaimed_at", "is", null)
          .executeTakeFirst();
        // Given back between the read above and now: the send is refused like any late one.
        if (Number(sent.numUpdatedRows) === 0) throw reclaimedError();
        const other = await trx
          .selectFrom("task_entry")
          .select(["id", "values"])
          .where("item_id", "=", itemId)
          .where("user_id", "!=", userId)
          .where("submitted_at", "is not", null)
          .executeTakeFirst();
        let state: TaskItemState = "open";
        if (other?.values) {
          const theirs = open(fields, other.values, (f) => taskSealContext.entry(other.id, f));
          const agreed = same(fields, values, theirs);
          state = agreed ? "agreed" : "disputed";
          await trx
            .updateTable("task_item")
            .set({
              state,
              result: agreed ? seal(fields, values, (f) => taskSealContext.result(itemId, f)) : null,
            })
            .where("id", "=", itemId)
            .execute();
          if (agreed) {
            await trx.updateTable("task_entry").set({ agreed: 1 }).where("id", "in", [entry.id, other.id]).execute();
          }
        }
        await audit.record(
          actor,
          "task_entry.submitted",
          `task_item:${itemId}`,
          { batchId: entry.batch_id, state, ...(hasSecrets(fields) ? { individualNumbers: "keyed" } : {}) },
          { trx, tenantId: entry.tenant_id },
        );
        return state;
      });
      return { itemId, values: mask(fields, values), state };
    },

    /**
     * Items of a batch with their state and accepted values, individual numbers masked. Showing masked
     * numbers is still a showing: it is recorded with the items and the purpose.
     */
    async results(
      actor: Actor,
      batchId: string,
      page: { after: number; limit: number; state?: TaskItemState },
    ): Promise<{ id: string; seq: number; state: TaskItemState; values: TaskValues | null }[]> {
      const batch = await managedBatch(actor, batchId);
      const fields = fieldsOf(batch);
      let q = db
        .selectFrom("task_item")
        .select(["id", "seq", "state", "result"])
        .where("batch_id", "=", batchId)
        .where("seq", ">", page.after);
      if (page.state) q = q.where("state", "=", page.state);
      const rows = await q.orderBy("seq").limit(page.limit).execute();
      const items = rows.map((r) => ({
        id: r.id,
        seq: Number(r.seq),
        state: r.state as TaskItemState,
        values: r.result
          ? mask(
              fields,
              open(fields, r.result, (f) => taskSealContext.result(r.id, f)),
            )
          : null,
      }));
      const shown = items.filter((i) => i.values).map((i) => i.id);
      if (hasSecrets(fields) && shown.length) {
        await audit.record(
          actor,
          "task_values.viewed",
          `task_batch:${batchId}`,
          { items: shown, purpose: "results", masked: true },
          { tenantId: batch.tenant_id },
        );
      }
      return items;
    },

    /**
     * The accepted results of a batch (agreed and decided items, in order) as rows for a CSV: a header of
     * `seq` and the field names, then one row per item, individual numbers masked. Recorded as an export.
     */
    async exportRows(actor: Actor, batchId: string, encoding: string): Promise<string[][]> {
      const batch = await managedBatch(actor, batchId);
      const fields = fieldsOf(batch);
      const rows: string[][] = [["seq", ...fields.map((f) => f.name)]];
      for (let after = 0; ; ) {
        const page = await db
          .selectFrom("task_item")
          .select(["id", "seq", "result"])
          .where("batch_id", "=", batchId)
          .where("state", "in", ["agreed", "adjudicated"])
          .where("seq", ">", after)
          .orderBy("seq")
          .limit(5000)
          .execute();
        for (const r of page) {
          const values = mask(
            fields,
            open(fields, r.result ?? "{}", (f) => taskSealContext.result(r.id, f)),
          );
          rows.push([String(r.seq), ...fields.map((f) => values[f.name] ?? "")]);
        }
        if (page.length < 5000) break;
        after = Number(page.at(-1)?.seq);
      }
      await audit.record(
        actor,
        "task_results.exported",
        `task_batch:${batchId}`,
        { items: rows.length - 1, encoding, ...(hasSecrets(fields) ? { purpose: "export", masked: true } : {}) },
        { tenantId: batch.tenant_id },
      );
      return rows;
    },

    /** A disputed item with both entries in full, for the lead who decides it; the showing is recorded. */
    async adjudication(
      actor: Actor,
      itemId: string,
    ): Promise<{
      itemId: string;
      seq: number;
      state: TaskItemState;
      fields: TaskField[];
      source: Record<string, string>;
      entries: { userId: string; name: string; values: TaskValues }[];
    }> {
      const { item, batch } = await decidingItem(actor, itemId);
      if (item.state !== "disputed")
        throw fail("INVALID_STATE", text("tasks.notDisputed", { state: codeOf("item", item.state) }));
      const fields = fieldsOf(batch);
      const rows = await db
        .selectFrom("task_entry")
        .innerJoin("user", "user.id", "task_entry.user_id")
        .select(["task_entry.id", "task_entry.values", "user.id as userId", "user.name"])
        .where("task_entry.item_id", "=", itemId)
        .where("task_entry.submitted_at", "is not", null)
        .orderBy("task_entry.submitted_at")
        .execute();
      await audit.record(
        actor,
        "task_values.viewed",
        `task_item:${itemId}`,
        { items: [itemId], purpose: "adjudication", masked: false },
        { tenantId: batch.tenant_id },
      );
      return {
        itemId,
        seq: Number(item.seq),
        state: item.state as TaskItemState,
        fields,
        source: JSON.parse(item.source),
        entries: rows.map((r) => ({
          userId: r.userId,
          name: r.name,
          values: open(fields, r.values ?? "{}", (f) => taskSealContext.entry(r.id, f)),
        })),
      };
    },

    /** The lead's decision on a disputed item: the accepted values; each entry is marked as matching or not. */
    async adjudicate(
      actor: Actor,
      itemId: string,
      keyed: Record<string, string>,
    ): Promise<{ itemId: string; values: TaskValues; state: TaskItemState }> {
      const { item, batch } = await decidingItem(actor, itemId);
      const { userId } = userOf(actor);
      const fields = fieldsOf(batch);
      const values = read(fields, keyed);
      await db.transaction().execute(async (trx) => {
        const decided = await trx
          .updateTable("task_item")
          .set({
            state: "adjudicated",
            result: seal(fields, values, (f) => taskSealContext.result(itemId, f)),
            adjudicated_by: userId,
            adjudicated_at: new Date().toISOString(),
          })
          .where("id", "=", itemId)
          .where("state", "=", "disputed")
          .executeTakeFirst();
        if (Number(decided.numUpdatedRows) === 0) {
          throw fail("INVALID_STATE", text("tasks.notDisputed", { state: codeOf("item", item.state) }));
        }
        const entries = await trx
          .selectFrom("task_entry")
          .select(["id", "values"])
          .where("item_id", "=", itemId)
          .where("submitted_at", "is not", null)
          .execute();
        for (const e of entries) {
          const theirs = open(fields, e.values ?? "{}", (f) => taskSealContext.entry(e.id, f));
          await trx
            .updateTable("task_entry")
            .set({ agreed: same(fields, values, theirs) ? 1 : 0 })
            .where("id", "=", e.id)
            .execute();
        }
        await audit.record(
          actor,
          "task_item.adjudicated",
          `task_item:${itemId}`,
          { batchId: batch.id },
          { trx, tenantId: batch.tenant_id },
        );
      });
      return { itemId, values: mask(fields, values), state: "adjudicated" };
    },

    /**
     * Per keyer: entries sent, agreement with the accepted values, median time per item. For quality only:
     * a keyer sees their own line, a lead named on the contract every line; contractors see none, so that
     * the figures never become a control of anyone's working time.
     */
    async stats(actor: Actor, batchId: string): Promise<KeyerStats[]> {
      let only: string | undefined;
      if (actor.kind === "user" && actor.role === "engineer") {
        await keyedBatch(actor, batchId);
        only = actor.userId;
      } else {
        await managedBatch(actor, batchId);
        if (actor.kind !== "user" || actor.role !== "lead") {
          throw forbidden(text("tasks.perPerson"));
        }
      }
      let q = db
        .selectFrom("task_entry")
        .innerJoin("user", "user.id", "task_entry.user_id")
        .select([
          "task_entry.user_id",
          "user.name",
          "task_entry.taken_at",
          "task_entry.submitted_at",
          "task_entry.agreed",
        ])
        .where("task_entry.batch_id", "=", batchId)
        .where("task_entry.submitted_at", "is not", null);
      if (only) q = q.where("task_entry.user_id", "=", only);
      const rows = await q.execute();
      const by = new Map<string, { name: string; seconds: number[]; settled: number; agreed: number }>();
      for (const r of rows) {
        const s = by.get(r.user_id) ?? { name: r.name, seconds: [], settled: 0, agreed: 0 };
        s.seconds.push((Date.parse(r.submitted_at as string) - Date.parse(r.taken_at)) / 1000);
        if (r.agreed != null) {
          s.settled++;
          s.agreed += Number(r.agreed);
        }
        by.set(r.user_id, s);
      }
      return [...by.entries()]
        .map(([userId, s]) => ({
          userId,
          name: s.name,
          itemsDone: s.seconds.length,
          settled: s.settled,
          agreed: s.agreed,
          agreementRate: s.settled ? s.agreed / s.settled : null,
          medianSecondsPerItem: median(s.seconds),
        }))
        .sort((a, b) => a.name.localeCompare(b.name));
    },
  };
  return service;
}

class RetryTake extends Error {}

/** The item (by its column reference) has no entry of the keyer's, sent or held. */
const noEntryOf = (userId: string, item: string) =>
  sql<boolean>`not exists (select 1 from task_entry where task_entry.item_id = ${sql.ref(item)} and task_entry.user_id = ${userId})`;

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const value =
    sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return Math.round(value * 10) / 10;
}

export type TaskEntryService = ReturnType<typeof createTaskEntryService>;
