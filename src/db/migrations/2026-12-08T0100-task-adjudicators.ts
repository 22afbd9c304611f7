// Engineers a lead lets decide disputed task items: a grant for one batch, or for every batch of a contract
// (batch_id null). A revoked grant keeps its row, with who revoked it and when.
import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("task_adjudicator")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("tenant_id", "text", (c) => c.notNull())
    .addColumn("contract_id", "text", (c) => c.notNull().references("contract.id"))
    .addColumn("batch_id", "text", (c) => c.references("task_batch.id"))
    .addColumn("user_id", "text", (c) => c.notNull())
    .addColumn("granted_by", "text", (c) => c.notNull())
    .addColumn("granted_at", "text", (c) => c.notNull())
    .addColumn("revoked_by", "text")
    .addColumn("revoked_at", "text")
    .execute();
  await db.schema
    .createIndex("task_adjudicator_user")
    .on("task_adjudicator")
    .columns(["user_id", "contract_id"])
    .execute();
  // One grant in force per engineer and scope (a batch, or the whole contract), even when two are made at once.
  await sql`create unique index task_adjudicator_in_force on task_adjudicator (contract_id, user_id, coalesce(batch_id, '')) where revoked_at is null`.execute(
    db,
  );
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("task_adjudicator").execute();
}
