// Azusa's own SSH server (ssh2): public-key login against the engineers' registered keys, the user name
// picking the package, request policy from the workspace's template, and each channel handed to the bridge.
import { createHash } from "node:crypto";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import ssh2 from "ssh2";
import type { SessionAccess } from "../domain/sessions/access.ts";
import type { SessionLog } from "../domain/sessions/session-log.ts";
import { AppError } from "../kernel/errors.ts";
import type { Logger } from "../logger.ts";
import type { Bridge, BridgeChannel, Listening, Principal, SessionHandle } from "./bridge.ts";
import { publicHostKey } from "./host-key.ts";
import type { Lockout } from "./lockout.ts";
import { allowedEnv, type ListenRequest, listenRefusal } from "./policy.ts";

/**
 * Modern algorithms only: no SHA-1, no CBC, no group1/group14-sha1. ssh2 always offers strict key
 * exchange (kex-strict-s-v00@openssh.com), which closes Terrapin for chacha20-poly1305 and EtM MACs.
 */
export const algorithms: ssh2.Algorithms = {
  kex: [
    "curve25519-sha256",
    "curve25519-sha256@libssh.org",
    "ecdh-sha2-nistp256",
    "ecdh-sha2-nistp384",
    "ecdh-sha2-nistp521",
    "diffie-hellman-group16-sha512",
    "diffie-hellman-group18-sha512",
    "diffie-hellman-group14-sha256",
  ],
  cipher: [
    "aes128-gcm@openssh.com",
    "aes256-gcm@openssh.com",
    "chacha20-poly1305@openssh.com",
    "aes128-ctr",
    "aes192-ctr",
    "aes256-ctr",
  ],
  hmac: ["hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com", "hmac-sha2-256", "hmac-sha2-512"],
  serverHostKey: ["ssh-ed25519"],
  compress: ["none"],
};

/** SSH's reason code for a channel refused by policy (RFC 4254 section 5.1). */
const SSH_OPEN_ADMINISTRATIVELY_PROHIBITED = 1;

/** Keys a client may offer on one connection (OpenSSH's own MaxAuthTries is 6). */
export const MAX_KEYS_PER_CONNECTION = 6;

/** The places Debian, Fedora and Alpine put OpenSSH's sftp-server. */
const sftpServer =
  "for s in /usr/lib/openssh/sftp-server /usr/libexec/openssh/sftp-server /usr/lib/ssh/sftp-server; do [ -x $s ] && exec $s; done; echo 'no sftp-server in this workspace' >&2; exit 127";

/** `pkg-<id>` or the package id itself; null when the name is neither. */
export function packageFromUser(user: string): string | null {
  const id = user.startsWith("pkg-") ? user.slice(4) : user;
  return /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(id) ? id : null;
}

/**
 * Opens an `auth-agent@openssh.com` channel to the client (agent forwarding). ssh2 1.x's server speaks
 * the message (`Protocol.openssh_authAgent`) but has no method for it, so this does what its
 * `x11`/`forwardOut` do: register the pending channel, then ask the client.
 */
export function openAgentChannel(client: ssh2.Connection): Promise<Duplex> {
  const internals = client as unknown as {
    _chanMgr: { add(callback: unknown): number };
    _protocol: { openssh_authAgent(channel: number, window: number, packetSize: number): void };
  };
  return new Promise((resolve, reject) => {
    const callback = Object.assign(
      (err: Error | undefined, stream: ssh2.ServerChannel) => (err ? reject(err) : resolve(stream)),
      { type: "auth-agent@openssh.com" },
    );
    const local = internals._chanMgr.add(callback);
    if (local === -1) return reject(new Error("no free channels"));
    internals._protocol.openssh_authAgent(local, 2 * 1024 * 1024, 32 * 1024);
  });
}

