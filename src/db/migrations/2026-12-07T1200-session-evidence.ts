// What a session keeps as evidence beyond its start and end: the exact command (or subsystem) it ran, and
// its recording's size on disk and as plain asciicast, when it reached its cap if it did, and which process
// ran it.
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("workspace_session").addColumn("command", "text").execute();
  await db.schema.alterTable("workspace_session").addColumn("subsystem", "text").execute();
  await db.schema.alterTable("workspace_session").addColumn("recording_bytes", "bigint").execute();
  await db.schema.alterTable("workspace_session").addColumn("recording_plain_bytes", "bigint").execute();
  await db.schema.alterTable("workspace_session").addColumn("recording_truncated_at", "text").execute();
  // The Azusa process that runs the session: at its next start it closes the rows a crash left open.
  await db.schema.alterTable("workspace_session").addColumn("instance", "text").execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const column of [
    "instance",
    "recording_truncated_at",
    "recording_plain_bytes",
    "recording_bytes",
    "subsystem",
    "command",
  ]) {
    await db.schema.alterTable("workspace_session").dropColumn(column).execute();
  }
}
