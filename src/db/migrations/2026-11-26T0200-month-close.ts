// A 準委任 month closed by the contractor: its settlements frozen as they were invoiced, so reopening a
// week or adjusting an amount afterwards cannot change what was billed.
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("settlement_close")
    .addColumn("contract_id", "text", (c) => c.notNull().references("contract.id").onDelete("cascade"))
    .addColumn("month", "text", (c) => c.notNull()) // YYYY-MM
    .addColumn("tenant_id", "text", (c) => c.notNull())
    .addColumn("settlements", "text", (c) => c.notNull()) // the month's Settlement[] as JSON, as closed
    .addColumn("closed_by", "text", (c) => c.notNull())
    .addColumn("closed_at", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("settlement_close_pk", ["contract_id", "month"])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("settlement_close").execute();
}
