// One session through the bridge (a shell, an exec or a subsystem): the access check and channel policy, the
// evidence, the recording and the command, piped both ways with backpressure until it ends, then its end written.
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import type { Writable } from "node:stream";
import type { Target } from "../domain/sessions/access.ts";
import { holdWhileBehind, openRecording, type Recorder, type RecordingTotals } from "../domain/sessions/recorder.ts";
import { BUCKET_MS, recordingPath } from "../domain/sessions/session-log.ts";
import { channelRefusal } from "../domain/sessions/transfer-policy.ts";
import { SESSION_MARK } from "../domain/workspaces/workspace-processes.ts";
import type { Text } from "../kernel/messages.ts";
import { type ExecSession, execSignal, type SignalOutcome } from "../provisioner/driver.ts";
import type { BridgeChannel, BridgeContext, Live, Principal, SessionHandle, SessionRequest } from "./bridge-types.ts";
import { sayTo } from "./bridge-types.ts";
import { gatheringOutput } from "./output-gathering.ts";
import { endStatus } from "./policy.ts";
import { reapSession } from "./session-processes.ts";

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

/** What one session's parts share while it runs. */
interface SessionState {
  id: string;
  principal: Principal;
  request: SessionRequest;
  channel: BridgeChannel;
  /** Where the user is told things: the channel's standard error, or its only stream. */
  errors: Writable;
  say(line: string): void;
  exec?: ExecSession;
  recorder?: Recorder;
  /** Signals delivered to the command: only these turn a status of 128 + n into an exit-signal. */
  sent: Set<string>;
  /** Why it was ended before it could be (the transport went away while the command started). */
  ended: string | null;
  /** What the user is told of why it ended, when not the English reason (a revocation, in their language). */
  endedSaid?: Text;
  endNow(reason: string, said?: Text): void;
}

/**
 * Opens a session: checks access again, starts the workspace if needed, runs the command, and pipes
 * both ways with backpressure until it ends. Refusals finish the channel with a reason.
 */
export function openSession(
  ctx: BridgeContext,
  principal: Principal,
  request: SessionRequest,
  channel: BridgeChannel,
): SessionHandle {
  const errors = channel.errors ?? channel.output;
  const s: SessionState = {
    id: randomUUID(),
    principal,
    request,
    channel,
    errors,
    say: (line) => errors.write(`${line}\r\n`),
    sent: new Set(),
    ended: null,
    endNow: (reason, said) => {
      if (s.ended === null && said) s.endedSaid = said;
      s.ended ??= reason;
    },
  };
  let resolveDone: (v: { reason: string }) => void = () => {};
  const done = new Promise<{ reason: string }>((r) => {
    resolveDone = r;
  });
  // One resize at a time: two calls in flight may reach the engine out of order and leave the older size.
  let resizing: Promise<void> = Promise.resolve();
  const handle: SessionHandle = {
    id: s.id,
    resize(cols, rows) {
      s.recorder?.resize(cols, rows);
      const running = s.exec;
      if (!running) return;
      resizing = resizing.then(() => running.resize(cols, rows)).catch(() => undefined);
    },
    async signal(name) {
      const allowed = execSignal(name);
      const outcome: SignalOutcome = !allowed
        ? { delivered: false, reason: "not a signal a session may send" }
        : !s.exec?.signal
          ? { delivered: false, reason: s.exec ? "the workspace cannot signal commands" : "no command is running" }
          : await s.exec.signal(allowed);
      if (allowed && outcome.delivered) s.sent.add(allowed);
      ctx.logger.info(
        { session: s.id, signal: name, ...outcome },
        outcome.delivered ? "signal delivered" : "signal not delivered",
      );
      return outcome;
    },
    end: (reason, said) => s.endNow(reason, said),
    done,
  };
  runSession(ctx, s, handle).then(
    (reason) => resolveDone({ reason }),
    (err) => {
      ctx.logger.error({ err, session: s.id }, "session crashed");
      resolveDone({ reason: "crashed" });
    },
  );
  return handle;
}

/** The session from its access check to its end; resolves with why it ended, once its evidence is written. */
async function runSession(ctx: BridgeContext, s: SessionState, handle: SessionHandle): Promise<string> {
  const { principal, channel } = s;
  const auth = await ctx.decide(principal);
  if (!auth.ok) {
    s.say(sayTo(principal, auth.text));
    await channel.finish({ code: 1 });
    return auth.reason;
  }
  const { target } = auth;
  const refusal = await policyRefusal(ctx, s, target);
  if (refusal) {
    await channel.finish({ code: 1 });
    return refusal;
  }
  const started = ctx.now();
  const entry: Live = { principal, handle };
  ctx.live.add(entry);
  try {
    await startCommand(ctx, s, target, started);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    ctx.logger.warn({ err: message, session: s.id }, "session could not start");
    s.say(`azusa: the session could not start: ${message}`);
    ctx.live.delete(entry);
    // Without its evidence a command must not run on: its input closes (a shell then ends).
    (s.exec?.stdin as Writable | undefined)?.end();
    if (s.exec) await reapSession(ctx, s.id, target, s.request);
    await s.recorder?.close().catch(() => undefined);
    await ctx.log.failed(s.id, message, ctx.now());
    await channel.finish({ code: 1 });
    return message;
  }
  return await pipeSession(ctx, s, target, entry, started);
}

