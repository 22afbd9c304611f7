// What a contract's unit-priced task work (請負) comes to in a month: per keyer and batch, the accepted items whose
// value came from that keyer's entry, times the batch's unit price. The settlement (timesheets/settlements.service.ts)
// shows these as its task lines.
import { sql } from "kysely";
import type { Executor } from "../../db/schema.ts";

/** One keyer's paid items of one batch in a month. */
export interface TaskPayLine {
  batchId: string;
  title: string;
  engineerId: string;
  engineerName: string;
  /** Items accepted in the month whose accepted values are this keyer's entry. */
  acceptedItems: number;
  unitPriceYen: number;
  /** acceptedItems × unitPriceYen. */
  amountYen: number;
}

/**
 * The month's lines of a contract's batches that have a unit price. An item counts for a keyer when it was accepted
 * (agreed, or decided) in the month — [fromIso, toIso), the later entry's sending for an agreed item, the decision
 * for a decided one — and the keyer's entry equals the accepted values: both keyers of an agreed item, the keyers
 * whose entry the decision matched for a decided one. Items still open or disputed count for nobody yet.
 */
export async function taskPayLines(
  db: Executor,
  contractId: string,
  fromIso: string,
  toIso: string,
): Promise<TaskPayLine[]> {
  const acceptedAt = sql<string>`coalesce(task_item.adjudicated_at, (select max(other.submitted_at) from task_entry as other where other.item_id = task_item.id))`;
  const rows = await db
    .selectFrom("task_entry")
    .innerJoin("task_item", "task_item.id", "task_entry.item_id")
    .innerJoin("task_batch", "task_batch.id", "task_entry.batch_id")
    .innerJoin("user", "user.id", "task_entry.user_id")
    .select([
      "task_batch.id as batchId",
      "task_batch.title",
      "task_batch.unit_price_yen as unitPriceYen",
      "task_entry.user_id as engineerId",
      "user.name as engineerName",
      (eb) => eb.fn.countAll<number | string>().as("n"),
    ])
    .where("task_batch.contract_id", "=", contractId)
    .where("task_batch.unit_price_yen", "is not", null)
    .where("task_item.state", "in", ["agreed", "adjudicated"])
    .where("task_entry.agreed", "=", 1)
    .where(acceptedAt, ">=", fromIso)
    .where(acceptedAt, "<", toIso)
    .groupBy(["task_batch.id", "task_batch.title", "task_batch.unit_price_yen", "task_entry.user_id", "user.name"])
    .execute();
  return rows
    .map((r) => {
      const acceptedItems = Number(r.n);
      const unitPriceYen = Number(r.unitPriceYen);
      return {
        batchId: r.batchId,
        title: r.title,
        engineerId: r.engineerId,
        engineerName: r.engineerName,
        acceptedItems,
        unitPriceYen,
        amountYen: acceptedItems * unitPriceYen,
      };
    })
    .sort((a, b) => a.engineerName.localeCompare(b.engineerName) || a.title.localeCompare(b.title));
}
