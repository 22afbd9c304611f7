// The proxy to a template's own IDE (code-server, openvscode-server) behind Azusa's sign-in: every
// connection is a browser forward through the bridge (same access check, audit, activity, revocation).
import { Agent, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from "node:http";
import { Duplex, Readable } from "node:stream";
import type { Logger } from "pino";
import type { WorkspaceService } from "../domain/workspaces/workspaces.service.ts";
import type { WorkspaceDriver } from "../provisioner/driver.ts";
import type { Bridge, Principal } from "./bridge.ts";

/** Where a package's proxied IDE lives; everything under it goes to the IDE with this prefix taken off. */
export const ideAppPath = (packageId: string) => `/my-packages/${packageId}/ide/app`;

/** The package of an IDE proxy path, and the path the IDE sees; null for any other path. */
export function ideAppTarget(pathname: string): { packageId: string; rest: string } | null {
  const m = /^\/my-packages\/([^/]+)\/ide\/app(\/.*)?$/.exec(pathname);
  return m?.[1] ? { packageId: m[1], rest: m[2] ?? "" } : null;
}

// Headers that belong to one hop, never passed on (RFC 9110 §7.6.1), and Azusa's own credentials,
// which the IDE must never see: the workspace's code runs beside it.
const hopByHop = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);
const azusaCookie = /^(?:__Secure-)?better-auth\./;
// What an IDE's answer may not do to the rest of Azusa's origin: widen a service worker's scope beyond
// its own path, or wipe the origin's storage and cookies.
const originWide = new Set(["service-worker-allowed", "clear-site-data"]);

/** The cookie header without Azusa's own cookies; null when nothing is left. */
export function foreignCookies(header: string | undefined): string | null {
  if (!header) return null;
  const kept = header
    .split(";")
    .map((c) => c.trim())
    .filter((c) => c && !azusaCookie.test(c.slice(0, c.indexOf("=") >>> 0)));
  return kept.length ? kept.join("; ") : null;
}

/** Headers for the IDE: the browser's, less hop-by-hop ones and Azusa's credentials, plus X-Forwarded-*. */
export function upstreamHeaders(
  headers: IncomingHttpHeaders,
  via: { prefix: string; client: string; proto: string; upgrade: boolean },
): Record<string, string | string[]> {
  const named = new Set(
    String(headers.connection ?? "")
      .split(",")
      .map((h) => h.trim().toLowerCase()),
  );
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || hopByHop.has(name) || named.has(name)) continue;
    if (name === "cookie" || name === "x-api-key" || name.startsWith("x-forwarded-")) continue;
    if (name === "authorization" && String(value).startsWith("Bearer azk_")) continue;
    out[name] = value;
  }
  const cookies = foreignCookies(headers.cookie);
  if (cookies) out.cookie = cookies;
  if (via.upgrade) {
    out.connection = "Upgrade";
    out.upgrade = String(headers.upgrade ?? "websocket");
  }
  out["x-forwarded-for"] = via.client;
  out["x-forwarded-proto"] = via.proto;
  if (headers.host) out["x-forwarded-host"] = headers.host;
  out["x-forwarded-prefix"] = via.prefix;
  return out;
}

/** The IDE's response headers for the browser: no hop-by-hop ones, no cookie of Azusa's name, redirects kept under the prefix. */
export function downstreamHeaders(headers: IncomingHttpHeaders, prefix: string): Headers {
  const out = new Headers();
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || hopByHop.has(name) || originWide.has(name)) continue;
    for (const v of Array.isArray(value) ? value : [value]) {
      if (name === "set-cookie" && azusaCookie.test(v.trimStart())) continue;
      out.append(name, name === "location" && v.startsWith("/") && !v.startsWith("//") ? `${prefix}${v}` : v);
    }
  }
  // The IDE frames its own pages (webviews); Azusa's pages stay unframeable.
  if (!out.has("x-frame-options")) out.set("x-frame-options", "SAMEORIGIN");
  return out;
}

/**
 * Two connected streams, like the ends of a socket pair: what one writes the other reads, with
 * backpressure, and destroying one destroys the other. The second end has the methods of a socket
 * that node's HTTP client and agent call.
 */
