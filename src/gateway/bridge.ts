// The exec bridge: one code path from any transport (an SSH channel now, a browser socket next) into a
// command in a workspace, with the access check, session policy, recording, revocation and evidence.
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import type { Duplex, Readable, Writable } from "node:stream";
import type { AccessRequest, Authorization, SessionAccess, Target } from "../domain/sessions/access.ts";
import { openRecording, type Recorder, type RecordingTotals } from "../domain/sessions/recorder.ts";
import { BUCKET_MS, recordingPath, type SessionLog } from "../domain/sessions/session-log.ts";
import { channelRefusal } from "../domain/sessions/transfer-policy.ts";
import type { WorkspaceService } from "../domain/workspaces/workspaces.service.ts";
import type { Actor } from "../kernel/actor.ts";
import { AppError } from "../kernel/errors.ts";
import type { Logger } from "../logger.ts";
import {
  type ExecRequest,
  type ExecSession,
  execSignal,
  type SignalOutcome,
  type WorkspaceDriver,
} from "../provisioner/driver.ts";
import { createForwards } from "./forwards.ts";
import { endStatus } from "./policy.ts";

/** Who wants in, from where, over what, with what the transport itself keeps checking. */
export interface Principal extends AccessRequest {
  /** SHA256 fingerprint of the SSH key used, when there is one. */
  keyFingerprint?: string;
  /**
   * A transport's own check, repeated while sessions run (e.g. "is the SSH key still registered?");
   * resolves to a reason to end the session, or null.
   */
  recheck?: () => Promise<string | null>;
  /** The decision made at login; a session opened within 5 s of it does not ask again. */
  authorized?: { target: Target; at: number };
}

/** Resolves once everything written to `w` so far has been handed on (or `w` closed). */
function drained(w: Writable): Promise<void> {
  if (w.writableLength === 0 || w.destroyed || !w.writable) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => {
      w.off("close", done);
      resolve();
    };
    w.once("close", done);
    w.write(Buffer.alloc(0), () => done());
  });
}

/** A transport's half of a session: bytes each way and how to finish. */
export interface BridgeChannel {
  /** What the user sends; the bridge pauses it when the command reads slowly. */
  input: Readable;
  /** The command's output (everything, with a tty). */
  output: Writable;
  /** The command's standard error, or null when the transport has one stream (it goes to `output`). */
  errors: Writable | null;
  /** Delivers the end status, then closes; called exactly once, once `output` and `errors` have drained. */
  finish(status: { code: number } | { signal: string } | { reason: string }): Promise<void> | void;
}

/** What to run. */
export interface SessionRequest {
  kind: "shell" | "exec";
  /** The exact command line of an exec (for a subsystem, the server command that speaks it). */
  command?: string;
  /** The subsystem the client asked for ("sftp"), whose server `command` runs. */
  subsystem?: string;
  pty?: { cols: number; rows: number; term: string };
  /** Already filtered by the transport to `allowedEnv` names. */
  env: Record<string, string>;
}

/** A running session, as its transport sees it. */
export interface SessionHandle {
  id: string;
  resize(cols: number, rows: number): void;
  /** Sends a signal ("TERM", "INT", …; allow-listed) to the command; says why when it could not. */
  signal(name: string): Promise<SignalOutcome>;
  /** Ends the session now (revocation, limits, the transport went away). */
  end(reason: string): void;
  /** Settles once the session is over and its evidence is written. */
  done: Promise<{ reason: string }>;
}

/** A transport's half of a forward: accept it (a byte stream both ways) or refuse it, saying why. */
export interface ForwardChannel {
  accept(): Duplex;
  /** `prohibited`: refused by policy (SSH's "administratively prohibited"), not a connection that failed. */
  reject(reason?: string, prohibited?: boolean): void;
}

/** A transport's half of a listener: a channel for each connection accepted in the workspace. */
export interface ListenChannel {
  /** Opens the transport's channel for a connection from `origin`; rejects when the client or a limit refuses it. */
  open(origin: { address: string; port: number }): Promise<Duplex>;
}

/** A listener running in the workspace on behalf of one connection (or session). */
export interface Listening {
  /** Environment for the sessions that asked: SSH_AUTH_SOCK, or DISPLAY and XAUTHORITY; none for ssh -R. */
  env: Record<string, string>;
  /** Stops listening and closes its connections. */
  end(reason: string): void;
  /** Settles once it is over and audited. */
  done: Promise<{ reason: string }>;
}

