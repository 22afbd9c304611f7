// One SSH session channel: its pty, environment and signals, the agent and X11 listeners it asks for, and its
// shell, exec or subsystem handed to the bridge once those listen.
import type ssh2 from "ssh2";
import { text } from "../kernel/messages.ts";
import { type BridgeChannel, type Listening, type SessionHandle, type SessionRequest, sayTo } from "./bridge-types.ts";
import { allowedEnv, forwardRefusal, type ListenRequest, listenRefusal } from "./policy.ts";
import type { SshConnection } from "./ssh-connection.ts";
import { openAgentChannel, sftpServer } from "./ssh-protocol.ts";

/** What a session has been asked for before its command. */
interface SessionSetup {
  pty?: SessionRequest["pty"];
  env: Record<string, string>;
  handle?: SessionHandle;
  /** Agent and X11 listeners asked for before the command: it starts once they listen, with their env. */
  preparing: Promise<void>[];
  /** Said on the channel's stderr before the command starts (a forwarding that is not available). */
  notices: string[];
  x11?: Listening;
  closed: boolean;
}

/** Serves a session channel on `conn`, within its limit of sessions. */
export function serveSession(conn: SshConnection, acceptSession: () => ssh2.Session, rejectSession: () => void): void {
  const { ip, logger } = conn;
  if (conn.openSessions >= conn.limits.maxSessions) {
    rejectSession();
    return;
  }
  const session = acceptSession();
  conn.openSessions++;
  const s: SessionSetup = { env: {}, preparing: [], notices: [], closed: false };
  session.once("close", () => {
    conn.openSessions--;
    s.closed = true;
    s.x11?.end("the session ended");
  });

  session.on("pty", (accept, _reject, info) => {
    s.pty = { cols: info.cols || 80, rows: info.rows || 24, term: info.term || "xterm" };
    accept?.();
  });
  session.on("window-change", (accept, _reject, info) => {
    if (s.pty) s.pty = { ...s.pty, cols: info.cols, rows: info.rows };
    s.handle?.resize(info.cols, info.rows);
    accept?.();
  });
  session.on("env", (accept, reject, info) => {
    if (allowedEnv(info.key) && !info.val.includes("\0")) {
      s.env[info.key] = info.val;
      accept?.();
    } else reject?.();
  });
  session.on("shell", (accept) => start(conn, s, accept(), { kind: "shell" }));
  session.on("exec", (accept, _reject, info) => start(conn, s, accept(), { kind: "exec", command: info.command }));
  // No "sftp" listener: ssh2 then hands SFTP over as a raw subsystem channel, which the workspace's own
  // sftp-server speaks to, through the bridge like any command. The bridge refuses it, with a message
  // the client prints and an audit event, unless the template allows file transfer.
  session.on("subsystem", (accept, reject, info) => {
    if (info.name === "sftp") return start(conn, s, accept(), { kind: "exec", command: sftpServer, subsystem: "sftp" });
    logger.info({ ip, subsystem: info.name }, "ssh subsystem refused");
    reject();
  });
  session.on("auth-agent", (accept, reject) => forwardAgent(conn, s, accept, reject));
  session.on("x11", (accept, reject, info) => forwardX11(conn, s, info, accept, reject));
  // Acknowledged like OpenSSH does; the bridge logs a signal it could not deliver.
  session.on("signal", (accept, _reject, info) => {
    accept?.();
    void s.handle?.signal(info.name);
  });
}

/** What a session channel runs: a shell, a command, or the server command of a subsystem. */
type Command = Pick<SessionRequest, "kind" | "command" | "subsystem">;

/** Starts the session's command once the listeners it asked for (and the connection's remote forwards) listen. */
function start(conn: SshConnection, s: SessionSetup, stream: ssh2.ServerChannel, command: Command): void {
  // As with OpenSSH, remote forwards asked for before the session listen before its command runs.
  const waiting = [...s.preparing, ...conn.remote.values()];
  const go = () => {
    // What was refused meanwhile (its forwards, the connection's), then what this session is told from now on.
    for (const line of [...conn.untold.splice(0), ...s.notices]) stream.stderr.write(`${line}\r\n`);
    conn.errorOutputs.add(stream.stderr);
    stream.once("close", () => conn.errorOutputs.delete(stream.stderr));
    begin(conn, s, stream, command);
  };
  if (waiting.length) void Promise.all(waiting).then(go);
  else go();
}

