// Workspace hosts: the Docker engines workspaces run on, with their labels, capacity and state, and on
// each workspace the host it was placed on. The engine Azusa is configured with (DOCKER_HOST) is the host
// `local`, present from the start, so that workspaces made before hosts existed keep theirs.
import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("workspace_host")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("name", "text", (c) => c.notNull().unique())
    .addColumn("kind", "text", (c) => c.notNull()) // default (DOCKER_HOST), socket, tls
    .addColumn("socket_path", "text")
    .addColumn("address", "text") // host name or address of a tls engine
    .addColumn("port", "integer")
    .addColumn("ca", "text")
    .addColumn("cert", "text")
    .addColumn("key_sealed", "text") // the client key, sealed like every stored secret
    .addColumn("office", "text")
    .addColumn("tenant_id", "text")
    .addColumn("zone", "text")
    .addColumn("cpus", "real", (c) => c.notNull())
    .addColumn("memory_mib", "integer", (c) => c.notNull())
    .addColumn("disk_mib", "integer", (c) => c.notNull())
    .addColumn("max_workspaces", "integer", (c) => c.notNull())
    .addColumn("state", "text", (c) => c.notNull()) // active, draining, down
    .addColumn("state_reason", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .execute();
  await db.schema.alterTable("workspace").addColumn("host_id", "text").execute();
  await db.schema.createIndex("workspace_host_state").on("workspace").columns(["host_id", "state"]).execute();
  const at = new Date().toISOString();
  await sql`INSERT INTO workspace_host (id, name, kind, cpus, memory_mib, disk_mib, max_workspaces, state, state_reason, created_at, updated_at)
    VALUES ('local', 'local', 'default', 0, 0, 0, 100, 'active', 'the engine DOCKER_HOST names', ${at}, ${at})`.execute(
    db,
  );
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex("workspace_host_state").execute();
  await db.schema.alterTable("workspace").dropColumn("host_id").execute();
  await db.schema.dropTable("workspace_host").execute();
}