/** The template's refusal of this channel (file transfer, git, a restricted workspace), said and audited; or null. */
async function policyRefusal(ctx: BridgeContext, s: SessionState, target: Target): Promise<string | null> {
  const { principal, request } = s;
  const ssh = target.template?.azusa.ssh;
  const refusal = channelRefusal(
    { fileTransfer: Boolean(ssh?.fileTransfer), git: Boolean(ssh?.git), restricted: target.restricted },
    { kind: request.kind, command: request.command, pty: Boolean(request.pty), subsystem: request.subsystem },
  );
  if (!refusal) return null;
  // Said to the client (scp, sftp, git and rsync print it) and kept as evidence, what was asked included.
  s.say(`azusa: ${refusal.message}`);
  ctx.logger.info({ session: s.id, reason: refusal.reason }, "session channel refused");
  await ctx.log.channelRefused(
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
  return refusal.message;
}

/**
 * Writes the session's start and opens its recording and its command side by side (a login should cost what
 * docker exec costs); sets `s.exec` and `s.recorder`. Throws when either the evidence or the command failed.
 */
async function startCommand(ctx: BridgeContext, s: SessionState, target: Target, started: number): Promise<void> {
  const { principal, request } = s;
  const command = request.kind === "exec" ? (request.command ?? "") : null;
  const subsystem = request.subsystem ?? null;
  const evidence = ctx.log.started({
    id: s.id,
    workspaceId: target.workspace.id,
    packageId: principal.packageId,
    tenantId: target.tenantId,
    engineerId: principal.engineerId,
    transport: principal.transport,
    kind: request.kind,
    source: principal.source,
    startedAt: started,
    keyFingerprint: principal.keyFingerprint,
    command,
    subsystem,
  });
  const pty = request.pty;
  const cmd =
    request.kind === "exec" && request.command !== undefined
      ? ["/bin/sh", "-c", request.command]
      : ["/bin/sh", "-c", "if [ -x /bin/bash ]; then exec /bin/bash -l; else exec /bin/sh -l; fi"];
  const execRequest = {
    cmd,
    tty: Boolean(pty),
    env: { ...request.env, ...(pty ? { TERM: pty.term || "xterm-256color" } : {}), [SESSION_MARK]: s.id },
    cols: pty?.cols,
    rows: pty?.rows,
    workingDir: target.template?.azusa.workspaceFolder ?? "/workspace",
  };
  const starting = (async () => {
    const budget = await ctx.log.recordingBudget(target.workspace.id);
    s.recorder = openRecording(
      join(ctx.dataDir, recordingPath(target.tenantId, s.id)),
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
        now: ctx.now,
        limitBytes: budget.bytes,
        limitName: budget.name,
        // Past its cap the recording says so and stops; the row and the audit log say so too.
        onTruncated: (at, storedBytes) => {
          void evidence
            .then(() => ctx.log.truncated(s.id, target.tenantId, { at, storedBytes, cap: budget }))
            .catch((err) => ctx.logger.warn({ err, session: s.id }, "recording truncation not written"));
        },
        onError: (err) => {
          ctx.logger.error({ err, session: s.id }, "recording failed; ending the session");
          s.endNow("recording failed");
        },
        sink: ctx.recordingSink,
      },
    );
    return await ctx.exec(target, execRequest, (m) => s.say(sayTo(s.principal, m)));
  })();
  const [written, began] = await Promise.allSettled([evidence, starting]);
  if (began.status === "fulfilled") s.exec = began.value;
  if (written.status === "rejected") throw written.reason;
  if (began.status === "rejected") throw began.reason;
}

/**
 * Counts a session's bytes per activity bucket; written (with the workspace's last activity) at most every
 * `activityMs` and by `flush`. `active` hears of every chunk (the idle timer).
 */
function sessionActivity(ctx: BridgeContext, s: SessionState, target: Target, started: number, active: () => void) {
  // Keyed by bucket number: a chunk of data costs a division, not a Date; the ISO start is made when written.
  const counters = new Map<number, { in: number; out: number }>();
  let lastWrite = started;
  let lastActivity = started;
  let flushing: Promise<void> = Promise.resolve();
  const flush = () => {
    const buckets = new Map(counters);
    counters.clear();
    lastWrite = ctx.now();
    if (!buckets.size) return flushing;
    flushing = flushing.then(async () => {
      await ctx.log.activity(s.id, buckets);
      await ctx.workspaces.recordActivity(
        target.workspace.id,
        `${s.principal.transport} ${s.request.kind}`,
        new Date(lastActivity),
      );
    });
    flushing = flushing.catch((err) => ctx.logger.warn({ err, session: s.id }, "session activity not written"));
    return flushing;
  };
  const count = (direction: "in" | "out", bytes: number) => {
    const t = ctx.now();
    lastActivity = t;
    const bucket = Math.floor(t / BUCKET_MS);
    let c = counters.get(bucket);
    if (!c) {
      c = { in: 0, out: 0 };
      counters.set(bucket, c);
    }
    c[direction] += bytes;
    active();
    if (t - lastWrite >= ctx.activityMs) void flush();
  };
  return { count, flush };
}

