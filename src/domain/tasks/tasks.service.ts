// Task batches: a contract's data-entry and checking work, its field schema and the items imported from a CSV.
import { randomUUID } from "node:crypto";
import { parse as parseCsv } from "csv-parse/sync";
import type { Kysely, Transaction } from "kysely";
import type { Database, TaskBatchTable } from "../../db/schema.ts";
import type { Actor } from "../../kernel/actor.ts";
import { fail, forbidden, invalidField, notFound } from "../../kernel/errors.ts";
import { text } from "../../kernel/messages.ts";
import type { AuditService } from "../audit/audit.service.ts";
import { visibleContracts } from "../contracts/contracts.service.ts";
import { tokyoDate } from "../dates.ts";
import type { OrderTerms } from "../delivery/order-document.ts";
import { type Ineligibility, type VettingKind, vettingKinds } from "../matching/matching.ts";
import { normalizeWidth, type TaskField } from "./field-values.ts";
import { taskOrderTerms } from "./task-order.ts";

/** The most items one CSV import may bring; a larger file is refused with 413 before anything is written. */
export const MAX_TASK_ITEMS = 50_000;
/** Items written by one insert statement of an import. */
const IMPORT_CHUNK = 6000;
/** The most fields a batch's schema may declare. */
export const MAX_TASK_FIELDS = 100;

export interface NewTaskBatch {
  title: string;
  fields: TaskField[];
  /** 請負: yen paid per accepted item; null when the work is paid by hours under 準委任. */
  unitPriceYen?: number | null;
  /** The last day documents and sensitive values are kept (YYYY-MM-DD). */
  retentionUntil: string;
  /** Vetting every keyer and deciding lead must hold, besides `my_number` for individual-number fields. */
  vetting?: VettingKind[];
}

export interface TaskBatch {
  id: string;
  contractId: string;
  title: string;
  fields: TaskField[];
  unitPriceYen: number | null;
  retentionUntil: string;
  /** The vetting every keyer and deciding lead must hold, valid on the day they work. */
  vetting: VettingKind[];
  itemCount: number;
  createdBy: string;
  createdAt: string;
}

export interface TaskItem {
  id: string;
  seq: number;
  source: Record<string, string>;
}

/**
 * The vetting a batch needs of its keyers and of the leads deciding its disputes: the kinds it names, and
 * `my_number` whenever a field holds individual numbers (特定個人情報), in `vettingKinds` order.
 */
export function taskBatchVetting(batch: Pick<TaskBatchTable, "fields" | "vetting">): VettingKind[] {
  const named = new Set(JSON.parse(batch.vetting) as VettingKind[]);
  if ((JSON.parse(batch.fields) as TaskField[]).some((f) => f.type === "individual_number")) named.add("my_number");
  return vettingKinds.filter((k) => named.has(k));
}

/**
 * The batch's vetting (its named kinds, `my_number` for individual-number fields) that the user does not hold
 * valid today, each as a reason; empty when they may key or decide it. Leads' vetting is kept apart.
 */
export async function taskVettingGaps(
  db: Kysely<Database>,
  batch: Pick<TaskBatchTable, "fields" | "vetting">,
  userId: string,
  lead = false,
): Promise<Ineligibility[]> {
  const needed = taskBatchVetting(batch);
  if (needed.length === 0) return [];
  const day = tokyoDate(new Date());
  const rows = await db
    .selectFrom(lead ? "lead_vetting" : "vetting_record")
    .select(["kind", "issued_on", "expires_on", "expired_at"])
    .where("user_id", "=", userId)
    .where("kind", "in", needed)
    .where("issued_on", "<=", day)
    .execute();
  const gaps: Ineligibility[] = [];
  for (const kind of needed) {
    const mine = rows.filter((r) => r.kind === kind);
    if (mine.some((r) => r.expired_at == null && r.expires_on >= day)) continue;
    const last =
      mine
        .map((r) => r.expires_on)
        .sort()
        .at(-1) ?? null;
    gaps.push({ rule: "vetting", kind, validUntil: last, neededUntil: day });
  }
  return gaps;
}

const toBatch = (r: TaskBatchTable, itemCount: number): TaskBatch => ({
  id: r.id,
  contractId: r.contract_id,
  title: r.title,
  fields: JSON.parse(r.fields) as TaskField[],
  unitPriceYen: r.unit_price_yen == null ? null : Number(r.unit_price_yen),
  retentionUntil: r.retention_until,
  vetting: taskBatchVetting(r),
  itemCount,
  createdBy: r.created_by,
  createdAt: r.created_at,
});