export function streamPair(): [Duplex, Duplex & { setTimeout(ms: number, cb?: () => void): Duplex }] {
  class End extends Duplex {
    peer!: End;
    waiting: (() => void) | null = null;
    timer: NodeJS.Timeout | null = null;
    override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void) {
      this.timer?.refresh();
      if (this.peer.push(chunk)) done();
      else this.peer.waiting = () => done();
    }
    override _read() {
      this.timer?.refresh();
      const go = this.waiting;
      this.waiting = null;
      go?.();
    }
    override _final(done: (err?: Error | null) => void) {
      this.peer.push(null);
      done();
    }
    override _destroy(err: Error | null, done: (err?: Error | null) => void) {
      if (this.timer) clearTimeout(this.timer);
      if (!this.peer.destroyed) this.peer.destroy();
      done(err);
    }
    setTimeout(ms: number, cb?: () => void) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      if (cb) this.once("timeout", cb);
      if (ms > 0) {
        this.timer = setTimeout(() => this.emit("timeout"), ms);
        this.timer.unref();
      }
      return this;
    }
    setKeepAlive() {
      return this;
    }
    setNoDelay() {
      return this;
    }
    ref() {
      return this;
    }
    unref() {
      return this;
    }
  }
  const a = new End();
  const b = new End();
  a.peer = b;
  b.peer = a;
  return [a, b];
}

// Probes the IDE's port from inside the workspace ($1) and, when nothing listens and a command is given
// ($2…), starts it in the background in the workspace folder ($WS) and waits for it to listen.
const ensureScript = `port=$1; shift
if command -v nc >/dev/null 2>&1; then probe() { nc -z 127.0.0.1 "$port" 2>/dev/null; }
elif [ -x /bin/bash ]; then probe() { /bin/bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0"' "$port" 2>/dev/null; }
else echo "the workspace has neither nc nor bash to reach its IDE with" >&2; exit 127
fi
probe && exit 0
[ $# -gt 0 ] || { echo "nothing listens on port $port and the template names no ideCommand" >&2; exit 3; }
cd -- "$WS" 2>/dev/null || cd /
nohup "$@" >>/tmp/azusa-ide.log 2>&1 </dev/null &
i=0
while [ $i -lt 300 ]; do probe && exit 0; sleep 0.1; i=$((i + 1)); done
echo "the IDE did not listen on port $port within 30 seconds; its output is in /tmp/azusa-ide.log" >&2
tail -n 5 /tmp/azusa-ide.log >&2
exit 4`;

/** Why the IDE cannot be reached, for the page; `status` 404 when the engineer may not, 502 otherwise. */
export interface IdeUnavailable {
  status: 404 | 502;
  reason: string;
}

export interface IdeProxyOptions {
  bridge: Bridge;
  workspaces: WorkspaceService;
  driver: WorkspaceDriver;
  logger: Logger;
  /** Azusa's public address: its scheme is what the IDE is told the browser uses. */
  baseUrl: string;
  /** Idle pooled connections to an IDE are closed after this long. */
  idleMs?: number;
}

