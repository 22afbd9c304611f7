// One logged-in SSH connection: its sessions (ssh-session.ts), local forwards (ssh -L, -W) and remote ones
// (ssh -R) within their limits, all ended with it, and the connection itself closed once access is revoked.
import type { Duplex, Writable } from "node:stream";
import type ssh2 from "ssh2";
import type { Target } from "../domain/sessions/access.ts";
import { type Text, text } from "../kernel/messages.ts";
import type { Logger } from "../logger.ts";
import type { Bridge } from "./bridge.ts";
import { type Listening, type ListenResult, type Principal, type SessionHandle, sayTo } from "./bridge-types.ts";
import { forwardRefusal, type ListenRequest } from "./policy.ts";
import { disconnectWith, SSH_OPEN_ADMINISTRATIVELY_PROHIBITED } from "./ssh-protocol.ts";
import { serveSession } from "./ssh-session.ts";

/** Refusals kept for the next session of a connection that has none running. */
const MAX_UNTOLD = 10;

/** What one connection may carry at once. */
export interface ConnectionLimits {
  /** Sessions (channels). */
  maxSessions: number;
  /** Forwarded connections (each is a command in the workspace). */
  maxForwards: number;
  /** Remote forwards (ssh -R) listening. */
  maxRemoteForwards: number;
}

/** A logged-in connection, as its sessions see it. */
export interface SshConnection {
  client: ssh2.Connection;
  who: Principal;
  ip: string;
  bridge: Bridge;
  logger: Logger;
  limits: ConnectionLimits;
  /** Sessions open now. */
  openSessions: number;
  /** Commands running for its sessions: ended when it closes. */
  handles: Set<SessionHandle>;
  /** Remote forwards by "address:port": a session's command starts once they listen, as with OpenSSH. */
  remote: Map<string, Promise<Listening | null>>;
  /** The connection's agent listener, shared by the sessions that ask for agent forwarding. */
  agent?: Promise<ListenResult>;
  /** The error output of each session whose command runs: where a forward's refusal is said. */
  errorOutputs: Set<Writable>;
  /** Refusals said while no session ran: the next session says them first. */
  untold: string[];
  /**
   * Says `message` to the engineer in their language on the connection's sessions (or the next one): a forward's
   * refusal reaches OpenSSH's user readably only there, as the rest of SSH's messages are printed escaped.
   */
  tell(message: Text): void;
  template(): Target["template"] | undefined;
  restricted(): boolean;
  /**
   * Starts a listener in the workspace, tied to this connection: it ends with it, or ends it when revoked.
   * `open` makes the client's channel for each connection accepted there.
   */
  listen(
    request: ListenRequest,
    open: (origin: { address: string; port: number }) => Promise<Duplex>,
  ): Promise<ListenResult>;
  /** What ended (a session, a listener) ended for `reason`: a revocation ends the whole connection. */
  ended(reason: string): void;
}

