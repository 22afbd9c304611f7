// A contract may ask for workspace host labels (office, zone): its workspaces are placed only on hosts carrying
// them, as a template's hostLabels are. Null: the contract asks for none.
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("contract").addColumn("host_office", "text").execute();
  await db.schema.alterTable("contract").addColumn("host_zone", "text").execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("contract").dropColumn("host_zone").execute();
  await db.schema.alterTable("contract").dropColumn("host_office").execute();
}
