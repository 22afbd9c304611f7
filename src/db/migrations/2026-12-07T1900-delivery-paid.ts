// The day a contractor paid for an accepted delivery, beside the day it fell due, so that payments due and paid
// are read from one list.
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("delivery").addColumn("paid_on", "text").execute();
  await db.schema.alterTable("delivery").addColumn("paid_by", "text").execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("delivery").dropColumn("paid_by").execute();
  await db.schema.alterTable("delivery").dropColumn("paid_on").execute();
}