/** The IDE proxy; `close()` drops its pooled connections. */
export function createIdeProxy({ bridge, workspaces, driver, logger, baseUrl, idleMs = 30_000 }: IdeProxyOptions) {
  const agents = new Map<string, Agent>();
  const proto = new URL(baseUrl).protocol.slice(0, -1);

  /** The template's IDE port for `principal`'s workspace, or why there is none it may reach. */
  async function portFor(principal: Principal): Promise<{ port: number; principal: Principal } | IdeUnavailable> {
    const auth = await bridge.authorize(principal);
    if (!auth.ok) return { status: 404, reason: auth.reason };
    const port = auth.target.template?.azusa.idePort;
    if (!port) return { status: 404, reason: "the workspace's template names no IDE" };
    // The decision just made serves the connection opened next, as at an SSH login.
    return { port, principal: { ...principal, authorized: { target: auth.target, at: Date.now() } } };
  }

  /** A byte stream to the IDE, relayed from inside the workspace by the bridge; rejects when refused. */
  function connect(principal: Principal, port: number): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      const [mine, theirs] = streamPair();
      let settled = false;
      bridge
        .forward(
          principal,
          { host: "127.0.0.1", port, ide: true },
          {
            accept() {
              settled = true;
              resolve(theirs);
              return mine;
            },
            reject() {
              settled = true;
              reject(new Error("the IDE could not be reached"));
            },
          },
        )
        .then(() => {
          // Over (revoked, idle, closed by the IDE): the browser's side goes too.
          if (!theirs.destroyed) theirs.destroy();
        })
        .catch((err) => {
          logger.warn({ err }, "ide forward failed");
          if (!settled) reject(err as Error);
          theirs.destroy();
        });
    });
  }

  /** Keep-alive connections per engineer, package and address: one relay serves many requests. */
  function agentFor(principal: Principal, port: number): Agent {
    const key = `${principal.engineerId}|${principal.packageId}|${principal.source}|${port}`;
    let agent = agents.get(key);
    if (!agent) {
      const created = new Agent({ keepAlive: true, maxSockets: 6, timeout: idleMs });
      created.createConnection = ((_opts: unknown, done: (err: Error | null, s?: Duplex) => void) => {
        connect(principal, port).then(
          (s) => done(null, s),
          (err: Error) => done(err),
        );
        return undefined;
      }) as unknown as Agent["createConnection"];
      agent = created;
      agents.set(key, agent);
      // One agent per engineer, package and address; the oldest goes when there are many.
      if (agents.size > 256) {
        const [oldest] = agents;
        if (oldest) {
          oldest[1].destroy();
          agents.delete(oldest[0]);
        }
      }
    }
    return agent;
  }

  return {
    portFor,

    /**
     * Makes sure the template's IDE listens: starts a stopped workspace, then (when nothing answers on
     * the port) runs the template's `ideCommand` and waits for it. "none": the template names no IDE.
     */
    async ensure(
      principal: Principal,
    ): Promise<{ kind: "ready" } | { kind: "none" } | ({ kind: "failed" } & IdeUnavailable)> {
      const auth = await bridge.authorize(principal);
      if (!auth.ok) return { kind: "failed", status: 404, reason: auth.reason };
      const { template, workspace, ref } = auth.target;
      const port = template?.azusa.idePort;
      if (!template || !port) return { kind: "none" };
      if (workspace.state === "stopped") await workspaces.start({ kind: "system", name: "web ide" }, workspace.id);
      const exec = await driver.exec(ref, {
        cmd: ["/bin/sh", "-c", ensureScript, "azusa-ide", String(port), ...(template.azusa.ideCommand ?? [])],
        env: { WS: template.azusa.workspaceFolder },
        tty: false,
      });
      exec.stdin.end();
      let said = "";
      exec.stdout.resume();
      exec.stderr?.on("data", (d: Buffer) => {
        if (said.length < 2000) said += d.toString();
      });
      const exit = await exec.exit;
      if (exit.code === 0) return { kind: "ready" };
      const reason = said.trim() || `the IDE check exited with ${exit.code}`;
      logger.warn({ packageId: principal.packageId, reason }, "ide not ready");
      return { kind: "failed", status: 502, reason };
    },

    /** Sends `req` (its path already without the prefix, `path`) to the IDE and answers with its response. */
    async request(principal: Principal, port: number, req: Request, path: string, prefix: string): Promise<Response> {
      const url = new URL(req.url);
      const incoming: IncomingHttpHeaders = {};
      req.headers.forEach((value, name) => {
        incoming[name] = value;
      });
      const headers = upstreamHeaders(incoming, {
        prefix,
        client: principal.source,
        proto,
        upgrade: false,
      });
      const res = await new Promise<IncomingMessage>((resolve, reject) => {
        const out = httpRequest(
          { agent: agentFor(principal, port), method: req.method, path: `${path}${url.search}`, headers },
          resolve,
        );
        out.on("error", reject);
        if (req.body && req.method !== "GET" && req.method !== "HEAD") {
          Readable.fromWeb(req.body as import("node:stream/web").ReadableStream).pipe(out);
        } else out.end();
      });
      const status = res.statusCode ?? 502;
      const body = status === 204 || status === 304 || req.method === "HEAD" ? null : Readable.toWeb(res);
      if (!body) res.resume();
      return new Response(body as ReadableStream | null, { status, headers: downstreamHeaders(res.headers, prefix) });
    },

    /**
     * Hands an upgraded connection (a WebSocket) to the IDE as it came, less Azusa's credentials: the
     * IDE answers the handshake itself and the bytes then flow both ways until either side closes.
     */
    async upgrade(
      principal: Principal,
      port: number,
      incoming: IncomingMessage,
      socket: Duplex,
      head: Buffer,
      path: string,
      prefix: string,
    ): Promise<void> {
      const upstream = await connect(principal, port);
      const headers = upstreamHeaders(incoming.headers, {
        prefix,
        client: principal.source,
        proto,
        upgrade: true,
      });
      const lines = [`${incoming.method ?? "GET"} ${path} HTTP/1.1`];
      for (const [name, value] of Object.entries(headers)) {
        for (const v of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${v}`);
      }
      upstream.write(`${lines.join("\r\n")}\r\n\r\n`);
      if (head.length) upstream.write(head);
      socket.on("error", () => upstream.destroy());
      upstream.on("error", () => socket.destroy());
      socket.once("close", () => upstream.destroy());
      upstream.once("close", () => socket.destroy());
      socket.pipe(upstream);
      upstream.pipe(socket);
    },

    /** Drops idle pooled connections (shutdown). */
    close(): void {
      for (const agent of agents.values()) agent.destroy();
      agents.clear();
    },
  };
}

export type IdeProxy = ReturnType<typeof createIdeProxy>;
