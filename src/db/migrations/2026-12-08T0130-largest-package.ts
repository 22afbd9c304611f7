// The largest package an engineer wants, in estimated hours, kept with their availability; null: no limit.
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("availability").addColumn("largest_package_hours", "double precision").execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("availability").dropColumn("largest_package_hours").execute();
}
