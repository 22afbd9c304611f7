// Sessions into workspaces as evidence: who, when, from where, how it ended, and the recording, shown to
// the contract's leads and to operators only; anyone else is answered as if nothing existed.
import { join, resolve, sep } from "node:path";
import type { Kysely } from "kysely";
import type { Database, WorkspaceSessionTable } from "../../db/schema.ts";
import type { Actor } from "../../kernel/actor.ts";
import { notFound } from "../../kernel/errors.ts";
import type { AuditService } from "../audit/audit.service.ts";
import { visiblePackage } from "../contracts/contracts.service.ts";
import { type RecordingRead, readRecording } from "./recording-file.ts";

/** One session as leads and operators see it. */
export interface WorkspaceSession {
  id: string;
  packageId: string;
  workspaceId: string;
  engineerId: string;
  transport: string;
  kind: string;
  /** The exact command line of an exec session; null for a shell. */
  command: string | null;
  /** The SSH subsystem ("sftp") when the session is one. */
  subsystem: string | null;
  sourceAddress: string;
  keyFingerprint: string | null;
  startedAt: string;
  endedAt: string | null;
  endReason: string | null;
  exitCode: number | null;
  exitSignal: string | null;
  recorded: boolean;
  /** When the recording reached its cap (the session went on unrecorded), or null. */
  recordingTruncatedAt: string | null;
}

const toSession = (r: WorkspaceSessionTable): WorkspaceSession => ({
  id: r.id,
  packageId: r.package_id,
  workspaceId: r.workspace_id,
  engineerId: r.engineer_id,
  transport: r.channel,
  kind: r.kind,
  command: r.command ?? null,
  subsystem: r.subsystem ?? null,
  sourceAddress: r.source_address,
  keyFingerprint: r.key_fingerprint ?? null,
  startedAt: r.started_at,
  endedAt: r.ended_at,
  endReason: r.end_reason,
  exitCode: r.exit_code == null ? null : Number(r.exit_code),
  exitSignal: r.exit_signal ?? null,
  recorded: r.recording !== null,
  recordingTruncatedAt: r.recording_truncated_at ?? null,
});

/** A session with the names a page shows beside it: the engineer and the work package. */
export interface ListedSession extends WorkspaceSession {
  engineerName: string;
  wbsId: string;
  packageTitle: string;
}

export function createSessionService({
  db,
  audit,
  dataDir,
}: {
  db: Kysely<Database>;
  audit: AuditService;
  /** Recordings are kept below it (`recordings/<tenant>/<session>.cast.gz`). */
  dataDir: string;
}) {
  /** Operators, and leads named on the package's contract; everyone else gets NOT_FOUND. */
  async function mayReview(actor: Actor, packageId: string): Promise<void> {
    if (actor.kind === "system" || actor.role === "operator") return;
    if (actor.role !== "lead") throw notFound("package");
    await visiblePackage(db, actor, packageId, (q) => q.select("work_package.id"));
  }

  /** Sessions joined with the names a page shows, newest first; the callers check who may see them. */
  async function named(where: { packageId?: string; sessionId?: string; limit?: number }): Promise<ListedSession[]> {
    let query = db
      .selectFrom("workspace_session")
      .leftJoin("user", "user.id", "workspace_session.engineer_id")
      .leftJoin("work_package", "work_package.id", "workspace_session.package_id")
      .selectAll("workspace_session")
      .select(["user.name as engineer_name", "work_package.wbs_id", "work_package.title as package_title"])
      .orderBy("workspace_session.started_at", "desc")
      .limit(Math.min(where.limit ?? 200, 1000));
    if (where.packageId) query = query.where("workspace_session.package_id", "=", where.packageId);
    if (where.sessionId) query = query.where("workspace_session.id", "=", where.sessionId);
    const rows = await query.execute();
    return rows.map(
      (r): ListedSession => ({
        ...toSession(r),
        engineerName: r.engineer_name ?? r.engineer_id,
        wbsId: r.wbs_id ?? "",
        packageTitle: r.package_title ?? "",
      }),
    );
  }

  return {
    /** A package's sessions, newest first. */
    async forPackage(actor: Actor, packageId: string): Promise<WorkspaceSession[]> {
      await mayReview(actor, packageId);
      const rows = await db
        .selectFrom("workspace_session")
        .selectAll()
        .where("package_id", "=", packageId)
        .orderBy("started_at", "desc")
        .limit(1000)
        .execute();
      return rows.map(toSession);
    },

    /**
     * Sessions with the engineer's and the package's names, newest first: one package's for whoever may
     * review it, or (no package) every tenant's for operators only; anyone else gets NOT_FOUND.
     */
    async listed(actor: Actor, options: { packageId?: string; limit?: number } = {}): Promise<ListedSession[]> {
      if (options.packageId) await mayReview(actor, options.packageId);
      else if (actor.kind !== "system" && actor.role !== "operator") throw notFound("page");
      return named({ packageId: options.packageId, limit: options.limit });
    },

    /** One session as listed, for whoever may review its package; this is not a read of its recording. */
    async get(actor: Actor, sessionId: string): Promise<ListedSession> {
      const [session] = await named({ sessionId, limit: 1 });
      if (!session) throw notFound("session");
      await mayReview(actor, session.packageId).catch(() => {
        throw notFound("session");
      });
      return session;
    },

    /**
     * A session's recording as plain asciicast v2, streamed from disk (or the byte range `range`, an HTTP
     * `Range` header, asks for); reading it is audited. Only a missing file is NOT_FOUND.
     */
    async recording(
      actor: Actor,
      sessionId: string,
      options: { range?: string } = {},
    ): Promise<{ session: WorkspaceSession } & RecordingRead> {
      const row = await db.selectFrom("workspace_session").selectAll().where("id", "=", sessionId).executeTakeFirst();
      if (!row) throw notFound("session");
      await mayReview(actor, row.package_id).catch(() => {
        throw notFound("session");
      });
      if (!row.recording) throw notFound("recording");
      const base = resolve(dataDir);
      const file = resolve(join(base, row.recording));
      if (!file.startsWith(`${base}${sep}`)) throw notFound("recording");
      const plainSize = row.recording_plain_bytes == null ? null : Number(row.recording_plain_bytes);
      const read = await readRecording(file, { range: options.range, plainSize });
      try {
        await audit.record(
          actor,
          "session.recording_read",
          `session:${row.id}`,
          { packageId: row.package_id, bytes: read.size, range: read.range },
          { tenantId: row.tenant_id },
        );
      } catch (err) {
        read.stream.destroy();
        throw err;
      }
      return { session: toSession(row), ...read };
    },
  };
}

export type SessionService = ReturnType<typeof createSessionService>;
