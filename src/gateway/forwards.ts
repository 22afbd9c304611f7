// Forwards (ssh -L, the IDE proxy's connections) and listeners in the workspace (ssh -R, agent, X11): each
// asks the access decision, is relayed by a command in the workspace, counts as activity and is audited.
import { randomBytes, randomUUID } from "node:crypto";
import type { Writable } from "node:stream";
import type { ExecSession } from "../provisioner/driver.ts";
import {
  type BridgeContext,
  commandless,
  type ForwardChannel,
  type ListenChannel,
  type ListenResult,
  type Live,
  type Principal,
} from "./bridge-types.ts";
import { runListener, stopCommand, type WorkspaceListener } from "./listener.ts";
import { type ListenSpec, listenerCommand, NO_PERL } from "./listener-frames.ts";
import {
  countsAsActivity,
  type ForwardRefusal,
  type ForwardRequest,
  forwardRefusal,
  type ListenRequest,
  listenRefusal,
  localRefusal,
  relayCommand,
  X11_FIRST_DISPLAY,
  X11_LAST_DISPLAY,
} from "./policy.ts";

/** Writes the workspace's last activity, `what` through it at `at`; a failure is only logged. */
const recordActivity = (ctx: BridgeContext, workspaceId: string, what: string, at: Date, id: string) =>
  ctx.workspaces
    .recordActivity(workspaceId, what, at)
    .catch((err) => ctx.logger.warn({ err, forward: id }, "forward activity not written"));

/**
 * What a forward or a listener does first: the access decision (the login's, if recent) and a writer of
 * its `<transport>.forward` audit events, each carrying who asked and `what`.
 */
async function forwardStart(ctx: BridgeContext, principal: Principal, what: Record<string, unknown>) {
  const id = randomUUID();
  const auth = await ctx.decide(principal);
  const who = {
    engineerId: principal.engineerId,
    packageId: principal.packageId,
    source: principal.source,
    ...what,
  };
  const tenantId = auth.ok ? auth.target.tenantId : (principal.authorized?.target.tenantId ?? null);
  const note = (details: Record<string, unknown>) =>
    ctx.log.forward(principal.transport, id, { ...who, ...details }, tenantId);
  return { id, auth, who, note };
}

/**
 * A local forward: allowed only to a destination the workspace's template lists, and relayed through
 * a command in the workspace. Every forward, refused or not, is audited as `<transport>.forward` with
 * its destination, bytes and outcome, and counts as activity. Resolves once it is over.
 */
export async function forward(
  ctx: BridgeContext,
  principal: Principal,
  request: ForwardRequest,
  channel: ForwardChannel,
): Promise<void> {
  const { exec, live, logger, idleMs, maxSessionMs, activityMs, now } = ctx;
  const { id, auth, who, note } = await forwardStart(ctx, principal, {
    destination: `${request.host}:${request.port}`,
  });
  const refusal = auth.ok ? localRefusal(auth.target.template, request, auth.target.restricted) : auth;
  if (!auth.ok || refusal) {
    const { code, reason, text } = auth.ok ? (refusal as ForwardRefusal) : auth;
    logger.info({ ...who, code, reason }, "port forwarding refused");
    channel.reject(reason, true, text);
    await note({ outcome: "refused", code, reason });
    return;
  }
  const { target } = auth;
  const started = now();
  let relay: ExecSession;
  try {
    relay = await exec(target, {
      cmd: relayCommand(request.host, request.port),
      tty: false,
    });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    logger.warn({ err: message, forward: id }, "forward could not start");
    channel.reject("the workspace could not relay the connection");
    await note({ outcome: `failed: ${message}` });
    return;
  }
  const stream = channel.accept();
  const bytes = { in: 0, out: 0 };
  let lastWrite = started;
  // When the engineer last did something through it: an IDE tab's own keep-alives do not count.
  let lastActive = request.ide ? 0 : started;
  const touch = (length: number) => {
    if (!countsAsActivity(request, length)) return;
    lastActive = now();
    if (lastActive - lastWrite < activityMs) return;
    lastWrite = lastActive;
    void recordActivity(ctx, target.workspace.id, `${principal.transport} forward`, new Date(lastWrite), id);
  };
  let complaint = "";
  relay.stderr?.on("data", (d: Buffer) => {
    if (complaint.length < 500) complaint += d.toString();
  });
  let idle: NodeJS.Timeout | undefined;
  relay.stdout.on("data", (d: Buffer) => {
    bytes.out += d.length;
    idle?.refresh();
    touch(d.length);
  });
  stream.on("data", (d: Buffer) => {
    bytes.in += d.length;
    idle?.refresh();
    touch(d.length);
  });
  stream.on("error", () => undefined);
  stream.pipe(relay.stdin as Writable);
  // The channel ends after the relay's last byte (exit can settle while output is still on its way).
  const drained = new Promise<void>((resolve) => relay.stdout.once("end", resolve));
  relay.stdout.pipe(stream);

  const { handle, ended: forced } = commandless(id, "forward");
  const endNow = handle.end;
  const entry: Live = { principal, handle };
  live.add(entry);
  stream.once("close", () => endNow("closed"));
  idle = setTimeout(() => endNow("idle timeout"), idleMs);
  const limit = setTimeout(() => endNow("session time limit reached"), maxSessionMs);
  idle.unref();
  limit.unref();
  const result = await Promise.race([
    Promise.all([relay.exit, drained]).then(([exit]) => ({ exit, reason: "closed" })),
    forced.then((reason) => ({ exit: null, reason })),
  ]);
  clearTimeout(idle);
  clearTimeout(limit);
  live.delete(entry);
  let exit = result.exit;
  if (!exit) {
    // The relay outlives its channel when its peer keeps the connection open: its input ends, then it is stopped.
    relay.stdout.unpipe(stream);
    if (!stream.destroyed) stream.end();
    relay.stdout.resume();
    exit = await stopCommand(relay);
  }
  endNow(result.reason);
  // A relay that could not connect closes the channel itself, often before its status is known.
  const failed = result.reason === "closed" && exit && exit.code !== 0 && bytes.out === 0;
  const outcome = failed ? `failed: ${complaint.trim() || `relay exited with ${exit?.code}`}` : result.reason;
  // The last activity is when it happened: an IDE connection that carried only keep-alives leaves none.
  if (lastActive > 0) {
    const at = new Date(request.ide ? lastActive : now());
    await recordActivity(ctx, target.workspace.id, `${principal.transport} forward`, at, id);
  }
  await note({
    workspaceId: target.workspace.id,
    outcome,
    bytesIn: bytes.in,
    bytesOut: bytes.out,
    seconds: Math.round((now() - started) / 1000),
  });
}

