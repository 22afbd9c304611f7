// The item a keyer holds (taken, not sent) found through an index of held entries only, whatever the number of
// entries the keyer has sent in the batch: every take looks it up first.
import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create index task_entry_held_by on task_entry (batch_id, user_id) where submitted_at is null`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex("task_entry_held_by").execute();
}
