// A template's own IDE is served on an origin of its own per package (http://<package>.ide.localhost:8081 by
// default), never on Azusa's: whatever answers on the IDE's port inside the workspace is the workspace's
// code, and its scripts must not act as the engineer on Azusa's pages and API, nor reach another package.
// The engineer arrives with a one-minute ticket from Azusa's page and gets a cookie of that origin alone.
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import type { CredentialStore } from "../auth/credentials.ts";
import { isSealed, type Sealer, tryOpen } from "../auth/sealed.ts";
import { said } from "../domain/sessions/access.ts";
import { requestIp } from "../http/client-ip.ts";
import { text } from "../kernel/messages.ts";
import type { Principal } from "./bridge-types.ts";
import type { IdeProxy } from "./ide-proxy.ts";

/** The cookie holding an engineer's entry to one package's IDE origin. */
export const IDE_COOKIE = "azusa_ide";
const TICKET_MS = 60_000;
const ENTRY_MS = 12 * 3_600_000;
const ENTER_PATH = "/.azusa/enter";

/** What a ticket and the IDE cookie carry: the engineer's Azusa sign-in (to check it is still valid). */
interface Entry {
  /** The Azusa session cookie, `name=value`. */
  signIn: string;
  engineerId: string;
  packageId: string;
  expires: number;
}

/** Entries sealed like stored secrets, bound to their kind and package: a ticket never opens as a cookie, nor the reverse. */
export function createIdeTokens(sealer: Sealer) {
  const context = (kind: string, packageId: string) => `ide:${kind}:${packageId}`;
  const seal = (kind: string, entry: Entry) => sealer.seal(JSON.stringify(entry), context(kind, entry.packageId));
  const open = (kind: string, packageId: string, token: string, now: number): Entry | null => {
    // Only a sealed value: the sealer passes anything else through as it is.
    const text = isSealed(token) ? tryOpen(sealer, token, context(kind, packageId)) : undefined;
    if (!text) return null;
    try {
      const entry = JSON.parse(text) as Entry;
      return entry.packageId === packageId && typeof entry.expires === "number" && entry.expires > now ? entry : null;
    } catch {
      return null;
    }
  };
  return {
    /** A ticket for the engineer signed in with `signIn` to enter `packageId`'s IDE within a minute. */
    ticket: (signIn: string, engineerId: string, packageId: string, now = Date.now()) =>
      seal("ticket", { signIn, engineerId, packageId, expires: now + TICKET_MS }),
    openTicket: (packageId: string, token: string, now = Date.now()) => open("ticket", packageId, token, now),
    cookie: (entry: Omit<Entry, "expires">, now = Date.now()) => seal("cookie", { ...entry, expires: now + ENTRY_MS }),
    openCookie: (packageId: string, token: string, now = Date.now()) => open("cookie", packageId, token, now),
  };
}

export type IdeTokens = ReturnType<typeof createIdeTokens>;

/** Where each package's IDE lives: `template` has `{package}` in its host, e.g. http://{package}.ide.localhost:8081. */
export function ideAddresses(template: string) {
  const sample = new URL(template.replace("{package}", "p"));
  const suffix = sample.host.slice(1).toLowerCase(); // ".ide.localhost:8081"
  const defaultPort = sample.protocol === "https:" ? "443" : "80";
  return {
    /** The IDE's origin for a package. */
    origin: (packageId: string) => template.replace("{package}", packageId),
    /** The package a Host header names, or null. */
    packageOf(host: string | undefined): string | null {
      const given = (host ?? "").toLowerCase();
      const h = given.endsWith(`:${defaultPort}`) ? given.slice(0, -defaultPort.length - 1) : given;
      if (!h.endsWith(suffix)) return null;
      const label = h.slice(0, -suffix.length);
      return /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(label) ? label : null;
    },
    secure: sample.protocol === "https:",
  };
}

