// The documents of task items (scanned receipts, invoices, forms): each page kept sealed, as an image, under a key
// outside the database; a PDF is kept only as its rendered pages. The disposal record counts the pages destroyed.
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("task_document")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("batch_id", "text", (c) => c.notNull().references("task_batch.id"))
    .addColumn("item_id", "text", (c) => c.notNull().references("task_item.id"))
    .addColumn("page", "integer", (c) => c.notNull())
    .addColumn("media_type", "text", (c) => c.notNull())
    .addColumn("width", "integer", (c) => c.notNull())
    .addColumn("height", "integer", (c) => c.notNull())
    // The uploaded file's name and the page's bytes (base64), each sealed for this row.
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("body", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addUniqueConstraint("task_document_item_page", ["item_id", "page"])
    .execute();
  await db.schema.createIndex("task_document_batch").on("task_document").column("batch_id").execute();
  await db.schema
    .alterTable("task_disposal")
    .addColumn("documents", "integer", (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("task_disposal").dropColumn("documents").execute();
  await db.schema.dropTable("task_document").execute();
}