/** Pipes the running command and the channel both ways until either ends; then writes the session's end. */
async function pipeSession(
  ctx: BridgeContext,
  s: SessionState,
  target: Target,
  entry: Live,
  started: number,
): Promise<string> {
  const { channel, errors } = s;
  // Set by startCommand, which the compiler does not follow.
  const running = s.exec as ExecSession;
  const rec = s.recorder as Recorder;
  const endedEarly: string | null = s.ended;
  const finished = new Promise<string>((resolve) => {
    s.endNow = (reason, said) => {
      if (s.ended === null && said) s.endedSaid = said;
      s.ended ??= reason;
      resolve(reason);
    };
  });
  // The transport went away (or access was revoked) while the command was starting.
  if (endedEarly) s.endNow(endedEarly, s.endedSaid);
  const idleTimer = setTimeout(() => s.endNow("idle timeout", { key: "session.idle" }), ctx.idleMs).unref();
  const atLimit = () => s.endNow("session time limit reached", { key: "session.limit" });
  const limitTimer = setTimeout(atLimit, ctx.maxSessionMs).unref();
  const activity = sessionActivity(ctx, s, target, started, () => idleTimer.refresh());

  // A recording that cannot be written ends the session through its onError; one that falls behind holds the
  // stream it records until it has caught up.
  const tap = (direction: "in" | "out", source: NodeJS.ReadableStream) => (data: Buffer) => {
    activity.count(direction, data.length);
    if (direction === "out") rec.output(data);
    else if (target.recordInput) rec.input(data);
    holdWhileBehind(rec, source);
  };

  // Output: recorded as it comes, gathered while it streams (output-gathering.ts), piped without ending the
  // channel, so the exit status can follow the last byte.
  const gathered = gatheringOutput();
  const outDone = new Promise<void>((resolve) => {
    running.stdout.on("data", tap("out", running.stdout));
    gathered.once("end", resolve);
    running.stdout.pipe(gathered).pipe(channel.output, { end: false });
  });
  const errDone = new Promise<void>((resolve) => {
    if (!running.stderr) return resolve();
    running.stderr.on("data", tap("out", running.stderr));
    running.stderr.once("end", resolve);
    running.stderr.pipe(errors, { end: false });
  });
  channel.input.on("data", tap("in", channel.input));
  channel.input.pipe(running.stdin as Writable);
  const completed = Promise.all([running.exit, outDone, errDone]).then(([exit]) => exit);

  const result = await Promise.race([
    completed.then((exit) => ({ exit, reason: "exited" })),
    finished.then((reason) => ({ exit: null, reason })),
  ]);
  clearTimeout(idleTimer);
  clearTimeout(limitTimer);
  ctx.live.delete(entry);
  channel.input.unpipe(running.stdin as Writable);
  running.stdout.unpipe(gathered);
  gathered.unpipe(channel.output);
  if (running.stderr) running.stderr.unpipe(errors);
  // The worst moment for the evidence: everything recorded, the recording not closed, the session's end not written.
  await ctx.pause("sessions.ending");
  let recordingError: string | null = null;
  let totals: RecordingTotals | null = null;
  try {
    totals = await rec.close();
  } catch (err) {
    recordingError = err instanceof Error ? err.message : String(err);
  }
  const status = result.exit ? endStatus(result.exit, s.sent) : null;
  if (!result.exit) s.say(s.endedSaid ? sayTo(s.principal, s.endedSaid) : `azusa: session ended: ${result.reason}`);
  // The end status goes after the last byte of output, whatever the transport.
  await Promise.all([drained(channel.output), channel.errors ? drained(channel.errors) : undefined]);
  await channel.finish(status ?? { reason: result.reason });
  // A command still running after a forced end gets its input closed; its output is no longer read.
  if (!result.exit) {
    (running.stdin as Writable).end();
    running.stdout.resume();
    running.stderr?.resume();
  }
  await activity.flush();
  const endReason = recordingError ? `recording failed: ${recordingError}` : result.reason;
  await ctx.log.ended(s.id, target.tenantId, {
    reason: endReason,
    status,
    at: ctx.now(),
    seconds: Math.round((ctx.now() - started) / 1000),
    recording: totals,
  });
  // After its end is written (what its client saw), before it is over: a shutdown waits for this too.
  await reapSession(ctx, s.id, target, s.request);
  return endReason;
}