export interface IdeOriginOptions {
  ideProxy: IdeProxy;
  credentials: CredentialStore;
  tokens: IdeTokens;
  /** Azusa's own address: where a stranger is sent to sign in and get a ticket. */
  baseUrl: string;
  /** The IDE addresses' template (see `ideAddresses`); null: http://{package}.ide.localhost:<the port listened on>. */
  url: string | null;
  trustProxy: boolean;
  logger: Logger;
}

const cookieOf = (header: string | undefined): string | null =>
  new RegExp(`(?:^|;\\s*)${IDE_COOKIE}=([^;]*)`).exec(header ?? "")?.[1] ?? null;

/**
 * Tickets already used, until they expire: a ticket lets one browser in once. A ticket is used within the minute
 * it lives, so those used first expire about first: the front of the map is swept at each use. The spender says
 * whether a ticket was still unused (and marks it used).
 */
function ticketSpender(): (ticket: string, expires: number, now?: number) => boolean {
  const spent = new Map<string, number>();
  return (ticket, expires, now = Date.now()) => {
    for (const [used, until] of spent) {
      if (until > now) break;
      spent.delete(used);
    }
    if (spent.has(ticket)) return false;
    spent.set(ticket, expires);
    return true;
  };
}

/** A short plain-text answer, never cached. */
const answer = (res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}) => {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store", ...headers });
  res.end(`${text}\n`);
};

