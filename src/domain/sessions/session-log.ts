// The session log: every row and audit event a way into a workspace leaves behind (the session, its
// activity per time bucket, its recording's place, forwards and refused logins), written here and only here.
import { join } from "node:path";
import type { Kysely } from "kysely";
import { sql } from "kysely";
import type { Database } from "../../db/schema.ts";
import type { Actor } from "../../kernel/actor.ts";
import type { Logger } from "../../logger.ts";
import type { AuditService } from "../audit/audit.service.ts";
import type { PackageService } from "../packages/packages.service.ts";

/** Activity is kept per bucket of this many milliseconds. */
export const BUCKET_MS = 5 * 60_000;

/** Where a session's recording lives, relative to the data folder: `recordings/<tenant>/<session>.cast.gz`. */
export const recordingPath = (tenantId: string, sessionId: string) =>
  join("recordings", tenantId, `${sessionId}.cast.gz`);

/** The caps on recordings' size on disk, in bytes. */
export interface RecordingCaps {
  sessionBytes: number;
  workspaceBytes: number;
}

/** A session as it starts. */
export interface SessionStart {
  id: string;
  workspaceId: string;
  packageId: string;
  tenantId: string;
  engineerId: string;
  transport: "ssh" | "browser";
  kind: string;
  source: string;
  startedAt: number;
  keyFingerprint?: string;
  /** The exact command line of an exec session; null for a shell. */
  command?: string | null;
  /** The SSH subsystem ("sftp") when the session is one. */
  subsystem?: string | null;
}

/** How a command ended: its exit code, or the signal that ended it. */
export type EndStatus = { code: number } | { signal: string };

export interface SessionLogOptions {
  db: Kysely<Database>;
  audit: AuditService;
  packages: PackageService;
  logger: Logger;
  /** This process's instance id, kept on its session rows so that its next start closes those a crash left open. */
  instance?: string;
  /** Caps on recordings' size on disk; unbounded when unset. */
  recordingCaps?: RecordingCaps;
}

