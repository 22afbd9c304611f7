// Satellite offices as data: where operators and engineers belong, and who manages every office.
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("office")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("name", "text", (c) => c.notNull().unique())
    .addColumn("prefecture", "text", (c) => c.notNull())
    .addColumn("town", "text", (c) => c.notNull())
    .addColumn("address", "text", (c) => c.notNull())
    .addColumn("time_zone", "text", (c) => c.notNull())
    .addColumn("contact", "text", (c) => c.notNull())
    .addColumn("description", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .execute();
  // One office per person: a row here is where an operator or an engineer belongs.
  await db.schema
    .createTable("office_member")
    .addColumn("user_id", "text", (c) => c.primaryKey())
    .addColumn("office_id", "text", (c) => c.notNull().references("office.id"))
    .addColumn("since", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("office_member_office").on("office_member").column("office_id").execute();
  // Operators who manage every office (besides the first operator, who always does).
  await db.schema
    .createTable("office_admin")
    .addColumn("user_id", "text", (c) => c.primaryKey())
    .addColumn("granted_by", "text", (c) => c.notNull())
    .addColumn("granted_at", "text", (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("office_admin").execute();
  await db.schema.dropTable("office_member").execute();
  await db.schema.dropTable("office").execute();
}