/** Hands the channel to the bridge. */
function begin(conn: SshConnection, s: SessionSetup, stream: ssh2.ServerChannel, command: Command): void {
  const channel: BridgeChannel = {
    input: stream,
    output: stream,
    errors: stream.stderr,
    finish(status) {
      if ("code" in status) stream.exit(status.code);
      else if ("signal" in status) stream.exit(status.signal, false, "");
      stream.end();
    },
  };
  const h = conn.bridge.open(conn.who, { ...command, pty: s.pty, env: s.env }, channel);
  s.handle = h;
  conn.handles.add(h);
  stream.once("close", () => h.end("the client closed the channel"));
  if (s.closed) h.end("the client closed the channel");
  void h.done.then(({ reason }) => {
    conn.handles.delete(h);
    // A revoked engineer loses the whole connection, not only this channel.
    conn.ended(reason);
  });
}

/** Agent forwarding: one socket per connection in the workspace, for the sessions that ask. */
function forwardAgent(conn: SshConnection, s: SessionSetup, accept?: () => void, reject?: () => void): void {
  const refusal = listenRefusal(conn.template(), { kind: "agent" }, conn.restricted());
  if (refusal) {
    conn.logger.info({ ip: conn.ip, code: refusal.code }, "ssh agent forwarding refused");
    // OpenSSH asks without waiting for the answer: the session says why before its command.
    s.notices.push(sayTo(conn.who, refusal.text));
    reject?.();
    return;
  }
  accept?.();
  const current = conn.agent ?? conn.listen({ kind: "agent" }, () => openAgentChannel(conn.client));
  if (!conn.agent) {
    conn.agent = current;
    // A listener that ended is started again by the next session that asks.
    void current
      .then((r) => (r.ok ? r.listening.done : undefined))
      .then(() => {
        if (conn.agent === current) conn.agent = undefined;
      });
  }
  s.preparing.push(
    current.then((r) => {
      if (r.ok) Object.assign(s.env, r.listening.env);
      else s.notices.push(sayTo(conn.who, text("forward.agentUnavailable", { why: r.text })));
    }),
  );
}

/** X11 forwarding: a display in the workspace for this session, with the client's (fake) cookie. */
function forwardX11(
  conn: SshConnection,
  s: SessionSetup,
  info: ssh2.X11Info,
  accept?: () => void,
  reject?: () => void,
): void {
  const cookie = info.cookie as unknown;
  const request: ListenRequest = {
    kind: "x11",
    protocol: info.protocol,
    cookie: Buffer.isBuffer(cookie) ? cookie.toString("latin1") : String(cookie),
    screen: info.screen,
  };
  const refusal =
    listenRefusal(conn.template(), request, conn.restricted()) ??
    (s.x11 ? forwardRefusal("x11_twice", "forward.x11Twice") : null);
  if (refusal) {
    conn.logger.info({ ip: conn.ip, code: refusal.code }, "ssh X11 forwarding refused");
    s.notices.push(sayTo(conn.who, refusal.text));
    reject?.();
    return;
  }
  accept?.();
  s.preparing.push(
    conn
      .listen(
        request,
        (origin) =>
          new Promise((resolve, fail) =>
            conn.client.x11(origin.address, origin.port, (err, ch) => (err ? fail(err) : resolve(ch))),
          ),
      )
      .then((r) => {
        if (!r.ok) return void s.notices.push(sayTo(conn.who, text("forward.x11Unavailable", { why: r.text })));
        s.x11 = r.listening;
        if (s.closed) s.x11.end("the session ended");
        Object.assign(s.env, r.listening.env);
      }),
  );
}
