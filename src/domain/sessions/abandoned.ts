// Sessions a crashed Azusa left open: at the next start each is closed as "azusa stopped unexpectedly",
// ended at its recording's last event, and what was recorded up to the crash is kept and measured.
import { stat } from "node:fs/promises";
import { join } from "node:path";
import type { Kysely } from "kysely";
import type { Database } from "../../db/schema.ts";
import type { Actor } from "../../kernel/actor.ts";
import type { Logger } from "../../logger.ts";
import type { AuditService } from "../audit/audit.service.ts";
import { readRecording } from "./recording-file.ts";

export const ABANDONED = "azusa stopped unexpectedly";

/** The seconds of a recording's last complete event and its plain size, read through once. */
async function lastEvent(file: string): Promise<{ seconds: number; plainBytes: number }> {
  const { stream } = await readRecording(file);
  let seconds = 0;
  let plainBytes = 0;
  let header = true;
  // Only the head of the line being read is kept: an event's time comes before its first comma.
  let head = "";
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    plainBytes += chunk.length;
    let from = 0;
    for (;;) {
      const nl = chunk.indexOf(10, from);
      const piece = chunk.subarray(from, nl < 0 ? chunk.length : nl);
      if (head.length < 64) head += piece.subarray(0, 64).toString("latin1");
      if (nl < 0) break;
      if (!header) {
        const time = Number(/^\[([0-9.]+),/.exec(head)?.[1]);
        if (Number.isFinite(time)) seconds = Math.max(seconds, time);
      }
      header = false;
      head = "";
      from = nl + 1;
    }
  }
  return { seconds, plainBytes };
}

/**
 * Closes every session row of `instance` (or of no instance, from before instances were kept) still open:
 * this process has just started, so none of them is live. Returns how many were closed.
 */
export async function closeAbandonedSessions({
  db,
  audit,
  dataDir,
  instance,
  logger,
}: {
  db: Kysely<Database>;
  audit: AuditService;
  dataDir: string;
  instance: string;
  logger: Logger;
}): Promise<number> {
  const system: Actor = { kind: "system", name: "gateway" };
  const open = await db
    .selectFrom("workspace_session")
    .select(["id", "tenant_id", "started_at", "recording"])
    .where("ended_at", "is", null)
    .where((eb) => eb.or([eb("instance", "=", instance), eb("instance", "is", null)]))
    .execute();
  for (const row of open) {
    let endedAt = row.started_at;
    const measured: { recording_bytes?: number; recording_plain_bytes?: number } = {};
    if (row.recording) {
      const file = join(dataDir, row.recording);
      try {
        const last = await lastEvent(file);
        endedAt = new Date(Date.parse(row.started_at) + Math.round(last.seconds * 1000)).toISOString();
        measured.recording_plain_bytes = last.plainBytes;
        measured.recording_bytes = (await stat(file)).size;
      } catch (err) {
        logger.warn({ err, session: row.id }, "the recording of a session left open could not be read");
      }
    }
    await db.transaction().execute(async (trx) => {
      await trx
        .updateTable("workspace_session")
        .set({ ended_at: endedAt, end_reason: ABANDONED, ...measured })
        .where("id", "=", row.id)
        .where("ended_at", "is", null)
        .execute();
      await audit.record(
        system,
        "session.ended",
        `session:${row.id}`,
        { reason: ABANDONED, endedAt, status: null },
        { tenantId: row.tenant_id, trx },
      );
    });
  }
  return open.length;
}
