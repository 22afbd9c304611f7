// Evidence beside reported hours: the sessions that overlap an entry and the share of its 5-minute
// buckets that show activity. It is read next to what the engineer reported and never changes it.
import type { Executor } from "../../db/schema.ts";

const BUCKET = 5 * 60_000;

/** What the workspace sessions say about one entry. */
export interface Evidence {
  sessions: { id: string; channel: string; kind: string; startedAt: string; endedAt: string | null }[];
  /** 5-minute buckets the entry touches. */
  buckets: number;
  /** Of those, buckets in which a session of this engineer on this package moved bytes. */
  activeBuckets: number;
  /** activeBuckets / buckets, 0–1, two decimals; null for a duration entry (no times to compare). */
  corroboration: number | null;
}

/** The bucket starts (ms) that [start, end) touches. */
export function bucketsOf(start: number, end: number): number[] {
  const out: number[] = [];
  for (let b = Math.floor(start / BUCKET) * BUCKET; b < end; b += BUCKET) out.push(b);
  return out;
}

/** The share of `buckets` found in `active`, to two decimals. */
export function corroboration(buckets: readonly number[], active: ReadonlySet<number>): number {
  if (buckets.length === 0) return 0;
  const hit = buckets.filter((b) => active.has(b)).length;
  return Math.round((hit / buckets.length) * 100) / 100;
}

/** The evidence for an entry of `engineerId` on `packageId` from `start` to `end` (ISO instants). */
export async function evidenceFor(
  ex: Executor,
  entry: { engineerId: string; packageId: string; start: string | null; end: string | null },
): Promise<Evidence> {
  if (!entry.start || !entry.end) return { sessions: [], buckets: 0, activeBuckets: 0, corroboration: null };
  const { start, end } = entry;
  const sessions = await ex
    .selectFrom("workspace_session")
    .select(["id", "channel", "kind", "started_at", "ended_at"])
    .where("engineer_id", "=", entry.engineerId)
    .where("package_id", "=", entry.packageId)
    .where("started_at", "<", end)
    .where((eb) => eb.or([eb("ended_at", "is", null), eb("ended_at", ">", start)]))
    .orderBy("started_at")
    .execute();
  const buckets = bucketsOf(Date.parse(start), Date.parse(end));
  const active = new Set<number>();
  if (sessions.length) {
    const rows = await ex
      .selectFrom("session_activity")
      .select(["bucket_start", "bytes_in", "bytes_out"])
      .where(
        "session_id",
        "in",
        sessions.map((s) => s.id),
      )
      .where("bucket_start", ">=", new Date(buckets[0] ?? Date.parse(start)).toISOString())
      .where("bucket_start", "<", end)
      .execute();
    for (const r of rows) {
      if (Number(r.bytes_in) + Number(r.bytes_out) > 0) active.add(Date.parse(r.bucket_start));
    }
  }
  return {
    sessions: sessions.map((s) => ({
      id: s.id,
      channel: s.channel,
      kind: s.kind,
      startedAt: s.started_at,
      endedAt: s.ended_at,
    })),
    buckets: buckets.length,
    activeBuckets: buckets.filter((b) => active.has(b)).length,
    corroboration: corroboration(buckets, active),
  };
}