/** A session, forward or listener that is running, and who opened it. */
export interface Live {
  principal: Principal;
  handle: SessionHandle;
}

export interface BridgeOptions {
  /** The access decision every session, forward and listener asks, at its start and while it runs. */
  access: SessionAccess;
  /** Where sessions, their activity and forwards are recorded. */
  log: SessionLog;
  workspaces: WorkspaceService;
  driver: WorkspaceDriver;
  logger: Logger;
  /** Recordings go to `<dataDir>/recordings/<tenant>/<session>.cast.gz`. */
  dataDir: string;
  idleMs: number;
  maxSessionMs: number;
  /** How often live sessions are checked again for revocation (key, assignment, vetting). */
  recheckMs?: number;
  /** How often activity buckets and the workspace's last activity are written at most. */
  activityMs?: number;
  now?: () => number;
}

/** The bridge; `close()` ends every live session and stops the revocation check. */
export function createBridge({
  access,
  log,
  workspaces,
  driver,
  logger,
  dataDir,
  idleMs,
  maxSessionMs,
  recheckMs = 1000,
  activityMs = 30_000,
  now = Date.now,
}: BridgeOptions) {
  const system: Actor = { kind: "system", name: "gateway" };
  const live = new Set<Live>();

  /** The one decision whether `principal` may open sessions, made at login and again while they run. */
  const authorize = (principal: Principal): Promise<Authorization> => access.authorize(principal);

  /**
   * The decision made at login when it is recent (within 5 s), else a fresh one that asks the transport's own
   * check too: a new channel on a connection whose key was removed is refused, not opened and ended a second later.
   */
  const decide = async (principal: Principal): Promise<Authorization> => {
    const recent = principal.authorized && now() - principal.authorized.at < 5000 ? principal.authorized : null;
    if (recent) return { ok: true, target: recent.target };
    const [revoked, auth] = await Promise.all([principal.recheck?.() ?? null, authorize(principal)]);
    return revoked ? { ok: false, code: "revoked", reason: revoked } : auth;
  };

  /** Starts a stopped workspace, telling the user on `say`. */
  async function ensureRunning(target: Target, say: (line: string) => void): Promise<void> {
    const status = await driver.status(target.ref);
    if (status === "running") return;
    if (status === "missing") throw new Error("the workspace's container is gone");
    say("azusa: starting your workspace…");
    const t0 = now();
    await workspaces.start(system, target.workspace.id);
    say(`azusa: workspace running (${((now() - t0) / 1000).toFixed(1)} s)`);
  }

  /** Runs `request` in the target's workspace; a stopped one (INVALID_STATE) is started first, saying so on `say`. */
  async function execRunning(
    target: Target,
    request: ExecRequest,
    say: (line: string) => void = () => undefined,
  ): Promise<ExecSession> {
    try {
      return await driver.exec(target.ref, request);
    } catch (err) {
      if (!(err instanceof AppError && err.code === "INVALID_STATE")) throw err;
      await ensureRunning(target, say);
      return await driver.exec(target.ref, request);
    }
  }

  /**
   * Opens a session: checks access again, starts the workspace if needed, runs the command, and pipes
   * both ways with backpressure until it ends. Refusals finish the channel with a reason.
   */
  function open(principal: Principal, request: SessionRequest, channel: BridgeChannel): SessionHandle {
    const id = randomUUID();
    const errors = channel.errors ?? channel.output;
    const say = (line: string) => errors.write(`${line}\r\n`);
    let ended: string | null = null;
    let endNow: (reason: string) => void = (reason) => {
      ended ??= reason;
    };
    let resolveDone: (v: { reason: string }) => void = () => {};
    const done = new Promise<{ reason: string }>((r) => {
      resolveDone = r;
    });
    let exec: ExecSession | undefined;
    let recorder: Recorder | undefined;
    /** Signals delivered to the command: only these turn a status of 128 + n into an exit-signal. */
    const sent = new Set<string>();
    // One resize at a time: two calls in flight may reach the engine out of order and leave the older size.
    let resizing: Promise<void> = Promise.resolve();
    const handle: SessionHandle = {
      id,
      resize(cols, rows) {
        recorder?.resize(cols, rows);
        const running = exec;
        if (!running) return;
        resizing = resizing.then(() => running.resize(cols, rows)).catch(() => undefined);
      },
      async signal(name) {
        const allowed = execSignal(name);
        const outcome: SignalOutcome = !allowed
          ? { delivered: false, reason: "not a signal a session may send" }
          : !exec?.signal
            ? { delivered: false, reason: exec ? "the workspace cannot signal commands" : "no command is running" }
            : await exec.signal(allowed);
        if (allowed && outcome.delivered) sent.add(allowed);
        logger.info(
          { session: id, signal: name, ...outcome },
          outcome.delivered ? "signal delivered" : "signal not delivered",
        );
        return outcome;
      },
      end: (reason) => endNow(reason),
      done,
    };

    const run = async (): Promise<void> => {
      const auth = await decide(principal);
      if (!auth.ok) {
        say(`azusa: ${auth.reason}`);
        await channel.finish({ code: 1 });
        resolveDone({ reason: auth.reason });
        return;
      }
      const { target } = auth;
      const ssh = target.template?.azusa.ssh;
      const refusal = channelRefusal(
        { fileTransfer: Boolean(ssh?.fileTransfer), git: Boolean(ssh?.git), restricted: target.restricted },
        { kind: request.kind, command: request.command, pty: Boolean(request.pty), subsystem: request.subsystem },
      );
      if (refusal) {
        // Said to the client (scp, sftp, git and rsync print it) and kept as evidence, what was asked included.
        say(`azusa: ${refusal.message}`);
        logger.info({ session: id, reason: refusal.reason }, "session channel refused");
        await log.channelRefused(
          principal.transport,
          target.workspace.id,
          {
            engineerId: principal.engineerId,
            packageId: principal.packageId,
            source: principal.source,
            kind: request.subsystem ? "subsystem" : request.kind,
            pty: Boolean(request.pty),
            ...(request.subsystem ? { subsystem: request.subsystem } : { command: request.command ?? null }),
            reason: refusal.reason,
          },
          target.tenantId,
        );
        await channel.finish({ code: 1 });
        resolveDone({ reason: refusal.message });
        return;
      }
      const started = now();
      const entry: Live = { principal, handle };
      live.add(entry);
      const kind = request.kind;
      const recording = recordingPath(target.tenantId, id);
      const command = request.kind === "exec" ? (request.command ?? "") : null;
      const subsystem = request.subsystem ?? null;
      // Keyed by bucket number: a chunk of data costs a division, not a Date; the ISO start is made when written.
      const counters = new Map<number, { in: number; out: number }>();
      let lastWrite = started;
      let lastActivity = started;
      let flushing: Promise<void> = Promise.resolve();

      const flushActivity = () => {
        const buckets = new Map(counters);
        counters.clear();
        lastWrite = now();
        if (!buckets.size) return flushing;
        flushing = flushing.then(async () => {
          await log.activity(id, buckets);
          await workspaces.recordActivity(
            target.workspace.id,
            `${principal.transport} ${kind}`,
            new Date(lastActivity),
          );
        });
        flushing = flushing.catch((err) => logger.warn({ err, session: id }, "session activity not written"));
        return flushing;
      };
      const count = (direction: "in" | "out", bytes: number) => {
        const t = now();
        lastActivity = t;
        const bucket = Math.floor(t / BUCKET_MS);
        let c = counters.get(bucket);
        if (!c) {
          c = { in: 0, out: 0 };
          counters.set(bucket, c);
        }
        c[direction] += bytes;
        resetIdle();
        if (t - lastWrite >= activityMs) void flushActivity();
      };

      let idleTimer: NodeJS.Timeout | undefined;
      const resetIdle = () => {
        idleTimer?.refresh();
      };

      // The evidence and the command start side by side: a login should cost what docker exec costs.
      const evidence = log.started({
        id,
        workspaceId: target.workspace.id,
        packageId: principal.packageId,
        tenantId: target.tenantId,
        engineerId: principal.engineerId,
        transport: principal.transport,
        kind,
        source: principal.source,
        startedAt: started,
        keyFingerprint: principal.keyFingerprint,
        command,
        subsystem,
      });
      const pty = request.pty;
      const folder = target.template?.azusa.workspaceFolder ?? "/workspace";
      const cmd =
        request.kind === "exec" && request.command !== undefined
          ? ["/bin/sh", "-c", request.command]
          : ["/bin/sh", "-c", "if [ -x /bin/bash ]; then exec /bin/bash -l; else exec /bin/sh -l; fi"];
      const execRequest = {
        cmd,
        tty: Boolean(pty),
        env: { ...request.env, ...(pty ? { TERM: pty.term || "xterm-256color" } : {}) },
        cols: pty?.cols,
        rows: pty?.rows,
        workingDir: folder,
      };
      const starting = (async () => {
        const budget = await log.recordingBudget(target.workspace.id);
        recorder = openRecording(
          join(dataDir, recording),
          {
            width: pty?.cols ?? 80,
            height: pty?.rows ?? 24,
            title: subsystem
              ? `subsystem ${subsystem}`
              : command !== null
                ? `exec ${command}`
                : `shell ${principal.packageId}`,
            ...(command !== null ? { command } : {}),
            env: { TERM: pty?.term ?? "", SHELL: "/bin/sh" },
          },
          {
            now,
            limitBytes: budget.bytes,
            limitName: budget.name,
            // Past its cap the recording says so and stops; the row and the audit log say so too.
            onTruncated: (at, storedBytes) => {
              void evidence
                .then(() => log.truncated(id, target.tenantId, { at, storedBytes, cap: budget }))
                .catch((err) => logger.warn({ err, session: id }, "recording truncation not written"));
            },
            onError: (err) => {
              logger.error({ err, session: id }, "recording failed; ending the session");
              endNow("recording failed");
            },
          },
        );
        return await execRunning(target, execRequest, say);
      })();
      try {
        const [written, began] = await Promise.allSettled([evidence, starting]);
        if (began.status === "fulfilled") exec = began.value;
        if (written.status === "rejected") throw written.reason;
        if (began.status === "rejected") throw began.reason;
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        logger.warn({ err: message, session: id }, "session could not start");
        say(`azusa: the session could not start: ${message}`);
        live.delete(entry);
        // Without its evidence a command must not run on: its input closes (a shell then ends).
        (exec?.stdin as Writable | undefined)?.end();
        await recorder?.close().catch(() => undefined);
        await log.failed(id, message, now());
        await channel.finish({ code: 1 });
        resolveDone({ reason: message });
        return;
      }
      // Assigned inside the start-up closure, which the compiler does not follow.
      const running = exec as unknown as ExecSession;
      const rec = recorder as unknown as Recorder;
      const endedEarly: string | null = ended;

      const finished = new Promise<string>((resolve) => {
        endNow = (reason) => {
          ended ??= reason;
          resolve(reason);
        };
      });
      // The transport went away (or access was revoked) while the command was starting.
      if (endedEarly) endNow(endedEarly);
      idleTimer = setTimeout(() => endNow("idle timeout"), idleMs);
      const limitTimer = setTimeout(() => endNow("session time limit reached"), maxSessionMs);
      idleTimer.unref();
      limitTimer.unref();

      // A recording that cannot be written ends the session through its onError.
      const tapOut = (data: Buffer) => {
        count("out", data.length);
        rec.output(data);
      };
      const tapIn = (data: Buffer) => {
        count("in", data.length);
        if (target.recordInput) rec.input(data);
      };

      // Output: piped without ending the channel, so the exit status can follow the last byte.
      const outDone = new Promise<void>((resolve) => {
        running.stdout.on("data", tapOut);
        running.stdout.once("end", resolve);
        running.stdout.pipe(channel.output, { end: false });
      });
      const errDone = new Promise<void>((resolve) => {
        if (!running.stderr) return resolve();
        running.stderr.on("data", tapOut);
        running.stderr.once("end", resolve);
        running.stderr.pipe(errors, { end: false });
      });
      channel.input.on("data", tapIn);
      channel.input.pipe(running.stdin as Writable);
      const completed = Promise.all([running.exit, outDone, errDone]).then(([exit]) => exit);

      const result = await Promise.race([
        completed.then((exit) => ({ exit, reason: "exited" })),
        finished.then((reason) => ({ exit: null, reason })),
      ]);
      clearTimeout(idleTimer);
      clearTimeout(limitTimer);
      live.delete(entry);
      channel.input.unpipe(running.stdin as Writable);
      running.stdout.unpipe(channel.output);
      if (running.stderr) running.stderr.unpipe(errors);
      let recordingError: string | null = null;
      let totals: RecordingTotals | null = null;
      try {
        totals = await rec.close();
      } catch (err) {
        recordingError = err instanceof Error ? err.message : String(err);
      }
      const status = result.exit ? endStatus(result.exit, sent) : null;
      if (!result.exit) say(`azusa: session ended: ${result.reason}`);
      // The end status goes after the last byte of output, whatever the transport.
      await Promise.all([drained(channel.output), channel.errors ? drained(channel.errors) : undefined]);
      await channel.finish(status ?? { reason: result.reason });
      // A command still running after a forced end gets its input closed; its output is no longer read.
      if (!result.exit) {
        (running.stdin as Writable).end();
        running.stdout.resume();
        running.stderr?.resume();
      }
      await flushActivity();
      const endReason = recordingError ? `recording failed: ${recordingError}` : result.reason;
      await log.ended(id, target.tenantId, {
        reason: endReason,
        status,
        at: now(),
        seconds: Math.round((now() - started) / 1000),
        recording: totals,
      });
      resolveDone({ reason: endReason });
    };
    run().catch((err) => {
      logger.error({ err, session: id }, "session crashed");
      resolveDone({ reason: "crashed" });
    });
    return handle;
  }

  /** Checks every live session again; those whose engineer lost the right end within one interval. */
  async function recheck(): Promise<void> {
    // Each transport's own check once (an SSH connection's key, a browser's sign-in), and the access
    // decision once per engineer, package and address: the sessions that share one share its answer.
    const byAccess = new Map<string, Live[]>();
    const byOwn = new Map<() => Promise<string | null>, Live[]>();
    for (const l of live) {
      const key = `${l.principal.engineerId}|${l.principal.packageId}|${l.principal.source}`;
      byAccess.set(key, [...(byAccess.get(key) ?? []), l]);
      const own = l.principal.recheck;
      if (own) byOwn.set(own, [...(byOwn.get(own) ?? []), l]);
    }
    const endAll = async (sessions: Live[], decide: () => Promise<string | null>) => {
      try {
        const reason = await decide();
        if (reason) for (const s of sessions) s.handle.end(`access revoked: ${reason}`);
      } catch (err) {
        logger.warn({ err }, "session re-check failed");
      }
    };
    await Promise.all([
      ...[...byOwn].map(([check, sessions]) => endAll(sessions, check)),
      ...[...byAccess.values()].map((sessions) =>
        endAll(sessions, async () => {
          const first = sessions[0];
          return first ? authorize(first.principal).then((a) => (a.ok ? null : a.reason)) : null;
        }),
      ),
    ]);
  }

  let checking = false;
  const timer = setInterval(() => {
    if (checking || live.size === 0) return;
    checking = true;
    void recheck().finally(() => {
      checking = false;
    });
  }, recheckMs);
  timer.unref();

  const { forward, listen } = createForwards({
    decide,
    exec: execRunning,
    live,
    log,
    workspaces,
    logger,
    idleMs,
    maxSessionMs,
    activityMs,
    now,
  });

  /**
   * Keeps a logged-in connection under the revocation check while it carries nothing (a ControlMaster master,
   * `ssh -N`): once its key or its access goes, `end` is called with the reason. Returns the release, for when
   * the connection closes.
   */
  function hold(principal: Principal, end: (reason: string) => void): () => void {
    const handle: SessionHandle = {
      id: randomUUID(),
      resize: () => undefined,
      signal: async () => ({ delivered: false, reason: "a connection has no command to signal" }),
      end,
      // Nothing of its own to write: the sessions it carries are live entries of their own.
      done: Promise.resolve({ reason: "held" }),
    };
    const entry: Live = { principal, handle };
    live.add(entry);
    return () => {
      live.delete(entry);
    };
  }

  return {
    authorize,
    open,
    forward,
    listen,
    hold,
    /** Ends every live session (shutdown) and waits for their evidence to be written. */
    async close(reason = "Azusa is shutting down"): Promise<void> {
      clearInterval(timer);
      const handles = [...live].map((l) => l.handle);
      for (const h of handles) h.end(reason);
      await Promise.all(handles.map((h) => h.done));
    },
  };
}

export type Bridge = ReturnType<typeof createBridge>;