/** The schema's problems, each naming the field it is about. */
function checkFields(fields: TaskField[]): void {
  if (fields.length === 0) throw invalidField("fields", text("tasks.oneField"));
  if (fields.length > MAX_TASK_FIELDS) throw invalidField("fields", text("tasks.manyFields", { n: MAX_TASK_FIELDS }));
  const seen = new Set<string>();
  fields.forEach((field, i) => {
    const key = normalizeWidth(field.name);
    if (seen.has(key)) throw invalidField(`fields.${i}.name`, text("tasks.secondField", { name: field.name }));
    seen.add(key);
    if (field.type === "choice" && !field.choices?.length) {
      throw invalidField(`fields.${i}.choices`, text("tasks.needsChoices"));
    }
    if (field.type !== "choice" && field.choices !== undefined) {
      throw invalidField(`fields.${i}.choices`, text("tasks.onlyChoice"));
    }
    if (field.type !== "invoice_number" && field.corporateOnly !== undefined) {
      throw invalidField(`fields.${i}.corporateOnly`, text("tasks.corporateOnly"));
    }
  });
}

/**
 * The position of a batch's last item, for adding items after it; refused (409) once its values were disposed of.
 * Touching the batch first takes its row lock: a second addition at once waits here, then numbers its items after
 * these, instead of reading the same last position and colliding on (batch, seq).
 */
export async function lastItemPosition(trx: Transaction<Database>, batchId: string, now: string): Promise<number> {
  await trx.updateTable("task_batch").set({ updated_at: now }).where("id", "=", batchId).execute();
  const disposed = await trx
    .selectFrom("task_disposal")
    .select("id")
    .where("batch_id", "=", batchId)
    .executeTakeFirst();
  if (disposed) throw fail("INVALID_STATE", text("tasks.disposedNoItems"));
  const last = await trx
    .selectFrom("task_item")
    .select((eb) => eb.fn.max("seq").as("seq"))
    .where("batch_id", "=", batchId)
    .executeTakeFirst();
  return Number(last?.seq ?? 0);
}

