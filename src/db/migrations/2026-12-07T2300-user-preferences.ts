// Each person's own settings: the language their notices and e-mail are written in, and whether notices that can
// wait are e-mailed too. A user without a row has the defaults (Japanese, e-mail on).
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("user_preference")
    .addColumn("user_id", "text", (c) => c.primaryKey())
    // ja | en
    .addColumn("language", "text", (c) => c.notNull())
    // 1: notices are e-mailed; 0: only the essential ones (invitations, security, payment)
    .addColumn("email_notices", "integer", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("user_preference").execute();
}