/**
 * A listener in the workspace (ssh -R, agent, X11) when the template allows it; each connection accepted
 * there becomes a transport channel. Audited as `<transport>.forward` with its kind: the refusal, each
 * connection (origin, bytes), and the listener's end; counts as activity; ends on revocation like a session.
 */
export async function listen(
  ctx: BridgeContext,
  principal: Principal,
  request: ListenRequest,
  channel: ListenChannel,
): Promise<ListenResult> {
  const { exec, live, logger, maxSessionMs, activityMs, now } = ctx;
  const destination = request.kind === "remote" ? `127.0.0.1:${request.port}` : request.kind;
  const { id, auth, who, note } = await forwardStart(ctx, principal, { kind: request.kind, destination });
  const refusal = auth.ok ? listenRefusal(auth.target.template, request, auth.target.restricted) : auth;
  if (!auth.ok || refusal) {
    const { code, reason, text } = auth.ok ? (refusal as ForwardRefusal) : auth;
    logger.info({ ...who, code, reason }, "forwarding refused");
    await note({ outcome: "refused", code, reason });
    return { ok: false, code, reason, text };
  }
  const { target } = auth;
  const started = now();
  const scratch = `/tmp/azusa-${request.kind}-${randomBytes(8).toString("hex")}`;
  const spec: ListenSpec =
    request.kind === "remote"
      ? { kind: "tcp", first: request.port, last: request.port }
      : request.kind === "agent"
        ? { kind: "unix", dir: scratch }
        : {
            kind: "tcp",
            first: 6000 + X11_FIRST_DISPLAY,
            last: 6000 + X11_LAST_DISPLAY,
            xauth: { dir: scratch, protocol: request.protocol, cookie: request.cookie },
          };
  const what = `${principal.transport} ${request.kind === "remote" ? "forward" : request.kind}`;
  let lastWrite = 0;
  const touch = (force = false) => {
    if (!force && now() - lastWrite < activityMs) return;
    lastWrite = now();
    void recordActivity(ctx, target.workspace.id, what, new Date(lastWrite), id);
  };
  let connections = 0;
  let listener: WorkspaceListener;
  try {
    listener = await runListener(await exec(target, { cmd: listenerCommand(spec), tty: false }), (conn) => {
      connections++;
      const origin = conn.origin.address ? `${conn.origin.address}:${conn.origin.port}` : "";
      const opened = now();
      channel.open(conn.origin).then(
        async (stream) => {
          touch(true);
          const bytes = await conn.attach(stream, () => touch());
          touch(true);
          await note({
            workspaceId: target.workspace.id,
            origin,
            outcome: "closed",
            bytesIn: bytes.in,
            bytesOut: bytes.out,
            seconds: Math.round((now() - opened) / 1000),
          });
        },
        async (err: unknown) => {
          conn.refuse();
          const message = err instanceof Error ? err.message : String(err);
          await note({ workspaceId: target.workspace.id, origin, outcome: `refused: ${message}` });
        },
      );
    });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    logger.warn({ err: message, forward: id }, "forwarding could not start");
    await note({ workspaceId: target.workspace.id, outcome: `failed: ${message}` });
    const failed =
      message === NO_PERL
        ? forwardRefusal("forward_failed", "forward.noPerl")
        : forwardRefusal("forward_failed", "forward.failed", { why: message });
    return { ok: false, ...failed };
  }
  const env: Record<string, string> =
    request.kind === "agent"
      ? { SSH_AUTH_SOCK: listener.bound }
      : request.kind === "x11"
        ? {
            DISPLAY: `localhost:${Number(listener.bound) - 6000}.${request.screen}`,
            XAUTHORITY: `${scratch}/Xauthority`,
          }
        : {};
  await note({ workspaceId: target.workspace.id, outcome: "listening", ...env });
  let resolveDone: (v: { reason: string }) => void = () => {};
  const done = new Promise<{ reason: string }>((resolve) => {
    resolveDone = resolve;
  });
  const { handle, ended: forced } = commandless(id, "listener", done);
  const limit = setTimeout(() => handle.end("session time limit reached"), maxSessionMs);
  limit.unref();
  const entry: Live = { principal, handle };
  live.add(entry);
  void (async () => {
    const reason = await Promise.race([forced, listener.closed]);
    clearTimeout(limit);
    live.delete(entry);
    await listener.close();
    touch(true);
    await note({
      workspaceId: target.workspace.id,
      outcome: reason,
      connections,
      seconds: Math.round((now() - started) / 1000),
    });
    resolveDone({ reason });
  })();
  return { ok: true, listening: { env, end: handle.end, done } };
}
