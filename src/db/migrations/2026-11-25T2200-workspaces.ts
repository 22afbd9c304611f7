// One workspace per assignment: its container and volume, its state and the reason for the last change.
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("workspace")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("assignment_id", "text", (c) => c.notNull().unique())
    .addColumn("package_id", "text", (c) => c.notNull())
    .addColumn("tenant_id", "text", (c) => c.notNull())
    .addColumn("engineer_id", "text", (c) => c.notNull())
    .addColumn("template", "text", (c) => c.notNull())
    .addColumn("state", "text", (c) => c.notNull()) // provisioning, running, stopped, destroyed, failed
    .addColumn("reason", "text", (c) => c.notNull())
    .addColumn("container_id", "text")
    .addColumn("volume", "text")
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("workspace_package").on("workspace").columns(["package_id", "state"]).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("workspace").execute();
}
