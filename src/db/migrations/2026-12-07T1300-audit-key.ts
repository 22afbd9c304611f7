// Whether the audit chain is keyed (HMAC-SHA256 under AZUSA_AUDIT_KEY): a chain written before the key
// existed is keyed once, at the next start, after its plain links check.
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable("audit_head")
    .addColumn("keyed", "integer", (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("audit_head").dropColumn("keyed").execute();
}
