// Engineers' own statement of when they usually work: weekly windows in their time zone and dated exceptions.
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("availability")
    .addColumn("user_id", "text", (c) => c.primaryKey())
    .addColumn("time_zone", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .execute();
  await db.schema
    .createTable("availability_window")
    .addColumn("user_id", "text", (c) => c.notNull().references("availability.user_id"))
    .addColumn("weekday", "integer", (c) => c.notNull())
    .addColumn("start_minute", "integer", (c) => c.notNull())
    .addColumn("end_minute", "integer", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("availability_window_user").on("availability_window").column("user_id").execute();
  await db.schema
    .createTable("availability_exception")
    .addColumn("user_id", "text", (c) => c.notNull().references("availability.user_id"))
    .addColumn("from_day", "text", (c) => c.notNull())
    .addColumn("to_day", "text", (c) => c.notNull())
    .addColumn("note", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("availability_exception_user").on("availability_exception").column("user_id").execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("availability_exception").execute();
  await db.schema.dropTable("availability_window").execute();
  await db.schema.dropTable("availability").execute();
}
