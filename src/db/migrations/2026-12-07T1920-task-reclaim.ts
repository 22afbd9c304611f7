// Items taken and never sent are given back after a while: the entry is kept, marked, so that the keyer's late
// send is refused with the reason rather than as an unknown item; the index finds the overdue ones.
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("task_entry").addColumn("reclaimed_at", "text").execute();
  await db.schema.createIndex("task_entry_held").on("task_entry").columns(["submitted_at", "taken_at"]).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex("task_entry_held").execute();
  await db.schema.alterTable("task_entry").dropColumn("reclaimed_at").execute();
}
