// A closed month keeps its 請負 task lines (per keyer and batch, accepted items × unit price) as they were at the
// close, beside the 準委任 settlements: what was invoiced does not follow later changes to the batches.
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  // the month's TaskPayLine[] as JSON, as closed; null for a month closed before the lines were kept
  await db.schema.alterTable("settlement_close").addColumn("task_lines", "text").execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("settlement_close").dropColumn("task_lines").execute();
}