/** The listener of every package's IDE origin. */
export function createIdeOrigin({ ideProxy, credentials, tokens, baseUrl, url, trustProxy, logger }: IdeOriginOptions) {
  let known = url ? ideAddresses(url) : null;
  const addresses = () => {
    if (!known) throw new Error("the IDE listener is not listening yet");
    return known;
  };
  const source = (req: IncomingMessage) => requestIp(req, trustProxy);
  const hostOf = (req: IncomingMessage) =>
    (trustProxy ? String(req.headers["x-forwarded-host"] ?? "") : "") || req.headers.host;

  /** The engineer whose entry this still is (signed in to Azusa, an engineer, the same person), or null. */
  async function stillSignedIn(entry: { signIn: string; engineerId: string }): Promise<boolean> {
    const principal = await credentials.principal(new Headers({ cookie: entry.signIn }));
    return principal?.via === "session" && principal.role === "engineer" && principal.userId === entry.engineerId;
  }

  /** Who is asking for `packageId`'s IDE, from the cookie of its origin; null when nobody (valid) is. */
  async function principalOf(req: IncomingMessage, packageId: string, recheck: boolean): Promise<Principal | null> {
    const token = cookieOf(req.headers.cookie);
    const entry = token ? tokens.openCookie(packageId, token) : null;
    if (!entry || !(await stillSignedIn(entry))) return null;
    return {
      engineerId: entry.engineerId,
      packageId,
      source: source(req),
      transport: "browser",
      // Signing out of Azusa ends the IDE's open sockets too.
      ...(recheck
        ? { recheck: async () => ((await stillSignedIn(entry)) ? null : said(text("access.signedOut"))) }
        : {}),
    };
  }

  const spend = ticketSpender();
  // Changes and sockets come only from the IDE's own pages: another site, or another package's IDE, may not.
  const sameOrigin = (req: IncomingMessage, packageId: string) =>
    req.headers.origin === new URL(addresses().origin(packageId)).origin;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const packageId = addresses().packageOf(hostOf(req));
    if (!packageId) return answer(res, 404, "no IDE here");
    const entryPage = `${baseUrl}/my-packages/${packageId}/ide`;
    const target = req.url ?? "/";
    if (target.startsWith(`${ENTER_PATH}?`)) {
      const ticket = new URLSearchParams(target.slice(ENTER_PATH.length + 1)).get("ticket") ?? "";
      const entry = tokens.openTicket(packageId, ticket);
      // A ticket is spent at its first use, before anything is awaited: a second use, even at once, finds it gone.
      if (!entry || !spend(ticket, entry.expires) || !(await stillSignedIn(entry))) {
        return answer(res, 303, "the ticket is not valid here; open the IDE from Azusa", { location: entryPage });
      }
      const cookie = tokens.cookie({ signIn: entry.signIn, engineerId: entry.engineerId, packageId });
      const attributes = `HttpOnly; SameSite=Lax; Path=/; Max-Age=${ENTRY_MS / 1000}${addresses().secure ? "; Secure" : ""}`;
      return answer(res, 303, "welcome", { location: "/", "set-cookie": `${IDE_COOKIE}=${cookie}; ${attributes}` });
    }
    const method = req.method ?? "GET";
    if (method !== "GET" && method !== "HEAD" && !sameOrigin(req, packageId)) {
      return answer(res, 403, "the IDE takes changes only from its own pages");
    }
    const who = await principalOf(req, packageId, false);
    if (!who) {
      // A page asked for goes through Azusa's sign-in and comes back with a ticket; anything else is refused.
      if (method === "GET" && req.headers["sec-fetch-dest"] !== "empty") {
        return answer(res, 303, "sign in to Azusa first", { location: entryPage });
      }
      return answer(res, 401, "sign in to Azusa and open the IDE from your package");
    }
    const port = await ideProxy.portFor(who);
    if ("reason" in port) return answer(res, 404, "no IDE here");
    try {
      await ideProxy.request(port.principal, port.port, req, res, target);
    } catch (err) {
      logger.warn({ err: (err as Error).message, packageId }, "ide did not answer");
      if (!res.headersSent) {
        answer(res, 502, "the workspace's IDE does not answer; open it again from your package to start it");
      } else res.destroy();
    }
  }

  function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const refuse = (status: number, text: string) => {
      if (!socket.destroyed) socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    socket.on("error", () => undefined);
    const packageId = addresses().packageOf(hostOf(req));
    if (!packageId) {
      refuse(404, "Not Found");
      return;
    }
    if (String(req.headers.upgrade ?? "").toLowerCase() !== "websocket") {
      refuse(400, "Bad Request");
      return;
    }
    // A WebSocket is not bound by the same-origin policy: only the IDE's own pages may open one.
    if (!sameOrigin(req, packageId)) {
      refuse(403, "Forbidden");
      return;
    }
    void (async () => {
      const who = await principalOf(req, packageId, true);
      if (!who) return refuse(401, "Unauthorized");
      const port = await ideProxy.portFor(who);
      if ("reason" in port) return refuse(404, "Not Found");
      await ideProxy.upgrade(port.principal, port.port, req, socket, head);
    })().catch((err: Error) => {
      logger.warn({ requestId: randomUUID(), err: err.message, packageId }, "ide websocket failed");
      refuse(502, "Bad Gateway");
    });
  }

  let server: Server | undefined;
  return {
    /** The IDE's address for a package, entered with a fresh ticket for the engineer signed in with `signIn`. */
    enter(signIn: string, engineerId: string, packageId: string): string {
      const ticket = tokens.ticket(signIn, engineerId, packageId);
      return `${addresses().origin(packageId)}${ENTER_PATH}?ticket=${encodeURIComponent(ticket)}`;
    },
    async listen(port: number, host: string): Promise<number> {
      const s = createServer((req, res) => {
        handle(req, res).catch((err: Error) => {
          logger.error({ err }, "ide request failed");
          if (!res.headersSent) answer(res, 500, "internal error");
          else res.destroy();
        });
      });
      s.on("upgrade", upgrade);
      server = s;
      await new Promise<void>((resolve, reject) => {
        s.once("error", reject);
        s.listen(port, host, () => {
          s.off("error", reject);
          resolve();
        });
      });
      const bound = (s.address() as AddressInfo).port;
      known ??= ideAddresses(`http://{package}.ide.localhost:${bound}`);
      return bound;
    },
    async close(): Promise<void> {
      const s = server;
      if (!s) return;
      await new Promise<void>((resolve) => {
        s.close(() => resolve());
        s.closeAllConnections();
      });
    },
  };
}

export type IdeOrigin = ReturnType<typeof createIdeOrigin>;
