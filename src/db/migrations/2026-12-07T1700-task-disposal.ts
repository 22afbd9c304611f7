// The disposal record of a task batch (削除・廃棄記録): what was destroyed, how many, when, by whom and how.
// It outlives the values it speaks of, as the evidence a client's My Number supervisor keeps.
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("task_disposal")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("batch_id", "text", (c) => c.notNull().unique().references("task_batch.id"))
    .addColumn("tenant_id", "text", (c) => c.notNull())
    // retention_end (the batch's last day passed) or request (a contractor asked).
    .addColumn("reason", "text", (c) => c.notNull())
    .addColumn("items", "integer", (c) => c.notNull())
    .addColumn("entries", "integer", (c) => c.notNull())
    .addColumn("individual_numbers", "integer", (c) => c.notNull())
    .addColumn("method", "text", (c) => c.notNull())
    .addColumn("disposed_by", "text", (c) => c.notNull())
    .addColumn("disposed_at", "text", (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("task_disposal").execute();
}
