// The bridge's contract with its transports (an SSH connection, a browser socket, the IDE proxy): who asks,
// the channels they hand over, and the handles of what runs for them.
import type { Duplex, Readable, Writable } from "node:stream";
import type { AccessRequest, Authorization, Said, Target } from "../domain/sessions/access.ts";
import type { RecordingOptions } from "../domain/sessions/recorder.ts";
import type { SessionLog } from "../domain/sessions/session-log.ts";
import type { WorkspaceService } from "../domain/workspaces/workspaces.service.ts";
import { type Lang, say, type Text } from "../kernel/messages.ts";
import type { PausePoint } from "../kernel/pause.ts";
import type { Logger } from "../logger.ts";
import type { ExecRequest, ExecSession, SignalOutcome } from "../provisioner/driver.ts";

/** Who wants in, from where, over what, with what the transport itself keeps checking. */
export interface Principal extends AccessRequest {
  /** SHA256 fingerprint of the SSH key used, when there is one. */
  keyFingerprint?: string;
  /**
   * A transport's own check, repeated while sessions run (e.g. "is the SSH key still registered?");
   * resolves to why the session ends, or null.
   */
  recheck?: () => Promise<Said | null>;
  /**
   * The language Azusa speaks to this person in (refusals, why a session ended): over SSH the one they chose in
   * their settings, in a browser the page's. Japanese when not known.
   */
  lang?: Lang;
  /** The access decision made at login; a channel opened within 5 s of it does not ask for it again. */
  authorized?: { target: Target; at: number };
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
  /**
   * Ends the session now (revocation, limits, the transport went away): `reason` is the evidence, `said` what the
   * user is told, in their language (the English reason when absent).
   */
  end(reason: string, said?: Text): void;
  /** Settles once the session is over and its evidence is written. */
  done: Promise<{ reason: string }>;
}

/** A transport's half of a forward: accept it (a byte stream both ways) or refuse it, saying why. */
export interface ForwardChannel {
  accept(): Duplex;
  /**
   * `prohibited`: refused by policy (SSH's "administratively prohibited"), not a connection that failed; `said`:
   * the refusal in words for the engineer, said in their language where the transport can.
   */
  reject(reason?: string, prohibited?: boolean, said?: Text): void;
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

/** What starting a listener comes to: it listens, or why it does not. */
export type ListenResult = { ok: true; listening: Listening } | { ok: false; code: string; reason: string; text: Text };

/** A session, forward or listener that is running, and who opened it. */
export interface Live {
  principal: Principal;
  handle: SessionHandle;
}

/** What sessions, forwards and listeners share with the bridge: its access decision, its live set, its limits. */
export interface BridgeContext {
  /** The access decision (the login's, if recent). */
  decide(principal: Principal): Promise<Authorization>;
  /** Runs a command in the target's workspace, starting a stopped one first (saying so on `say`). */
  exec(target: Target, request: ExecRequest, say?: (message: Text) => void): Promise<ExecSession>;
  /** Runs a command in the target's workspace only if it is running (rejects otherwise). */
  execNow(target: Target, request: ExecRequest): Promise<ExecSession>;
  /** What runs now, checked again for revocation every interval. */
  live: Set<Live>;
  log: SessionLog;
  workspaces: WorkspaceService;
  logger: Logger;
  /** Recordings go to `<dataDir>/recordings/<tenant>/<session>.cast.gz`. */
  dataDir: string;
  idleMs: number;
  maxSessionMs: number;
  /** How often activity is written at most. */
  activityMs: number;
  now: () => number;
  /** Test-only: where a test may hold the process to kill it (AZUSA_TEST_PAUSE_AT). */
  pause: PausePoint;
  /** Test-only: what recordings pass through on their way to their file (a slow disk). */
  recordingSink?: RecordingOptions["sink"];
}

/** A message in the language of the person behind `principal`, as a line from Azusa. */
export const sayTo = (principal: Principal, message: Text): string => `azusa: ${say(principal.lang ?? "ja", message)}`;

/**
 * The handle of something that runs no command of its own (a forward, a listener, a held connection):
 * `end` settles `ended` with the first reason given; `done` settles with it unless given.
 */
export function commandless(
  id: string,
  what: string,
  done?: Promise<{ reason: string }>,
): { handle: SessionHandle; ended: Promise<string> } {
  let endNow: (reason: string) => void = () => {};
  const ended = new Promise<string>((resolve) => {
    endNow = resolve;
  });
  const handle: SessionHandle = {
    id,
    resize: () => undefined,
    signal: async () => ({ delivered: false, reason: `a ${what} has no command to signal` }),
    end: (reason) => endNow(reason),
    done: done ?? ended.then((reason) => ({ reason })),
  };
  return { handle, ended };
}