export function createTaskService({ db, audit }: { db: Kysely<Database>; audit: AuditService }) {
  /** Batches whose contract the actor sees (its tenant's contractors, the leads named on it). */
  const visibleBatches = (actor: Actor) =>
    visibleContracts(db, actor).innerJoin("task_batch", "task_batch.contract_id", "contract.id");

  function requireContractor(actor: Actor): { tenantId: string; userId: string } {
    if (actor.kind !== "user" || actor.role !== "contractor" || !actor.tenantId) {
      throw forbidden(text("tasks.contractorOnly"));
    }
    return { tenantId: actor.tenantId, userId: actor.userId };
  }

  async function counts(batchIds: string[]): Promise<Map<string, number>> {
    if (batchIds.length === 0) return new Map();
    const rows = await db
      .selectFrom("task_item")
      .select(["batch_id", (eb) => eb.fn.countAll<number | string>().as("n")])
      .where("batch_id", "in", batchIds)
      .groupBy("batch_id")
      .execute();
    return new Map(rows.map((r) => [r.batch_id, Number(r.n)]));
  }

  async function batchRow(actor: Actor, id: string): Promise<TaskBatchTable> {
    const row = await visibleBatches(actor).selectAll("task_batch").where("task_batch.id", "=", id).executeTakeFirst();
    if (!row) throw notFound("taskBatch");
    return row;
  }

  /** The contract if the actor sees it; otherwise NOT_FOUND, as for any foreign id. */
  async function contractRow(actor: Actor, contractId: string): Promise<{ id: string; tenant_id: string }> {
    const contract = await visibleContracts(db, actor)
      .select(["contract.id", "contract.tenant_id"])
      .where("contract.id", "=", contractId)
      .executeTakeFirst();
    if (!contract) throw notFound("contract");
    return contract;
  }

  const service = {
    async create(actor: Actor, contractId: string, input: NewTaskBatch): Promise<TaskBatch> {
      const contract = await contractRow(actor, contractId);
      const { userId } = requireContractor(actor);
      checkFields(input.fields);
      const now = new Date().toISOString();
      const row: TaskBatchTable = {
        id: randomUUID(),
        tenant_id: contract.tenant_id,
        contract_id: contract.id,
        title: input.title,
        fields: JSON.stringify(input.fields),
        unit_price_yen: input.unitPriceYen ?? null,
        retention_until: input.retentionUntil,
        vetting: JSON.stringify(vettingKinds.filter((k) => input.vetting?.includes(k))),
        created_by: userId,
        created_at: now,
        updated_at: now,
      };
      await db.transaction().execute(async (trx) => {
        await trx.insertInto("task_batch").values(row).execute();
        await audit.record(
          actor,
          "task_batch.created",
          `task_batch:${row.id}`,
          { contractId, title: row.title, fields: input.fields.length },
          { trx },
        );
      });
      return toBatch(row, 0);
    },

    async list(actor: Actor, contractId: string): Promise<TaskBatch[]> {
      await contractRow(actor, contractId);
      const rows = await visibleBatches(actor)
        .selectAll("task_batch")
        .where("task_batch.contract_id", "=", contractId)
        .orderBy("task_batch.created_at", "desc")
        .execute();
      const n = await counts(rows.map((r) => r.id));
      return rows.map((r) => toBatch(r, n.get(r.id) ?? 0));
    },

    /**
     * The contract's batches (as `list`) with their items counted by state and their kind: "documents" when its
     * items were made from uploaded documents, else "csv". For the contractor's batch page.
     */
    async overview(
      actor: Actor,
      contractId: string,
    ): Promise<(TaskBatch & { kind: "csv" | "documents"; states: Record<string, number> })[]> {
      const batches = await service.list(actor, contractId);
      if (batches.length === 0) return [];
      const ids = batches.map((b) => b.id);
      const states = await db
        .selectFrom("task_item")
        .select(["batch_id", "state", (eb) => eb.fn.countAll<number | string>().as("n")])
        .where("batch_id", "in", ids)
        .groupBy(["batch_id", "state"])
        .execute();
      const documents = await db
        .selectFrom("task_document")
        .select("batch_id")
        .distinct()
        .where("batch_id", "in", ids)
        .execute();
      const withDocuments = new Set(documents.map((d) => d.batch_id));
      return batches.map((b) => ({
        ...b,
        kind: withDocuments.has(b.id) ? "documents" : "csv",
        states: Object.fromEntries(states.filter((s) => s.batch_id === b.id).map((s) => [s.state, Number(s.n)])),
      }));
    },

    /** The order document's terms of a keyer's unit-priced work on the batch (see task-order.ts). */
    order(actor: Actor, batchId: string, keyerId: string): Promise<OrderTerms> {
      return taskOrderTerms(db, actor, batchId, keyerId);
    },

    /** The batch if the actor sees its contract; otherwise NOT_FOUND, as if it did not exist. */
    async get(actor: Actor, id: string): Promise<TaskBatch> {
      const row = await batchRow(actor, id);
      return toBatch(row, (await counts([id])).get(id) ?? 0);
    },

    /**
     * Adds the rows of a CSV (a header row naming schema fields, then one item per row) after the
     * batch's items. All rows or none: a file with any problem writes nothing.
     */
    async importCsv(actor: Actor, batchId: string, csv: string): Promise<{ imported: number; itemCount: number }> {
      const batch = await batchRow(actor, batchId);
      requireContractor(actor);
      const fields = JSON.parse(batch.fields) as TaskField[];
      let records: string[][];
      try {
        records = parseCsv(csv.replace(/^\uFEFF/u, ""), {
          skip_empty_lines: true,
          relax_column_count: false,
          to: MAX_TASK_ITEMS + 2,
        }) as string[][];
      } catch (err) {
        throw invalidField("csv", text("tasks.notCsv", { reason: (err as Error).message.split("\n")[0] ?? "" }));
      }
      const [header, ...rows] = records;
      if (!header) throw invalidField("csv", text("wbs.fileEmpty"));
      if (rows.length > MAX_TASK_ITEMS) {
        throw fail("PAYLOAD_TOO_LARGE", text("tasks.manyItems", { n: MAX_TASK_ITEMS }));
      }
      if (rows.length === 0) throw invalidField("csv", text("tasks.noRows"));
      const byName = new Map(fields.map((f) => [normalizeWidth(f.name), f]));
      const names = header.map((h) => normalizeWidth(h));
      names.forEach((name, i) => {
        const field = byName.get(name);
        if (!field) throw invalidField("csv", text("tasks.unknownColumn", { n: i + 1, name: header[i] ?? "" }));
        // Individual numbers are keyed on the entry form, never imported in clear.
        if (field.type === "individual_number") {
          throw invalidField("csv", text("tasks.individualNumber", { n: i + 1, name: header[i] ?? "" }));
        }
      });
      if (new Set(names).size !== names.length) throw invalidField("csv", text("tasks.columnTwice"));

      const now = new Date().toISOString();
      return db.transaction().execute(async (trx) => {
        const start = await lastItemPosition(trx, batchId, now);
        const values = rows.map((row, r) => ({
          id: randomUUID(),
          batch_id: batchId,
          seq: start + r + 1,
          source: JSON.stringify(Object.fromEntries(names.map((name, i) => [name, row[i] ?? ""]))),
          created_at: now,
        }));
        // Few, large statements (each a prepared statement and a round trip), each under both databases'
        // bound-parameter limits: 5 columns × 6,000 rows = 30,000, below SQLite's 32,766 and PostgreSQL's 65,535.
        for (let i = 0; i < values.length; i += IMPORT_CHUNK) {
          await trx
            .insertInto("task_item")
            .values(values.slice(i, i + IMPORT_CHUNK))
            .execute();
        }
        await audit.record(
          actor,
          "task_batch.items_imported",
          `task_batch:${batchId}`,
          { items: values.length },
          { trx },
        );
        return { imported: values.length, itemCount: start + values.length };
      });
    },

    /** Items of a batch the actor sees, in order, a page at a time. */
    async items(actor: Actor, batchId: string, page: { offset: number; limit: number }): Promise<TaskItem[]> {
      await batchRow(actor, batchId);
      const rows = await db
        .selectFrom("task_item")
        .select(["id", "seq", "source"])
        .where("batch_id", "=", batchId)
        .where("seq", ">", page.offset)
        .orderBy("seq")
        .limit(page.limit)
        .execute();
      return rows.map((r) => ({ id: r.id, seq: Number(r.seq), source: JSON.parse(r.source) }));
    },
  };
  return service;
}

export type TaskService = ReturnType<typeof createTaskService>;