/** Serves a connection once it has logged in as `who`, until it closes. */
export function serveConnection(
  client: ssh2.Connection,
  who: Principal,
  ip: string,
  { bridge, logger, limits }: { bridge: Bridge; logger: Logger; limits: ConnectionLimits },
): void {
  logger.info({ ip, engineer: who.engineerId, package: who.packageId }, "ssh login");
  // Checked again while it carries nothing too (a ControlMaster master, ssh -N): once the key or the
  // access goes, the connection is closed, saying why, after its sessions had a moment to print theirs (in the
  // engineer's language); the disconnect's own words stay English, as OpenSSH prints other bytes as octal escapes.
  const release = bridge.hold(who, (reason) => {
    setTimeout(() => disconnectWith(client, `azusa: ${reason}`), 500).unref();
  });
  const listenings = new Set<Listening>();
  let closed = false;
  let openForwards = 0;
  /** A channel back to the client for a connection accepted in the workspace, within `maxForwards`. */
  const limited = async (open: () => Promise<Duplex>): Promise<Duplex> => {
    if (openForwards >= limits.maxForwards) throw new Error("too many forwarded connections");
    openForwards++;
    try {
      const stream = await open();
      stream.once("close", () => {
        openForwards--;
      });
      return stream;
    } catch (err) {
      openForwards--;
      throw err;
    }
  };
  const conn: SshConnection = {
    client,
    who,
    ip,
    bridge,
    logger,
    limits,
    openSessions: 0,
    handles: new Set(),
    remote: new Map(),
    errorOutputs: new Set(),
    untold: [],
    tell(message) {
      const line = sayTo(who, message);
      if (!conn.errorOutputs.size) {
        if (conn.untold.length < MAX_UNTOLD) conn.untold.push(line);
        return;
      }
      for (const out of conn.errorOutputs) out.write(`${line}\r\n`);
    },
    template: () => who.authorized?.target.template,
    restricted: () => Boolean(who.authorized?.target.restricted),
    async listen(request, open) {
      const result = await bridge.listen(who, request, { open: (origin) => limited(() => open(origin)) });
      if (!result.ok) return result;
      const l = result.listening;
      listenings.add(l);
      if (closed) l.end("the connection closed");
      void l.done.then(({ reason }) => {
        listenings.delete(l);
        conn.ended(reason);
      });
      return result;
    },
    ended(reason) {
      // A client gets a moment to print what it was told: OpenSSH drops unwritten stderr when disconnected at once.
      if (reason.startsWith("access revoked")) setTimeout(() => client.end(), 500).unref();
    },
  };
  client.once("close", () => {
    closed = true;
    release();
    for (const h of conn.handles) h.end("the connection closed");
    for (const l of listenings) l.end("the connection closed");
  });

  client.on("session", (accept, reject) => serveSession(conn, accept, reject));
  // Local forwards (ssh -L, -W) to destinations the template lists, relayed from inside the workspace.
  client.on("tcpip", (accept, reject, info) => {
    // ssh2, as patched (patches/), sends a description and a reason code with a refusal; the client
    // prints them ("open failed: administratively prohibited: azusa: …"), in English: OpenSSH prints other
    // characters there as octal escapes. The sessions on the connection say it in the engineer's language.
    const destination = `${info.destIP}:${info.destPort}`;
    const refuse = (why?: string, prohibited?: boolean, said?: Text) => {
      (reject as (description?: string, code?: number) => void)(
        why ? `azusa: ${why}` : undefined,
        prohibited ? SSH_OPEN_ADMINISTRATIVELY_PROHIBITED : undefined,
      );
      if (said) conn.tell(text("forward.refusedLocal", { destination, why: said }));
    };
    if (openForwards >= limits.maxForwards) {
      logger.info({ ip, dest: destination }, "ssh port forwarding refused: too many");
      const { reason, text: said } = forwardRefusal("too_many_forwards", "forward.tooMany", {
        max: limits.maxForwards,
      });
      return refuse(reason, true, said);
    }
    openForwards++;
    void bridge
      .forward(who, { host: info.destIP, port: info.destPort }, { accept, reject: refuse })
      .catch((err) => logger.error({ err, ip }, "ssh port forwarding failed"))
      .finally(() => {
        openForwards--;
      });
  });
  client.on("request", (accept, reject, name, info) => globalRequest(conn, name, info, accept, reject));
}

/** Remote forwards (ssh -R) from ports the template lists, listening on the workspace's 127.0.0.1; nothing else. */
function globalRequest(
  conn: SshConnection,
  name: string,
  info: ssh2.TcpipBindInfo,
  accept?: () => void,
  reject?: () => void,
): void {
  const { client, ip, logger, remote } = conn;
  const key = `${info?.bindAddr}:${info?.bindPort}`;
  if (name === "tcpip-forward") {
    const { bindAddr, bindPort } = info;
    if (remote.has(key) || remote.size >= conn.limits.maxRemoteForwards) {
      logger.info({ ip, bind: key }, "ssh remote forwarding refused: already listening or too many");
      conn.tell(text("forward.remoteTaken", { bind: key, max: conn.limits.maxRemoteForwards }));
      reject?.();
      return;
    }
    const listening = conn
      .listen(
        { kind: "remote", address: bindAddr, port: bindPort },
        (origin) =>
          new Promise((resolve, fail) =>
            client.forwardOut(bindAddr, bindPort, origin.address, origin.port, (err, ch) =>
              err ? fail(err) : resolve(ch),
            ),
          ),
      )
      .then((r) => {
        if (!r.ok) {
          if (remote.get(key) === listening) remote.delete(key);
          // SSH's refusal of a global request carries no words: the sessions say why (a session waits for them).
          conn.tell(
            r.code === "forward_failed" ? text("forward.remoteUnavailable", { port: bindPort, why: r.text }) : r.text,
          );
          reject?.();
          return null;
        }
        accept?.();
        void r.listening.done.then(() => {
          if (remote.get(key) === listening) remote.delete(key);
        });
        return r.listening;
      });
    remote.set(key, listening);
    return;
  }
  if (name === "cancel-tcpip-forward" && remote.has(key)) {
    void remote.get(key)?.then((l) => l?.end("cancelled by the client"));
    remote.delete(key);
    accept?.();
    return;
  }
  logger.info({ ip, request: name }, "ssh global request refused");
  reject?.();
}
