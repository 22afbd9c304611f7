// When a workspace's code was checked out: a workspace is handed over as soon as its container runs and
// its fork is checked out right after, so entry points and reconcile need to know whether that finished.
import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("workspace").addColumn("prepared_at", "text").execute();
  // Workspaces made before this column counted as running only once their checkout was done.
  await sql`update workspace set prepared_at = updated_at where state <> 'provisioning'`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("workspace").dropColumn("prepared_at").execute();
}
