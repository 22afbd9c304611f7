// A workspace host over TLS cannot limit a volume's size. It takes workspaces of the default size only once an
// operator has said so (unlimited_volumes = 1): until then placement refuses it, saying why.
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable("workspace_host")
    .addColumn("unlimited_volumes", "integer", (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("workspace_host").dropColumn("unlimited_volumes").execute();
}
