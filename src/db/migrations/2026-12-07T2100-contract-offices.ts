// The offices a contract prefers or requires its engineers to belong to (a client's rule, such as a prefecture),
// as JSON `{ mode, officeIds, prefectures }`; null: any office.
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("contract").addColumn("office_rule", "text").execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("contract").dropColumn("office_rule").execute();
}
