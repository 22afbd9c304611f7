// The append-only, hash-chained audit log and the row that names its last link.
import type { Kysely } from "kysely";

const GENESIS = "0".repeat(64);

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("audit_event")
    .addColumn("seq", "integer", (c) => c.primaryKey())
    .addColumn("at", "text", (c) => c.notNull())
    .addColumn("actor_id", "text")
    .addColumn("actor_role", "text")
    .addColumn("tenant_id", "text")
    .addColumn("action", "text", (c) => c.notNull())
    .addColumn("subject", "text", (c) => c.notNull())
    .addColumn("details", "text", (c) => c.notNull())
    .addColumn("prev_hash", "text", (c) => c.notNull())
    .addColumn("hash", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("audit_event_tenant").on("audit_event").columns(["tenant_id", "seq"]).execute();
  await db.schema
    .createTable("audit_head")
    .addColumn("id", "integer", (c) => c.primaryKey())
    .addColumn("seq", "integer", (c) => c.notNull())
    .addColumn("hash", "text", (c) => c.notNull())
    .execute();
  await db
    .insertInto("audit_head" as never)
    .values({ id: 1, seq: 0, hash: GENESIS } as never)
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("audit_head").execute();
  await db.schema.dropTable("audit_event").execute();
}