/** The writer of sessions' evidence. */
export function createSessionLog({
  db,
  audit,
  packages,
  logger,
  instance,
  recordingCaps = { sessionBytes: Number.POSITIVE_INFINITY, workspaceBytes: Number.POSITIVE_INFINITY },
}: SessionLogOptions) {
  const system: Actor = { kind: "system", name: "gateway" };

  /** Moves the package assigned → in_progress at its first session; a package already further along stays. */
  async function markStarted(packageId: string): Promise<void> {
    const pkg = await db.selectFrom("work_package").select("state").where("id", "=", packageId).executeTakeFirst();
    if (pkg?.state !== "assigned") return;
    await packages
      .transition(system, packageId, "in_progress", { from: "assigned", reason: "first session" })
      .catch((err) => logger.debug({ err, package: packageId }, "package already moved on"));
  }

  return {
    /** The session row and its `session.started` event, in one transaction; then the package is in progress. */
    async started(s: SessionStart): Promise<void> {
      await db.transaction().execute(async (trx) => {
        await trx
          .insertInto("workspace_session")
          .values({
            id: s.id,
            workspace_id: s.workspaceId,
            package_id: s.packageId,
            tenant_id: s.tenantId,
            engineer_id: s.engineerId,
            channel: s.transport,
            kind: s.kind,
            source_address: s.source,
            started_at: new Date(s.startedAt).toISOString(),
            recording: recordingPath(s.tenantId, s.id),
            key_fingerprint: s.keyFingerprint ?? null,
            command: s.command ?? null,
            subsystem: s.subsystem ?? null,
            instance: instance ?? null,
          })
          .execute();
        await audit.record(
          system,
          "session.started",
          `session:${s.id}`,
          {
            engineerId: s.engineerId,
            packageId: s.packageId,
            workspaceId: s.workspaceId,
            transport: s.transport,
            kind: s.kind,
            command: s.command ?? null,
            subsystem: s.subsystem ?? null,
            source: s.source,
            key: s.keyFingerprint ?? null,
          },
          { tenantId: s.tenantId, trx },
        );
      });
      await markStarted(s.packageId);
    },

    /** A session that could not start: it ends at once with the reason. */
    async failed(id: string, message: string, at: number): Promise<void> {
      await db
        .updateTable("workspace_session")
        .set({ ended_at: new Date(at).toISOString(), end_reason: `failed: ${message}` })
        .where("id", "=", id)
        .execute()
        .catch(() => undefined);
    },

    /** Bytes in and out per bucket (keyed by bucket number, instants / BUCKET_MS), added to what is there. */
    async activity(id: string, buckets: Map<number, { in: number; out: number }>): Promise<void> {
      for (const [bucket, c] of buckets) {
        const row = {
          session_id: id,
          bucket_start: new Date(bucket * BUCKET_MS).toISOString(),
          bytes_in: c.in,
          bytes_out: c.out,
        };
        await db
          .insertInto("session_activity")
          .values(row)
          .onConflict((oc) =>
            oc.columns(["session_id", "bucket_start"]).doUpdateSet({
              bytes_in: sql`session_activity.bytes_in + ${row.bytes_in}`,
              bytes_out: sql`session_activity.bytes_out + ${row.bytes_out}`,
            }),
          )
          .execute();
      }
    },

    /** The session's end and its `session.ended` event; failures are logged, never thrown. */
    async ended(
      id: string,
      tenantId: string,
      end: {
        reason: string;
        status: EndStatus | null;
        at: number;
        seconds: number;
        /** What the recording took, once closed. */
        recording?: { storedBytes: number; plainBytes: number } | null;
      },
    ): Promise<void> {
      const { status, recording } = end;
      await db
        .updateTable("workspace_session")
        .set({
          ended_at: new Date(end.at).toISOString(),
          end_reason: end.reason,
          exit_code: status && "code" in status ? status.code : null,
          exit_signal: status && "signal" in status ? status.signal : null,
          ...(recording ? { recording_bytes: recording.storedBytes, recording_plain_bytes: recording.plainBytes } : {}),
        })
        .where("id", "=", id)
        .execute()
        .catch((err) => logger.warn({ err, session: id }, "session end not written"));
      await audit
        .record(
          system,
          "session.ended",
          `session:${id}`,
          { reason: end.reason, status, seconds: end.seconds },
          { tenantId },
        )
        .catch((err) => logger.warn({ err, session: id }, "session end not audited"));
    },

    /**
     * What a new recording in `workspaceId` may take on disk: the per-session cap, or what the workspace's
     * cap leaves after its earlier sessions' recordings, whichever is less, with the name of that cap.
     */
    async recordingBudget(workspaceId: string): Promise<{ bytes: number; name: string }> {
      const used = await db
        .selectFrom("workspace_session")
        .select((eb) => eb.fn.sum<number | string | null>("recording_bytes").as("bytes"))
        .where("workspace_id", "=", workspaceId)
        .executeTakeFirst();
      const left = Math.max(0, recordingCaps.workspaceBytes - Number(used?.bytes ?? 0));
      const mib = (bytes: number) => `${Math.round(bytes / 1024 / 1024)} MiB`;
      return left < recordingCaps.sessionBytes
        ? { bytes: left, name: `the workspace's cap of ${mib(recordingCaps.workspaceBytes)} for recordings` }
        : { bytes: recordingCaps.sessionBytes, name: `the per-session cap of ${mib(recordingCaps.sessionBytes)}` };
    },

    /** The recording reached its cap at `at`: the row keeps the instant, a `session.recording_truncated` event names the cap. */
    async truncated(
      id: string,
      tenantId: string,
      t: { at: Date; storedBytes: number; cap: { bytes: number; name: string } },
    ): Promise<void> {
      await db
        .updateTable("workspace_session")
        .set({ recording_truncated_at: t.at.toISOString() })
        .where("id", "=", id)
        .execute();
      await audit.record(
        system,
        "session.recording_truncated",
        `session:${id}`,
        { at: t.at.toISOString(), storedBytes: t.storedBytes, cap: t.cap.name, capBytes: t.cap.bytes },
        { tenantId },
      );
    },

    /** A `<transport>.forward` event of a forward or listener; failures are logged, never thrown. */
    async forward(
      transport: "ssh" | "browser",
      forwardId: string,
      details: Record<string, unknown>,
      tenantId: string | null,
    ): Promise<void> {
      await audit
        .record(system, `${transport}.forward`, `forward:${forwardId}`, details, { tenantId })
        .catch((err) => logger.warn({ err, forward: forwardId }, "forward not audited"));
    },

    /**
     * A `<transport>.channel_refused` event: a session channel the transfer policy or a restricted contract
     * turned away, with what was asked (command or subsystem) and why; failures are logged, never thrown.
     */
    async channelRefused(
      transport: "ssh" | "browser",
      workspaceId: string,
      details: Record<string, unknown>,
      tenantId: string,
    ): Promise<void> {
      await audit
        .record(system, `${transport}.channel_refused`, `workspace:${workspaceId}`, details, { tenantId })
        .catch((err) => logger.warn({ err, workspace: workspaceId }, "refused channel not audited"));
    },

    /** An `ssh.refused` event: a login turned away, with its stable code. */
    async loginRefused(ip: string, user: string, code: string, reason: string, key?: string): Promise<void> {
      await audit
        .record(system, "ssh.refused", `ssh:${ip}`, { user, code, reason, key: key ?? null }, { tenantId: null })
        .catch((err) => logger.warn({ err }, "ssh refusal not audited"));
    },
  };
}

export type SessionLog = ReturnType<typeof createSessionLog>;
