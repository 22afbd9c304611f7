// Azusa's own SSH server (ssh2): public-key login (ssh-login.ts), then each logged-in connection served
// (ssh-connection.ts) with its channels handed to the bridge; `close` ends them all, telling clients why.
import type { AddressInfo } from "node:net";
import ssh2 from "ssh2";
import type { Lockout } from "../domain/accounts/sign-in-throttle.ts";
import type { SessionAccess } from "../domain/sessions/access.ts";
import type { SessionLog } from "../domain/sessions/session-log.ts";
import type { Logger } from "../logger.ts";
import type { Bridge } from "./bridge.ts";
import { publicHostKey } from "./host-key.ts";
import { serveConnection } from "./ssh-connection.ts";
import { createSshLogin } from "./ssh-login.ts";
import { algorithms, disconnectWith, RESTARTING } from "./ssh-protocol.ts";

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
  const login = createSshLogin({ access, log, bridge, lockout, logger });
  const limits = { maxSessions, maxForwards, maxRemoteForwards };

  const server = new ssh2.Server(
    { hostKeys: [hostKey], algorithms, keepaliveInterval: keepaliveMs, keepaliveCountMax: 3, ident: "Azusa" },
    (client, info) => {
      const ip = info.ip;
      connections.add(client);
      // SSH sends many small packets that wait on each other's answers: without this, Nagle's algorithm
      // meets the client's delayed ACK and each login round trip can cost 40 ms more.
      // (ssh2's Connection has setNoDelay; its type declarations do not list it.)
      (client as unknown as { setNoDelay(on: boolean): void }).setNoDelay(true);
      const attempt = login.attach(client, ip, info.header?.versions?.software ?? "");
      const grace = setTimeout(() => {
        if (!attempt.principal()) client.end();
      }, loginGraceMs);
      grace.unref();

      client.on("ready", () => {
        clearTimeout(grace);
        const who = attempt.principal();
        if (!who) return client.end();
        serveConnection(client, who, ip, { bridge, logger, limits });
      });
      client.on("error", (err) => logger.debug({ err: err.message, ip }, "ssh connection error"));
      client.on("close", () => {
        clearTimeout(grace);
        connections.delete(client);
        attempt.closed();
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
