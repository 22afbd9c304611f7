// Sessions into workspaces (SSH or browser terminal), their activity per 5-minute bucket as evidence for
// hours, and each workspace's last activity for the idle timer.
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("workspace_session")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("workspace_id", "text", (c) => c.notNull())
    .addColumn("package_id", "text", (c) => c.notNull())
    .addColumn("tenant_id", "text", (c) => c.notNull())
    .addColumn("engineer_id", "text", (c) => c.notNull())
    .addColumn("channel", "text", (c) => c.notNull()) // ssh, browser
    .addColumn("kind", "text", (c) => c.notNull()) // shell, exec, subsystem name
    .addColumn("source_address", "text", (c) => c.notNull())
    .addColumn("started_at", "text", (c) => c.notNull())
    .addColumn("ended_at", "text")
    .addColumn("end_reason", "text")
    .addColumn("exit_code", "integer")
    .addColumn("recording", "text") // path below the data directory, asciicast v2
    .execute();
  await db.schema
    .createIndex("workspace_session_engineer")
    .on("workspace_session")
    .columns(["engineer_id", "started_at"])
    .execute();
  await db.schema
    .createIndex("workspace_session_package")
    .on("workspace_session")
    .columns(["package_id", "started_at"])
    .execute();
  await db.schema
    .createTable("session_activity")
    .addColumn("session_id", "text", (c) => c.notNull())
    .addColumn("bucket_start", "text", (c) => c.notNull()) // ISO instant, a multiple of 5 minutes
    .addColumn("bytes_in", "bigint", (c) => c.notNull().defaultTo(0))
    .addColumn("bytes_out", "bigint", (c) => c.notNull().defaultTo(0))
    .addPrimaryKeyConstraint("session_activity_pk", ["session_id", "bucket_start"])
    .execute();
  await db.schema.alterTable("workspace").addColumn("last_activity_at", "text").execute();
  await db.schema.alterTable("workspace").addColumn("last_activity", "text").execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("workspace").dropColumn("last_activity").execute();
  await db.schema.alterTable("workspace").dropColumn("last_activity_at").execute();
  await db.schema.dropTable("session_activity").execute();
  await db.schema.dropTable("workspace_session").execute();
}
