// The egress proxy of one workspace: HTTP CONNECT and plain HTTP forwarding on the workspace's gateway,
// letting through only the destinations its template names, and reporting every connection.
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import {
  type AddressInfo,
  createServer,
  isIP,
  isIPv6,
  type LookupFunction,
  type Server,
  type Socket,
  connect as tcpConnect,
} from "node:net";
import type { Duplex } from "node:stream";
import { english, say, type Text, text } from "../kernel/messages.ts";
import { inSubnet } from "./egress-network.ts";

/** How a connection through the proxy ended. */
export type EgressOutcome = "allowed" | "refused" | "failed";

/** One connection a workspace opened to the proxy, reported once it is over. */
export interface EgressConnection {
  workspaceId: string;
  /** The workspace's address. */
  source: string;
  /** `host:port` as the workspace asked for it (`[v6]:port` for IPv6); empty when the request made no sense. */
  destination: string;
  /** `CONNECT` for a tunnel, else the HTTP method of a forwarded request. */
  method: string;
  outcome: EgressOutcome;
  /** Why it was refused or failed. */
  reason?: string;
  /**
   * Connections refused for being over `maxConnections` are reported together: this many in one event
   * (see `onConnection`). Absent on every other event, each of which is one connection.
   */
  refusedCount?: number;
  /** Bytes sent to the destination and received from it (after the proxy's own request line). */
  bytesSent: number;
  bytesReceived: number;
  startedAt: Date;
  endedAt: Date;
}

/**
 * A workspace's connection to the proxy: a socket on the gateway, or a connection the proxy's host-side
 * listener carried here. `setTimeout` is an idle timeout as sockets have it; `destroySoon` ends, then closes.
 */
export type ProxyClient = Duplex & {
  setTimeout(ms: number, callback?: () => void): unknown;
  destroySoon(): void;
};

/**
 * A connection to a destination: emits `connect` once it is open, or `error` (with `code` when known),
 * and counts the bytes it carried as sockets do.
 */
export type Upstream = Duplex & { readonly bytesWritten: number; readonly bytesRead: number };

