// The exec bridge: one code path from any transport (an SSH channel, a browser socket, the IDE proxy) into a
// workspace, with the access check, session policy, recording, revocation and evidence. Sessions are in
// bridge-session.ts, forwards and listeners in forwards.ts; this holds what they share.
import { randomUUID } from "node:crypto";
import type { Authorization, Said, SessionAccess, Target } from "../domain/sessions/access.ts";
import type { SessionLog } from "../domain/sessions/session-log.ts";
import type { WorkspaceService } from "../domain/workspaces/workspaces.service.ts";
import type { Actor } from "../kernel/actor.ts";
import { AppError } from "../kernel/errors.ts";
import { type Text, text } from "../kernel/messages.ts";
import { noPause, type PausePoint } from "../kernel/pause.ts";
import type { Logger } from "../logger.ts";
import type { ExecRequest, ExecSession, WorkspaceDriver } from "../provisioner/driver.ts";
import { openSession } from "./bridge-session.ts";
import {
  type BridgeChannel,
  type BridgeContext,
  commandless,
  type ForwardChannel,
  type ListenChannel,
  type Live,
  type Principal,
  type SessionHandle,
  type SessionRequest,
} from "./bridge-types.ts";
import { forward, listen } from "./forwards.ts";
import type { ForwardRequest, ListenRequest } from "./policy.ts";

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
  /** Test-only: where a test may hold the process to kill it (AZUSA_TEST_PAUSE_AT). */
  pause?: PausePoint;
  /** Test-only: what recordings pass through on their way to their file (a slow disk). */
  recordingSink?: BridgeContext["recordingSink"];
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
  pause = noPause,
  recordingSink,
}: BridgeOptions) {
  const system: Actor = { kind: "system", name: "gateway" };
  const live = new Set<Live>();

  /** The one decision whether `principal` may open sessions, made at login and again while they run. */
  const authorize = (principal: Principal): Promise<Authorization> => access.authorize(principal);

  /**
   * Every channel asks the transport's own check (is the key still registered?); the access decision made at
   * login serves the channels opened within 5 s of it, and later ones ask afresh. A new channel on a connection
   * whose key was removed (a ControlMaster's next session, however soon after the login) is refused, not opened
   * and ended a second later.
   */
  const decide = async (principal: Principal): Promise<Authorization> => {
    const recent = principal.authorized && now() - principal.authorized.at < 5000 ? principal.authorized : null;
    const [revoked, auth] = await Promise.all([
      principal.recheck?.() ?? null,
      recent ? ({ ok: true, target: recent.target } as const) : authorize(principal),
    ]);
    return revoked ? { ok: false, code: "revoked", ...revoked } : auth;
  };

  /** Starts a stopped workspace, telling the user on `say`. */
  async function ensureRunning(target: Target, say: (message: Text) => void): Promise<void> {
    const status = await driver.status(target.ref);
    if (status === "running") return;
    if (status === "missing") throw new Error("the workspace's container is gone");
    say({ key: "session.starting" });
    const t0 = now();
    await workspaces.start(system, target.workspace.id);
    say({ key: "session.started", params: { seconds: ((now() - t0) / 1000).toFixed(1) } });
  }

  /** Runs `request` in the target's workspace; a stopped one (INVALID_STATE) is started first, saying so on `say`. */
  async function execRunning(
    target: Target,
    request: ExecRequest,
    say: (message: Text) => void = () => undefined,
  ): Promise<ExecSession> {
    try {
      return await driver.exec(target.ref, request);
    } catch (err) {
      if (!(err instanceof AppError && err.code === "INVALID_STATE")) throw err;
      await ensureRunning(target, say);
      return await driver.exec(target.ref, request);
    }
  }

  const context: BridgeContext = {
    decide,
    exec: execRunning,
    execNow: (target, request) => driver.exec(target.ref, request),
    live,
    log,
    workspaces,
    logger,
    dataDir,
    idleMs,
    maxSessionMs,
    activityMs,
    now,
    pause,
    ...(recordingSink ? { recordingSink } : {}),
  };

  /** Opens a session (see openSession): refusals finish the channel with a reason. */
  const open = (principal: Principal, request: SessionRequest, channel: BridgeChannel): SessionHandle =>
    openSession(context, principal, request, channel);

  let checking = false;
  let again = false;
  /** Checks every live session now, or once more after the check under way (which may predate a revocation). */
  function checkNow(): void {
    if (checking) {
      again = true;
      return;
    }
    if (live.size === 0) return;
    checking = true;
    void recheckLive(live, authorize, logger).finally(() => {
      checking = false;
      if (again) {
        again = false;
        checkNow();
      }
    });
  }
  const timer = setInterval(() => checking || checkNow(), recheckMs);
  timer.unref();

  /**
   * Keeps a logged-in connection under the revocation check while it carries nothing (a ControlMaster master,
   * `ssh -N`): once its key or its access goes, `end` is called with the reason. Returns the release, for when
   * the connection closes.
   */
  function hold(principal: Principal, end: (reason: string) => void): () => void {
    // Nothing of its own to write: the sessions it carries are live entries of their own.
    const { handle, ended } = commandless(randomUUID(), "connection", Promise.resolve({ reason: "held" }));
    void ended.then(end);
    const entry: Live = { principal, handle };
    live.add(entry);
    return () => {
      live.delete(entry);
    };
  }

  return {
    authorize,
    open,
    /** A local forward (see forwards.ts), resolved once it is over. */
    forward: (principal: Principal, request: ForwardRequest, channel: ForwardChannel) =>
      forward(context, principal, request, channel),
    /** A listener in the workspace (see forwards.ts). */
    listen: (principal: Principal, request: ListenRequest, channel: ListenChannel) =>
      listen(context, principal, request, channel),
    hold,
    /** Asks the access check again for every live session at once (a revocation made in another process). */
    recheck: checkNow,
    /**
     * Asks the access check again for every live session now and waits until those refused have ended, their
     * clients told why (bounded by `waitMs`): what is about to stop a workspace under them calls this first.
     */
    settle: (waitMs = 5_000) => settleLive(live, authorize, logger, waitMs),
    /** Ends every live session (shutdown) and waits for their evidence to be written. */
    async close(reason = "Azusa is shutting down"): Promise<void> {
      clearInterval(timer);
      const handles = [...live].map((l) => l.handle);
      for (const h of handles) h.end(reason);
      await Promise.all(handles.map((h) => h.done));
    },
  };
}

