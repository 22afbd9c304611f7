// The language an invitation is written in, chosen by whoever invites: the e-mail is in it, and it becomes the new
// account's language (its notices, e-mail and what the SSH gateway says) once the invitation is accepted.
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  // ja | en; the invitations made before it were all written in Japanese
  await db.schema
    .alterTable("invitation")
    .addColumn("language", "text", (c) => c.notNull().defaultTo("ja"))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("invitation").dropColumn("language").execute();
}
