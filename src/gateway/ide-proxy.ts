// The proxy to a template's own IDE (code-server, openvscode-server) behind Azusa's sign-in: every
// connection is a browser forward through the bridge (same access check, audit, activity, revocation).
import { Agent, request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import { type Duplex, pipeline } from "node:stream";
import type { Logger } from "pino";
import type { Authorization } from "../domain/sessions/access.ts";
import type { WorkspaceService } from "../domain/workspaces/workspaces.service.ts";
import type { WorkspaceDriver } from "../provisioner/driver.ts";
import type { Bridge } from "./bridge.ts";
import type { Principal } from "./bridge-types.ts";
import { downstreamHeaders, headerLines, headerPairs, readHead, streamPair, upstreamHeaders } from "./ide-http.ts";

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
  // A page of an IDE loads many files at once: one decision serves them for a moment (as long as the
  // bridge's revocation check lets a live session run on).
  const decided = new Map<string, { at: number; result: Promise<Authorization> }>();
  async function portFor(principal: Principal): Promise<{ port: number; principal: Principal } | IdeUnavailable> {
    const key = `${principal.engineerId}|${principal.packageId}|${principal.source}`;
    const now = Date.now();
    let recent = decided.get(key);
    if (!recent || now - recent.at > 1000) {
      recent = { at: now, result: bridge.authorize(principal) };
      decided.set(key, recent);
      for (const [k, v] of decided) if (now - v.at > 1000) decided.delete(k);
    }
    const auth = await recent.result;
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
    if (agent) {
      // Most recently used last: the pool that goes when there are many is the one idle longest.
      agents.delete(key);
      agents.set(key, agent);
    } else {
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
    ensure: (principal: Principal) => ensureIde({ bridge, workspaces, driver, logger }, principal),

    /**
     * Sends the browser's request to the IDE and its answer back, both streamed. `path` is the request
     * target as the browser sent it (still percent-encoded). Rejects when the IDE cannot be reached.
     */
    async request(
      principal: Principal,
      port: number,
      req: IncomingMessage,
      res: ServerResponse,
      path: string,
    ): Promise<void> {
      const headers = upstreamHeaders(req.headers, { client: principal.source, proto, upgrade: false });
      const answer = await new Promise<IncomingMessage>((resolve, reject) => {
        const out = httpRequest(
          { agent: agentFor(principal, port), method: req.method, path, headers, setHost: false },
          resolve,
        );
        out.on("error", reject);
        // An aborted upload ends the upstream request too, rather than leaving a pooled connection waiting.
        pipeline(req, out, (err) => {
          if (err) out.destroy(err);
        });
      });
      const status = answer.statusCode ?? 502;
      res.writeHead(status, headerPairs(downstreamHeaders(answer.headers)));
      pipeline(answer, res, () => undefined);
      res.once("close", () => {
        if (!answer.complete) answer.destroy();
      });
    },

    /**
     * Hands an upgrade (a WebSocket) to the IDE, less Azusa's credentials (see upgradeToIde).
     */
    upgrade: async (principal: Principal, port: number, incoming: IncomingMessage, socket: Duplex, head: Buffer) =>
      upgradeToIde(await connect(principal, port), { client: principal.source, proto }, incoming, socket, head),

    /** Drops idle pooled connections (shutdown). */
    close(): void {
      for (const agent of agents.values()) agent.destroy();
      agents.clear();
    },
  };
}

export type IdeProxy = ReturnType<typeof createIdeProxy>;

/**
 * Makes sure the template's IDE listens: starts a stopped workspace, then (when nothing answers on
 * the port) runs the template's `ideCommand` and waits for it. "none": the template names no IDE.
 */
async function ensureIde(
  { bridge, workspaces, driver, logger }: Pick<IdeProxyOptions, "bridge" | "workspaces" | "driver" | "logger">,
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
}

/**
 * Hands an upgrade (a WebSocket) to the IDE over `upstream`, less Azusa's credentials. Only the IDE's `101` to a
 * WebSocket upgrade turns the connection into a byte pipe, its headers filtered like any answer;
 * anything else is passed on as an ordinary answer and both connections are closed.
 */
async function upgradeToIde(
  upstream: Duplex,
  via: { client: string; proto: string },
  incoming: IncomingMessage,
  socket: Duplex,
  head: Buffer,
): Promise<void> {
  // The browser may have gone while the relay started.
  if (socket.destroyed) return void upstream.destroy();
  socket.once("close", () => upstream.destroy());
  upstream.once("close", () => socket.destroy());
  socket.on("error", () => upstream.destroy());
  upstream.on("error", () => socket.destroy());
  const headers = upstreamHeaders(incoming.headers, { ...via, upgrade: true });
  const lines = [`${incoming.method ?? "GET"} ${incoming.url ?? "/"} HTTP/1.1`];
  for (const [name, value] of Object.entries(headers)) {
    for (const v of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${v}`);
  }
  upstream.write(`${lines.join("\r\n")}\r\n\r\n`);
  if (head.length) upstream.write(head);
  const answer = await readHead(upstream, 64 * 1024);
  if (!answer) return void socket.destroy();
  const switching = answer.status === 101 && /^websocket$/i.test(String(answer.headers.upgrade ?? ""));
  const out = downstreamHeaders(answer.headers);
  if (!switching) {
    // Not a WebSocket after all: the answer goes back and the connection ends with it.
    out.set("connection", "close");
    socket.write(`HTTP/1.1 ${answer.status} ${answer.reason}\r\n${headerLines(out)}\r\n`);
    if (answer.rest.length) socket.write(answer.rest);
    upstream.pipe(socket);
    return;
  }
  out.set("connection", "Upgrade");
  out.set("upgrade", "websocket");
  socket.write(`HTTP/1.1 101 Switching Protocols\r\n${headerLines(out)}\r\n`);
  if (answer.rest.length) socket.write(answer.rest);
  socket.pipe(upstream);
  upstream.pipe(socket);
}
