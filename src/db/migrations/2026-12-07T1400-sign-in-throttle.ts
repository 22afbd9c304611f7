// Sign-in attempts and lockouts kept in the database, so that every process on one database counts them
// together: one row per attempt or failure (key, when in ms), one row per key locked out (until when).
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("sign_in_attempt")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("key", "text", (c) => c.notNull())
    .addColumn("at", "bigint", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("sign_in_attempt_key").on("sign_in_attempt").columns(["key", "at"]).execute();
  await db.schema.createIndex("sign_in_attempt_at").on("sign_in_attempt").column("at").execute();
  await db.schema
    .createTable("sign_in_lock")
    .addColumn("key", "text", (c) => c.primaryKey())
    .addColumn("until", "bigint", (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("sign_in_lock").execute();
  await db.schema.dropTable("sign_in_attempt").execute();
}