/** Resolves a name to every address it has, as `dns.lookup` with `all` does (the default). */
export type EgressLookup = (
  hostname: string,
  callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

const systemLookup: EgressLookup = (hostname, callback) => dnsLookup(hostname, { all: true }, callback);

/**
 * Why the proxy may not dial `address` (what `host`, asked for on `port`, resolved to), as its audit event says
 * it, or undefined when it may.
 */
export type AddressGuard = (address: string, host: string, port: number) => string | undefined;

/** How a dial resolves and checks: `lookup` (used here) leaves out the addresses `guard` refuses. */
export interface DialRules {
  lookup: LookupFunction;
  /** Whether the allow-list entry that let the destination through allows private addresses. */
  privateAllowed: boolean;
}

/**
 * Opens a connection to `host:port` from where the proxy's traffic leaves: this machine by default; a
 * workspace host's own side when its proxy runs there (which resolves and checks the name there itself).
 */
export type Dial = (host: string, port: number, rules: DialRules) => Upstream;

const dialHere: Dial = (host, port, { lookup }) => tcpConnect({ host, port, allowHalfOpen: true, lookup });

/** What a proxy needs besides where it listens. */
export interface EgressProxyCoreOptions {
  workspaceId: string;
  /** Only peers in this subnet (the workspace's bridge) are served; others are refused and reported. */
  subnet: string;
  /** Whether the template lets `host` (lower case, IPv6 without brackets) on `port` through. */
  allowed(host: string, port: number): boolean;
  /**
   * Addresses never connected to, whatever name led there (the workspace networks, the host itself, a private
   * range the entry does not allow): checked on the very address then dialled, so a name that resolves
   * elsewhere between the check and the connection cannot pass. Default: none.
   */
  forbidden?: AddressGuard;
  /** Whether the allow-list entry for `host` on `port` allows private addresses; default: no. */
  privateAllowed?: (host: string, port: number) => boolean;
  /** How names are resolved; default: the system's resolver (`dns.lookup`). */
  lookup?: EgressLookup;
  /**
   * Called once per connection when it ends, allowed or not; except connections refused for being over
   * `maxConnections`: a loop of those must flood neither the gateway nor the audit log, so they are
   * reported together, at most one event a second, its `refusedCount` saying how many it stands for
   * (the first refusal after a quiet second is reported at once, with a count of 1).
   */
  onConnection(event: EgressConnection): void;
  /** Longest request head in bytes; default 16 KiB. */
  maxHeadBytes?: number;
  /** Milliseconds a client has to send its request head; default 30 s. */
  headTimeoutMs?: number;
  /** Connections open at once from the workspace; more are answered 503 and closed at once. Default 128. */
  maxConnections?: number;
  /** How destinations are reached; default: from this machine. */
  dial?: Dial;
}

/** Options of one workspace's proxy listening here. */
export interface EgressProxyOptions extends EgressProxyCoreOptions {
  /** The gateway address to listen on, and the port (0: any free one, as tests use). */
  host: string;
  port: number;
}

/** A proxy that is handed its connections (by a listener here or on a workspace host's side). */
export interface EgressProxyCore {
  /** Serves one connection from `source` (the workspace's address as its listener saw it). */
  accept(client: ProxyClient, source: string): void;
  /** Connections being served now. */
  readonly open: number;
  idle(): Promise<void>;
  /** Cuts every connection (each still reported) and resolves when all are. */
  close(): Promise<void>;
}

/** A listening proxy. */
export interface EgressProxy {
  readonly workspaceId: string;
  readonly host: string;
  readonly port: number;
  /** Resolves once every connection open now has ended and been reported, refusals waiting to be reported too. */
  idle(): Promise<void>;
  /** How many sockets the proxy holds now (clients' connections, not those to destinations). */
  connections(): Promise<number>;
  /** Stops listening, cuts open connections (they are still reported) and resolves when all are. */
  close(): Promise<void>;
}

interface Target {
  method: string;
  host: string;
  port: number;
  /** For a forwarded request: the head to send upstream. */
  head?: Buffer;
}

const hostHeader = (host: string) => (isIPv6(host) ? `[${host}]` : host);

/** Parses a CONNECT authority or an absolute http URL; returns a message when the request is unusable. */
function parseRequest(head: string): Target | Text {
  const [requestLine = "", ...headerLines] = head.split("\r\n");
  const m = /^([A-Z]+) (\S+) (HTTP\/1\.[01])$/.exec(requestLine);
  if (!m) return text("egress.notHttp");
  const [, method = "", target = "", version = ""] = m;
  if (method === "CONNECT") {
    const a = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]/]+)):(\d{1,5})$/.exec(target);
    const port = Number(a?.[3]);
    if (!a || port < 1 || port > 65535) return text("egress.connectTarget");
    return { method, host: (a[1] ?? a[2] ?? "").toLowerCase(), port };
  }
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return text("egress.absoluteUrl");
  }
  if (url.protocol !== "http:") return text("egress.onlyHttp");
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  const port = url.port ? Number(url.port) : 80;
  // One request per connection: the destination of a later request on the same connection could differ.
  const dropped = /^(proxy-connection|proxy-authorization|connection|keep-alive|host):/i;
  const headers = headerLines.filter((line) => line && !dropped.test(line));
  const hostValue = url.port ? `${hostHeader(host)}:${port}` : hostHeader(host);
  const lines = [`${method} ${url.pathname}${url.search} ${version}`, `Host: ${hostValue}`, ...headers];
  return { method, host, port, head: Buffer.from(`${lines.join("\r\n")}\r\nConnection: close\r\n\r\n`, "latin1") };
}

/** The code of a dial refused because every address of the name is forbidden. */
export const forbiddenCode = "EAZUSAFORBIDDEN";

/**
 * A resolver that drops forbidden addresses, and fails when none is left (its `reason` the first refusal): net
 * connects to an address this returns, never resolving again, so nothing forbidden is ever dialled.
 */
function withoutForbidden(resolve: EgressLookup, guard: (address: string) => string | undefined): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, (err, found) => {
      if (err) return callback(err, "", 4);
      const wanted = found.filter((a) => !options.family || a.family === options.family);
      const reasons = wanted.map((a) => guard(a.address));
      const usable = wanted.filter((_, i) => reasons[i] === undefined);
      if (usable.length === 0) {
        const reason = reasons.find((r) => r !== undefined) ?? "resolves to no address";
        const denied = Object.assign(new Error(`${hostname} ${reason}`), { code: forbiddenCode, reason });
        return callback(denied, "", 4);
      }
      // net asks for every address when it may try both families, else for one
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, usable);
      const [first] = usable as [LookupAddress];
      callback(null, first.address, first.family);
    });
  };
}

/**
 * What the proxy says to a tool in the workspace, whose reader's language it cannot know: in Japanese, then in
 * English, a line each.
 */
const bothLanguages = (message: Text): string =>
  `azusa egress: ${say("ja", message)}\nazusa egress: ${say("en", message)}\n`;