/** Checks every live session again; those whose engineer lost the right are ended, and returned. */
async function recheckLive(
  live: Set<Live>,
  authorize: (principal: Principal) => Promise<Authorization>,
  logger: Logger,
): Promise<Live["handle"][]> {
  const ended: Live["handle"][] = [];
  // Each transport's own check once (an SSH connection's key, a browser's sign-in), and the access
  // decision once per engineer, package and address: the sessions that share one share its answer.
  const byAccess = new Map<string, Live[]>();
  const byOwn = new Map<() => Promise<Said | null>, Live[]>();
  const add = <K>(groups: Map<K, Live[]>, key: K, l: Live) => {
    const group = groups.get(key);
    if (group) group.push(l);
    else groups.set(key, [l]);
  };
  for (const l of live) {
    add(byAccess, `${l.principal.engineerId}|${l.principal.packageId}|${l.principal.source}`, l);
    if (l.principal.recheck) add(byOwn, l.principal.recheck, l);
  }
  const endAll = async (sessions: Live[], decide: () => Promise<Said | null>) => {
    try {
      const why = await decide();
      if (!why) return;
      for (const s of sessions) {
        s.handle.end(`access revoked: ${why.reason}`, text("access.revoked", { why: why.text }));
        ended.push(s.handle);
      }
    } catch (err) {
      logger.warn({ err }, "session re-check failed");
    }
  };
  await Promise.all([
    ...[...byOwn].map(([check, sessions]) => endAll(sessions, check)),
    ...[...byAccess.values()].map((sessions) =>
      endAll(sessions, async () => {
        const first = sessions[0];
        return first ? authorize(first.principal).then((a) => (a.ok ? null : a)) : null;
      }),
    ),
  ]);
  return ended;
}

/** Checks every live session now and waits, at most `waitMs`, until those refused have ended. */
async function settleLive(
  live: Set<Live>,
  authorize: (principal: Principal) => Promise<Authorization>,
  logger: Logger,
  waitMs: number,
): Promise<void> {
  if (live.size === 0) return;
  const ended = await recheckLive(live, authorize, logger);
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, waitMs);
    timer.unref();
  });
  await Promise.race([Promise.all(ended.map((h) => h.done)), bound]);
  clearTimeout(timer);
}

export type Bridge = ReturnType<typeof createBridge>;
