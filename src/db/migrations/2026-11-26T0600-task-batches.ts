// Task work: batches of items (rows to key or verify) on a contract, each batch with its field schema.
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("task_batch")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("tenant_id", "text", (c) => c.notNull())
    .addColumn("contract_id", "text", (c) => c.notNull().references("contract.id"))
    .addColumn("title", "text", (c) => c.notNull())
    // The field schema as JSON: [{ name, type, required, choices?, corporateOnly? }].
    .addColumn("fields", "text", (c) => c.notNull())
    .addColumn("unit_price_yen", "integer")
    .addColumn("retention_until", "text", (c) => c.notNull())
    .addColumn("created_by", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("task_batch_contract").on("task_batch").column("contract_id").execute();
  await db.schema
    .createTable("task_item")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("batch_id", "text", (c) => c.notNull().references("task_batch.id"))
    // Position in the batch, from 1, in the order the CSV gave the rows.
    .addColumn("seq", "integer", (c) => c.notNull())
    // The row to verify as JSON: header → value as written.
    .addColumn("source", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("task_item_batch_seq").on("task_item").columns(["batch_id", "seq"]).unique().execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("task_item").execute();
  await db.schema.dropTable("task_batch").execute();
}