/** What SSH clients are told when the gateway closes for a shutdown; OpenSSH prints it. */
export const RESTARTING = "Azusa is restarting; reconnect in a moment";
/** What an SSH client is told when its login cannot be checked because the database does not answer. */
export const UNAVAILABLE = "Azusa cannot check logins for a moment (its database does not answer); try again shortly";

/**
 * Ends a connection with SSH_MSG_DISCONNECT carrying `description` (RFC 4253 §11.1), reason
 * BY_APPLICATION. ssh2's `end()` always sends the description empty, so this builds the packet the way
 * its `Protocol.disconnect` does, with the text added, and then ends the socket.
 */
export function disconnectWith(client: ssh2.Connection, description: string): void {
  const internals = client as unknown as {
    _sock?: { writable?: boolean; end(): void };
    _protocol: {
      _packetRW: {
        write: {
          allocStartKEX: number;
          alloc(length: number, force: boolean): Buffer;
          finalize(p: Buffer, force: boolean): Buffer;
        };
      };
      _cipher: { encrypt(packet: Buffer): void };
    };
  };
  const sock = internals._sock;
  if (!sock?.writable) return;
  try {
    const text = Buffer.from(description, "utf8");
    const write = internals._protocol._packetRW.write;
    const p = write.allocStartKEX;
    const packet = write.alloc(1 + 4 + 4 + text.length + 4, true);
    packet[p] = 1; // SSH_MSG_DISCONNECT
    packet.writeUInt32BE(11, p + 1); // SSH_DISCONNECT_BY_APPLICATION
    packet.writeUInt32BE(text.length, p + 5);
    text.copy(packet, p + 9);
    packet.writeUInt32BE(0, p + 9 + text.length); // language tag: none
    internals._protocol._cipher.encrypt(write.finalize(packet, true));
    sock.end();
  } catch {
    client.end();
  }
}

