// People thinking of moving to an office register their interest on its public page; the office's operators
// read them and may invite one as an engineer. Kept only for the retention period, or until deleted on request.
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("interest_registration")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("office_id", "text", (c) => c.notNull().references("office.id"))
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("email", "text", (c) => c.notNull())
    // JSON: [{ skill, level }]
    .addColumn("skills", "text", (c) => c.notNull())
    .addColumn("moving_when", "text", (c) => c.notNull())
    // The consent text the person agreed to, word for word, in the language they read it in.
    .addColumn("consent_text", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("invitation_id", "text")
    .addColumn("invited_at", "text")
    .execute();
  await db.schema
    .createIndex("interest_registration_office")
    .on("interest_registration")
    .columns(["office_id", "created_at"])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("interest_registration").execute();
}
