// The vetting a task batch names: every keyer and every lead deciding its disputes must hold each kind, valid
// on the day (besides `my_number`, which a batch with an individual-number field always needs). Leads have no
// engineer profile, so their vetting (`my_number` only) is kept beside engineers' in a table of its own.
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  // JSON array of vetting kinds, e.g. ["nda"].
  await db.schema
    .alterTable("task_batch")
    .addColumn("vetting", "text", (c) => c.notNull().defaultTo("[]"))
    .execute();
  await db.schema
    .createTable("lead_vetting")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("user_id", "text", (c) => c.notNull().references("user.id"))
    .addColumn("kind", "text", (c) => c.notNull())
    .addColumn("issued_on", "text", (c) => c.notNull())
    .addColumn("expires_on", "text", (c) => c.notNull())
    .addColumn("expired_at", "text")
    .addColumn("recorded_by", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("lead_vetting_user").on("lead_vetting").columns(["user_id", "kind"]).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("lead_vetting").execute();
  await db.schema.alterTable("task_batch").dropColumn("vetting").execute();
}
