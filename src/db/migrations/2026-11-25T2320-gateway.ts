// The SSH gateway's additions: a contract's session policy (allowed source networks, whether input is
// recorded) and, per session, the key it came with and how its command ended.
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  // JSON array of CIDR blocks; empty means any source address.
  await db.schema
    .alterTable("contract")
    .addColumn("allowed_networks", "text", (c) => c.notNull().defaultTo("[]"))
    .execute();
  await db.schema
    .alterTable("contract")
    .addColumn("record_input", "integer", (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.alterTable("workspace_session").addColumn("key_fingerprint", "text").execute();
  await db.schema.alterTable("workspace_session").addColumn("exit_signal", "text").execute();
  await db.schema
    .createIndex("workspace_session_tenant")
    .on("workspace_session")
    .columns(["tenant_id", "started_at"])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex("workspace_session_tenant").execute();
  await db.schema.alterTable("workspace_session").dropColumn("exit_signal").execute();
  await db.schema.alterTable("workspace_session").dropColumn("key_fingerprint").execute();
  await db.schema.alterTable("contract").dropColumn("record_input").execute();
  await db.schema.alterTable("contract").dropColumn("allowed_networks").execute();
}
