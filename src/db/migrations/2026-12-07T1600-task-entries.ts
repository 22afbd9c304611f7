// Double entry of task items: the engineers named to key a batch, each one's entry of an item (values of
// individual-number fields sealed, never in clear), and the item's outcome once two entries are compared.
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("task_keyer")
    .addColumn("batch_id", "text", (c) => c.notNull().references("task_batch.id"))
    .addColumn("user_id", "text", (c) => c.notNull())
    .addColumn("added_by", "text", (c) => c.notNull())
    .addColumn("added_at", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("task_keyer_pk", ["batch_id", "user_id"])
    .execute();
  await db.schema.createIndex("task_keyer_user").on("task_keyer").column("user_id").execute();
  // Entries taken (claimed) so far, at most two: raised only while below two, so a third keyer never starts.
  await db.schema
    .alterTable("task_item")
    .addColumn("claims", "integer", (c) => c.notNull().defaultTo(0))
    .execute();
  // open (fewer than two entries in), agreed, disputed (waiting for a lead), adjudicated.
  await db.schema
    .alterTable("task_item")
    .addColumn("state", "text", (c) => c.notNull().defaultTo("open"))
    .execute();
  // The accepted values as JSON, individual numbers sealed; null until agreed or adjudicated.
  await db.schema.alterTable("task_item").addColumn("result", "text").execute();
  await db.schema.alterTable("task_item").addColumn("adjudicated_by", "text").execute();
  await db.schema.alterTable("task_item").addColumn("adjudicated_at", "text").execute();
  await db.schema.createIndex("task_item_batch_state").on("task_item").columns(["batch_id", "state", "seq"]).execute();
  await db.schema
    .createTable("task_entry")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("batch_id", "text", (c) => c.notNull().references("task_batch.id"))
    .addColumn("item_id", "text", (c) => c.notNull().references("task_item.id"))
    .addColumn("user_id", "text", (c) => c.notNull())
    // The keyed values as JSON, individual numbers sealed; null while the item is taken but not yet sent.
    .addColumn("values", "text")
    .addColumn("taken_at", "text", (c) => c.notNull())
    .addColumn("submitted_at", "text")
    // 1 when this entry matched the accepted values, 0 when not, null until the item is settled.
    .addColumn("agreed", "integer")
    .execute();
  await db.schema
    .createIndex("task_entry_item_user")
    .on("task_entry")
    .columns(["item_id", "user_id"])
    .unique()
    .execute();
  await db.schema.createIndex("task_entry_batch_user").on("task_entry").columns(["batch_id", "user_id"]).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("task_entry").execute();
  await db.schema.dropIndex("task_item_batch_state").execute();
  for (const column of ["adjudicated_at", "adjudicated_by", "result", "state", "claims"]) {
    await db.schema.alterTable("task_item").dropColumn(column).execute();
  }
  await db.schema.dropTable("task_keyer").execute();
}