/** Answers and closes; what the client still sends is read and dropped so that its close is seen. */
function reply(socket: ProxyClient, status: string, message: Text, timeoutMs: number): void {
  const body = bothLanguages(message);
  socket.resume();
  socket.setTimeout(timeoutMs, () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `Connection: close\r\n\r\n${body}`,
  );
}

/** The proxy of one workspace, without a listener: each connection is handed to `accept`. */
export function createEgressProxyCore({
  workspaceId,
  subnet,
  allowed,
  onConnection,
  forbidden = () => undefined,
  privateAllowed = () => false,
  lookup = systemLookup,
  maxHeadBytes = 16 * 1024,
  headTimeoutMs = 30_000,
  maxConnections = 128,
  dial = dialHere,
}: EgressProxyCoreOptions): EgressProxyCore {
  const open = new Map<ProxyClient, Promise<void>>();

  // Refusals for being over the limit, gathered into one event a second.
  const crowd = {
    /** Until when a refusal waits to be reported with others. */
    quietUntil: 0,
    count: 0,
    first: new Date(0),
    source: "",
    timer: undefined as NodeJS.Timeout | undefined,
    reported: Promise.resolve(),
    release: () => {},
  };
  const CROWD_WINDOW_MS = 1000;

  function reportCrowd(): void {
    if (crowd.timer) clearTimeout(crowd.timer);
    crowd.timer = undefined;
    const count = crowd.count;
    crowd.count = 0;
    crowd.quietUntil = Date.now() + CROWD_WINDOW_MS;
    if (count > 0) {
      const limit = `too many connections at once (at most ${maxConnections})`;
      onConnection({
        workspaceId,
        source: crowd.source,
        destination: "",
        method: "",
        outcome: "refused",
        reason: count === 1 ? limit : `${limit}: ${count} connections refused in the last second`,
        refusedCount: count,
        bytesSent: 0,
        bytesReceived: 0,
        startedAt: crowd.first,
        endedAt: new Date(),
      });
    }
    crowd.release();
  }

  /** Answers 503 and lets the socket go at once: a refused connection holds nothing until its client closes. */
  function refuseCrowded(client: ProxyClient, source: string): void {
    client.on("error", () => undefined);
    client.resume();
    const body = bothLanguages(text("egress.crowded", { max: maxConnections }));
    client.end(
      "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n" +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      () => client.destroy(),
    );
    if (crowd.count === 0) crowd.first = new Date();
    crowd.count++;
    crowd.source = source;
    const wait = crowd.quietUntil - Date.now();
    if (wait <= 0) {
      reportCrowd();
      return;
    }
    if (!crowd.timer) {
      crowd.reported = new Promise<void>((resolve) => {
        crowd.release = resolve;
      });
      crowd.timer = setTimeout(reportCrowd, wait);
      crowd.timer.unref();
    }
  }

  function handle(client: ProxyClient, source: string): Promise<void> {
    const startedAt = new Date();
    let reported = false;
    let event: Omit<
      EgressConnection,
      "bytesSent" | "bytesReceived" | "endedAt" | "workspaceId" | "source" | "startedAt"
    >;
    event = { destination: "", method: "", outcome: "failed", reason: "the connection ended before its request" };
    let upstream: Upstream | undefined;
    let upstreamBytes = () => ({ bytesSent: 0, bytesReceived: 0 });
    // A client gone (closed or broken) leaves nothing for the destination to talk to, and the reverse.
    client.on("error", () => upstream?.destroy());
    client.on("close", () => upstream?.destroy());

    const done = new Promise<void>((resolve) => {
      const finish = () => {
        if (reported) return;
        reported = true;
        onConnection({ workspaceId, source, startedAt, endedAt: new Date(), ...event, ...upstreamBytes() });
        resolve();
      };
      let pending = 1;
      const settle = () => {
        if (--pending === 0) finish();
      };
      client.on("close", settle);

      if (!inSubnet(source, subnet)) {
        event = { ...event, outcome: "refused", reason: "the connection did not come from this workspace's network" };
        client.destroy();
        return;
      }

      let buffered = Buffer.alloc(0);
      client.setTimeout(headTimeoutMs, () => {
        event = { ...event, reason: "no request within the time allowed" };
        client.destroy();
      });
      const onData = (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        const end = buffered.indexOf("\r\n\r\n");
        if (end < 0) {
          if (buffered.length > maxHeadBytes) {
            client.off("data", onData);
            event = { ...event, outcome: "refused", reason: "request head too large" };
            reply(client, "431 Request Header Fields Too Large", text("egress.headTooLarge"), headTimeoutMs);
          }
          return;
        }
        client.off("data", onData);
        client.off("end", endedEarly);
        client.pause();
        client.setTimeout(0);
        const rest = buffered.subarray(end + 4);
        const parsed = parseRequest(buffered.subarray(0, end).toString("latin1"));
        if ("key" in parsed) {
          event = { ...event, outcome: "refused", reason: english(parsed) };
          reply(client, "400 Bad Request", parsed, headTimeoutMs);
          return;
        }
        const destination = `${hostHeader(parsed.host)}:${parsed.port}`;
        event = { destination, method: parsed.method, outcome: "refused" };
        if (!allowed(parsed.host, parsed.port)) {
          event.reason = "not in the workspace template's allow-list";
          reply(client, "403 Forbidden", text("egress.notAllowed", { destination }), headTimeoutMs);
          return;
        }
        // An address refused answers as a name not allowed does: the workspace learns nothing of where it led.
        const notAllowed = text("egress.notAllowed", { destination });
        const guard = (address: string) => forbidden(address, parsed.host, parsed.port);
        const literal = isIP(parsed.host) ? guard(parsed.host) : undefined;
        if (literal) {
          event.reason = `${destination} ${literal}`;
          reply(client, "403 Forbidden", notAllowed, headTimeoutMs);
          return;
        }
        pending++;
        const up = dial(parsed.host, parsed.port, {
          lookup: withoutForbidden(lookup, guard),
          privateAllowed: privateAllowed(parsed.host, parsed.port),
        });
        upstream = up;
        upstreamBytes = () => ({ bytesSent: up.bytesWritten, bytesReceived: up.bytesRead });
        up.on("close", () => {
          if (event.outcome === "allowed") client.destroySoon();
          settle();
        });
        up.on("error", (err: NodeJS.ErrnoException) => {
          if (event.outcome === "allowed") {
            client.destroy();
            return;
          }
          if (err.code === forbiddenCode) {
            const why = (err as { reason?: string }).reason ?? "resolves only to forbidden addresses";
            event = { ...event, reason: `${destination} ${why}` };
            reply(client, "403 Forbidden", notAllowed, headTimeoutMs);
            return;
          }
          event = { ...event, outcome: "failed", reason: `cannot connect: ${err.code ?? err.message}` };
          const code = err.code ?? "error";
          reply(client, "502 Bad Gateway", text("egress.cannotConnect", { destination, code }), headTimeoutMs);
        });
        up.once("connect", () => {
          event = { ...event, outcome: "allowed" };
          delete event.reason;
          if (parsed.head) up.write(parsed.head);
          else client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
          if (rest.length) up.write(rest);
          client.pipe(up);
          up.pipe(client);
          client.resume();
        });
      };
      const endedEarly = () => client.destroy();
      client.once("end", endedEarly);
      client.on("data", onData);
    });
    return done;
  }

  return {
    accept(client, source) {
      // One workspace cannot hold the gateway's sockets and memory by opening connections without end.
      if (open.size >= maxConnections && inSubnet(source, subnet)) {
        refuseCrowded(client, source);
        return;
      }
      const done = handle(client, source);
      open.set(client, done);
      done.finally(() => open.delete(client));
    },
    get open() {
      return open.size;
    },
    async idle() {
      await Promise.all([...open.values(), crowd.reported]);
    },
    async close() {
      reportCrowd();
      for (const socket of open.keys()) socket.destroy();
      await Promise.all(open.values());
    },
  };
}

/** Starts the proxy of one workspace on its gateway; resolves once it listens. */
export async function listenEgressProxy(options: EgressProxyOptions): Promise<EgressProxy> {
  const { workspaceId, host, port } = options;
  const core = createEgressProxyCore(options);
  // Half-open both ways: a client that has sent everything (shutdown of its side) still gets the answer.
  const server: Server = createServer({ allowHalfOpen: true }, (client: Socket) => {
    core.accept(client, (client.remoteAddress ?? "").replace(/^::ffff:/, ""));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host, port, exclusive: true }, () => {
      server.off("error", reject);
      resolve();
    });
  });

  return {
    workspaceId,
    host,
    port: (server.address() as AddressInfo).port,
    idle: () => core.idle(),
    connections() {
      return new Promise<number>((resolve, reject) =>
        server.getConnections((err, count) => (err ? reject(err) : resolve(count))),
      );
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all([closed, core.close()]);
    },
  };
}