/** "SHA256:…" of a key blob, as `ssh-keygen -lf` prints it and the ssh_key table stores it. */
export const fingerprintOf = (blob: Buffer) =>
  `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;

export interface SshGatewayOptions {
  /** Finds the key a client logs in with, and keeps checking it is still registered. */
  access: SessionAccess;
  /** Where refused logins are recorded. */
  log: SessionLog;
  bridge: Bridge;
  /** Failed logins per source address (looser: an office shares one address) and per account (user name). */
  lockout: { addresses: Lockout; accounts: Lockout };
  hostKey: string;
  logger: Logger;
  /** Sessions (channels) open at once on one connection. */
  maxSessions: number;
  /** Forwarded connections open at once on one connection (each is a command in the workspace); default 32. */
  maxForwards?: number;
  /** Remote forwards (ssh -R) listening at once on one connection; default 8. */
  maxRemoteForwards?: number;
  /** A connection that has not logged in after this long is closed. */
  loginGraceMs?: number;
  keepaliveMs?: number;
}

/** The SSH gateway; `listen` binds, `close` stops accepting and ends live connections. */
export function createSshGateway({
  access,
  log,
  bridge,
  lockout,
  hostKey,
  logger,
  maxSessions,
  maxForwards = 32,
  maxRemoteForwards = 8,
  loginGraceMs = 30_000,
  keepaliveMs = 15_000,
}: SshGatewayOptions) {
  const connections = new Set<ssh2.Connection>();

  /** Logs and audits a refused login; resolves once the event is written, so the evidence precedes the answer. */
  const refused = async (ip: string, user: string, code: string, reason: string, key?: string) => {
    logger.info({ ip, user, code, key }, "ssh login refused");
    await log.loginRefused(ip, user, code, reason, key);
  };
  /** What a lockout counts against besides the address: the package asked for, by either spelling of it. */
  const accountOf = (user: string) => {
    const packageId = packageFromUser(user);
    return packageId ? `pkg:${packageId}` : `user:${user}`;
  };
  const failed = (ip: string, user: string) => {
    const locked = [...lockout.addresses.fail(ip), ...lockout.accounts.fail(accountOf(user))];
    if (locked.length) logger.warn({ ip, user }, "ssh logins locked out");
  };
  /**
   * Locked out: the address, or the package for an address that has itself failed lately. A correct key from
   * an address that has not failed is never locked out, whoever guesses at the package elsewhere.
   */
  const lockedOut = (ip: string, user: string) =>
    lockout.addresses.locked(ip) || (lockout.accounts.locked(accountOf(user)) && lockout.addresses.failedRecently(ip));

  const server = new ssh2.Server(
    { hostKeys: [hostKey], algorithms, keepaliveInterval: keepaliveMs, keepaliveCountMax: 3, ident: "Azusa" },
    (client, info) => {
      const ip = info.ip;
      connections.add(client);
      // SSH sends many small packets that wait on each other's answers: without this, Nagle's algorithm
      // meets the client's delayed ACK and each login round trip can cost 40 ms more.
      // (ssh2's Connection has setNoDelay; its type declarations do not list it.)
      (client as unknown as { setNoDelay(on: boolean): void }).setNoDelay(true);
      let principal: Principal | undefined;
      let user = "";
      let triedKey = false;
      let counted = false;
      const fail = () => {
        counted = true;
        failed(ip, user);
      };
      /** Keys offered on this connection, by fingerprint: each counts once, however often it is offered. */
      const offered = new Set<string>();
      let tooManyKeys = false;
      const handles = new Set<SessionHandle>();
      const listenings = new Set<Listening>();
      let connectionClosed = false;
      let openSessions = 0;
      let openForwards = 0;
      const grace = setTimeout(() => {
        if (!principal) client.end();
      }, loginGraceMs);
      grace.unref();

      client.on("authentication", (ctx) => {
        user = ctx.username;
        if (ctx.method !== "publickey") return ctx.reject(["publickey"]);
        triedKey = true;
        void (async () => {
          const fingerprint = fingerprintOf(ctx.key.data);
          const first = !offered.has(fingerprint);
          offered.add(fingerprint);
          if (offered.size > MAX_KEYS_PER_CONNECTION) {
            if (tooManyKeys) return ctx.reject([], false);
            tooManyKeys = true;
            fail();
            // Written before the answer: a client told "no methods left" disconnects at once.
            await refused(ip, user, "too_many_keys", `more than ${MAX_KEYS_PER_CONNECTION} keys offered`, fingerprint);
            ctx.reject([], false);
            return client.end();
          }
          if (lockedOut(ip, user)) {
            if (first) await refused(ip, user, "locked", "too many failed logins; try again later", fingerprint);
            return ctx.reject(["publickey"]);
          }
          // SHA-1 signatures (ssh-rsa) and DSA keys are refused; an RSA key signs with rsa-sha2-256/512.
          if (ctx.key.algo === "ssh-dss" || (ctx.key.algo === "ssh-rsa" && !ctx.hashAlgo)) {
            if (first) {
              await refused(ip, user, "weak_algorithm", `${ctx.key.algo} with SHA-1 is not accepted`, fingerprint);
            }
            return ctx.reject(["publickey"]);
          }
          const packageId = packageFromUser(user);
          const key = await access.loginKey(fingerprint);
          if (!key) {
            // Every key offered counts, and every refusal is audited with the key's fingerprint.
            if (first) {
              fail();
              await refused(ip, user, "unknown_key", "the key is not registered to an engineer", fingerprint);
            }
            return ctx.reject(["publickey"]);
          }
          // Without a signature the client only asks whether this key would do.
          if (!ctx.signature) return ctx.accept();
          const parsed = ssh2.utils.parseKey(key.publicKey);
          const publicKey = Array.isArray(parsed) ? parsed[0] : parsed;
          if (!publicKey || publicKey instanceof Error || !ctx.blob) return ctx.reject(["publickey"]);
          if (publicKey.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true) {
            fail();
            await refused(ip, user, "bad_signature", "the signature does not verify", fingerprint);
            return ctx.reject(["publickey"]);
          }
          const candidate: Principal = {
            engineerId: key.userId,
            packageId: packageId ?? "",
            source: ip,
            transport: "ssh",
            keyFingerprint: fingerprint,
            recheck: () => access.keyRevoked(key.id),
          };
          const decision = packageId
            ? await bridge.authorize(candidate)
            : ({
                ok: false,
                code: "not_assigned",
                reason: `"${user}" names no package: use pkg-<package id>`,
              } as const);
          if (!decision.ok) {
            fail();
            await refused(ip, user, decision.code, decision.reason, fingerprint);
            return ctx.reject([], false);
          }
          principal = { ...candidate, authorized: { target: decision.target, at: Date.now() } };
          // A success forgets this address's and package's failures (the other keys an agent offered first).
          lockout.addresses.clear(ip);
          lockout.accounts.clear(accountOf(user));
          ctx.accept();
        })().catch((err) => {
          // The database away (restarting) is no fault of the client's and no failed login: it is told so.
          if (err instanceof AppError && err.code === "UNAVAILABLE") {
            logger.warn({ ip, err: err.message }, "ssh login while the database does not answer");
            return disconnectWith(client, UNAVAILABLE);
          }
          logger.error({ err, ip }, "ssh authentication failed unexpectedly");
          ctx.reject([], false);
        });
      });

      client.on("ready", () => {
        clearTimeout(grace);
        const who = principal;
        if (!who) return client.end();
        logger.info({ ip, engineer: who.engineerId, package: who.packageId }, "ssh login");
        // Checked again while it carries nothing too (a ControlMaster master, ssh -N): once the key or the
        // access goes, the connection is closed, saying why, after its sessions had a moment to print theirs.
        const release = bridge.hold(who, (reason) => {
          setTimeout(() => disconnectWith(client, `azusa: ${reason}`), 500).unref();
        });
        client.once("close", release);
        const template = () => who.authorized?.target.template;
        const restricted = () => Boolean(who.authorized?.target.restricted);
        /** A channel back to the client for a connection accepted in the workspace, within `maxForwards`. */
        const limited = async (open: () => Promise<Duplex>): Promise<Duplex> => {
          if (openForwards >= maxForwards) throw new Error("too many forwarded connections");
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
        /** Starts a listener in the workspace, tied to this connection: it ends with it, or ends it when revoked. */
        const listen = async (
          request: ListenRequest,
          open: (origin: { address: string; port: number }) => Promise<Duplex>,
        ) => {
          const result = await bridge.listen(who, request, { open: (origin) => limited(() => open(origin)) });
          if (!result.ok) return result;
          const l = result.listening;
          listenings.add(l);
          if (connectionClosed) l.end("the connection closed");
          void l.done.then(({ reason }) => {
            listenings.delete(l);
            if (reason.startsWith("access revoked")) setTimeout(() => client.end(), 500).unref();
          });
          return result;
        };
        let agent: Promise<{ ok: true; listening: Listening } | { ok: false; reason: string }> | undefined;
        const remote = new Map<string, Promise<Listening | null>>();

        client.on("session", (acceptSession, rejectSession) => {
          if (openSessions >= maxSessions) return rejectSession();
          const session = acceptSession();
          openSessions++;
          session.once("close", () => {
            openSessions--;
          });
          let pty: { cols: number; rows: number; term: string } | undefined;
          const env: Record<string, string> = {};
          let handle: SessionHandle | undefined;
          // Agent and X11 listeners asked for before the command: it starts once they listen, with their env.
          const preparing: Promise<void>[] = [];
          const notices: string[] = [];
          let x11: Listening | undefined;
          let sessionClosed = false;
          session.once("close", () => {
            sessionClosed = true;
            x11?.end("the session ended");
          });

          const start = (stream: ssh2.ServerChannel, kind: "shell" | "exec", command?: string, subsystem?: string) => {
            // As with OpenSSH, remote forwards asked for before the session listen before its command runs.
            const waiting = [...preparing, ...remote.values()];
            if (!waiting.length) return begin(stream, kind, command, subsystem);
            void Promise.all(waiting).then(() => {
              for (const line of notices) stream.stderr.write(`${line}\r\n`);
              begin(stream, kind, command, subsystem);
            });
          };
          const begin = (stream: ssh2.ServerChannel, kind: "shell" | "exec", command?: string, subsystem?: string) => {
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
            const h = bridge.open(who, { kind, command, subsystem, pty, env }, channel);
            handle = h;
            handles.add(h);
            stream.once("close", () => h.end("the client closed the channel"));
            if (sessionClosed) h.end("the client closed the channel");
            void h.done.then(({ reason }) => {
              handles.delete(h);
              // A revoked engineer loses the whole connection, not only this channel. A client gets a moment
              // to print what it was told: OpenSSH drops unwritten stderr when disconnected at once.
              if (reason.startsWith("access revoked")) setTimeout(() => client.end(), 500).unref();
            });
          };

          session.on("pty", (accept, _reject, info) => {
            pty = { cols: info.cols || 80, rows: info.rows || 24, term: info.term || "xterm" };
            accept?.();
          });
          session.on("window-change", (accept, _reject, info) => {
            if (pty) pty = { ...pty, cols: info.cols, rows: info.rows };
            handle?.resize(info.cols, info.rows);
            accept?.();
          });
          session.on("env", (accept, reject, info) => {
            if (allowedEnv(info.key) && !info.val.includes("\0")) {
              env[info.key] = info.val;
              accept?.();
            } else reject?.();
          });
          session.on("shell", (accept) => start(accept(), "shell"));
          session.on("exec", (accept, _reject, info) => start(accept(), "exec", info.command));
          // No "sftp" listener: ssh2 then hands SFTP over as a raw subsystem channel, which the workspace's own
          // sftp-server speaks to, through the bridge like any command. The bridge refuses it, with a message
          // the client prints and an audit event, unless the template allows file transfer.
          session.on("subsystem", (accept, reject, info) => {
            if (info.name === "sftp") return start(accept(), "exec", sftpServer, "sftp");
            logger.info({ ip, subsystem: info.name }, "ssh subsystem refused");
            reject();
          });
          // Agent forwarding: one socket per connection in the workspace, for the sessions that ask.
          session.on("auth-agent", (accept, reject) => {
            const refusal = listenRefusal(template(), { kind: "agent" }, restricted());
            if (refusal) {
              logger.info({ ip, reason: refusal }, "ssh agent forwarding refused");
              return reject?.();
            }
            accept?.();
            const current = agent ?? listen({ kind: "agent" }, () => openAgentChannel(client));
            if (!agent) {
              agent = current;
              // A listener that ended is started again by the next session that asks.
              void current
                .then((r) => (r.ok ? r.listening.done : undefined))
                .then(() => {
                  if (agent === current) agent = undefined;
                });
            }
            preparing.push(
              current.then((r) => {
                if (r.ok) Object.assign(env, r.listening.env);
                else notices.push(`azusa: agent forwarding is not available: ${r.reason}`);
              }),
            );
          });
          // X11 forwarding: a display in the workspace for this session, with the client's (fake) cookie.
          session.on("x11", (accept, reject, info) => {
            const cookie = info.cookie as unknown;
            const request: ListenRequest = {
              kind: "x11",
              protocol: info.protocol,
              cookie: Buffer.isBuffer(cookie) ? cookie.toString("latin1") : String(cookie),
              screen: info.screen,
            };
            const refusal = listenRefusal(template(), request, restricted());
            if (refusal || x11) {
              logger.info({ ip, reason: refusal ?? "already forwarding X11" }, "ssh X11 forwarding refused");
              return reject?.();
            }
            accept?.();
            preparing.push(
              listen(
                request,
                (origin) =>
                  new Promise((resolve, fail) =>
                    client.x11(origin.address, origin.port, (err, ch) => (err ? fail(err) : resolve(ch))),
                  ),
              ).then((r) => {
                if (!r.ok) return void notices.push(`azusa: X11 forwarding is not available: ${r.reason}`);
                x11 = r.listening;
                if (sessionClosed) x11.end("the session ended");
                Object.assign(env, r.listening.env);
              }),
            );
          });
          // Acknowledged like OpenSSH does; the bridge logs a signal it could not deliver.
          session.on("signal", (accept, _reject, info) => {
            accept?.();
            void handle?.signal(info.name);
          });
        });
        // Local forwards (ssh -L, -W) to destinations the template lists, relayed from inside the workspace.
        client.on("tcpip", (accept, reject, info) => {
          // ssh2, as patched (patches/), sends a description and a reason code with a refusal; the client
          // prints them ("open failed: administratively prohibited: azusa: …").
          const refuse = (why?: string, prohibited?: boolean) =>
            (reject as (description?: string, code?: number) => void)(
              why ? `azusa: ${why}` : undefined,
              prohibited ? SSH_OPEN_ADMINISTRATIVELY_PROHIBITED : undefined,
            );
          if (openForwards >= maxForwards) {
            logger.info({ ip, dest: `${info.destIP}:${info.destPort}` }, "ssh port forwarding refused: too many");
            return refuse(`too many forwarded connections (at most ${maxForwards})`, true);
          }
          openForwards++;
          void bridge
            .forward(who, { host: info.destIP, port: info.destPort }, { accept, reject: refuse })
            .catch((err) => logger.error({ err, ip }, "ssh port forwarding failed"))
            .finally(() => {
              openForwards--;
            });
        });
        // Remote forwards (ssh -R) from ports the template lists, listening on the workspace's 127.0.0.1.
        client.on("request", (accept, reject, name, info) => {
          const key = `${info?.bindAddr}:${info?.bindPort}`;
          if (name === "tcpip-forward") {
            const { bindAddr, bindPort } = info;
            if (remote.has(key) || remote.size >= maxRemoteForwards) {
              logger.info({ ip, bind: key }, "ssh remote forwarding refused: already listening or too many");
              return reject?.();
            }
            const listening = listen(
              { kind: "remote", address: bindAddr, port: bindPort },
              (origin) =>
                new Promise((resolve, fail) =>
                  client.forwardOut(bindAddr, bindPort, origin.address, origin.port, (err, ch) =>
                    err ? fail(err) : resolve(ch),
                  ),
                ),
            ).then((r) => {
              if (!r.ok) {
                if (remote.get(key) === listening) remote.delete(key);
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
            return accept?.();
          }
          logger.info({ ip, request: name }, "ssh global request refused");
          reject?.();
        });
      });

      client.on("error", (err) => logger.debug({ err: err.message, ip }, "ssh connection error"));
      client.on("close", () => {
        clearTimeout(grace);
        connections.delete(client);
        connectionClosed = true;
        for (const h of handles) h.end("the connection closed");
        for (const l of listenings) l.end("the connection closed");
        if (!principal && triedKey && !counted) fail();
      });
    },
  );

  return {
    /** The host key's public half ("ssh-ed25519 AAAA…"), for known_hosts files. */
    hostPublicKey: publicHostKey(hostKey),
    /** Binds; resolves with the port (useful with 0). */
    listen(port: number, host: string): Promise<number> {
      return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
      });
    },
    /** Stops accepting, ends live sessions, and closes every connection, telling each client why. */
    async close(reason = RESTARTING): Promise<void> {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const c of connections) disconnectWith(c, reason);
      });
    },
  };
}

export type SshGateway = ReturnType<typeof createSshGateway>;
