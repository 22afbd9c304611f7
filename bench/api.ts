// API benchmark: requests/s and p99 of an authenticated Azusa read (GET /api/v1/me) against a bare Hono "hello",
// loaded in turns over several rounds; the ratio is the median round's. Also shown, without a target: a read of
// the user's row from the database on every request (GET /api/v1/users/{id}).
// Each server runs in a child process (this file with `serve hono|azusa`) so that autocannon, here, does not share its loop.
import { type ChildProcess, fork } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { constants, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { loadConfig } from "../src/config.ts";
import { system } from "../src/kernel/actor.ts";
import { startAzusa } from "../src/server.ts";

const CONNECTIONS = 32;
const WARMUP_S = 1;
const DURATION_S = 4;
const ROUNDS = 5;
const RPS_RATIO_TARGET = 0.4;
const READY_TIMEOUT_MS = 30_000;
// Well above warm-up + run for both servers; a hung bench must not hold CI forever.
const WATCHDOG_MS = 240_000;
const EMAIL = "bench@office.example";
const PASSWORD = "matsumoto-castle-1594";

type Kind = "hono" | "azusa";

// autocannon ships no types; this is the part of its result the bench reads.
interface LoadResult {
  requests: { average: number; total: number };
  latency: { p99: number };
  "2xx": number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodeStats: Record<string, { count: number }>;
  warmup?: LoadResult;
}
type Autocannon = (opts: {
  url: string;
  headers?: Record<string, string>;
  connections: number;
  duration: number;
  warmup: { connections: number; duration: number };
}) => Promise<LoadResult>;

// ---- child side: listen, tell the parent the port, serve until killed.

async function listenHono(): Promise<number> {
  const app = new Hono().get("/", (c) => c.json({ hello: "world" }));
  return new Promise((resolve) => serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, (i) => resolve(i.port)));
}

async function listenAzusa(dataDir: string): Promise<number> {
  const config = loadConfig({
    // Every listener on a free port: the bench runs beside `npm run up` (8080, SSH 2222, IDE 8081).
    AZUSA_PORT: "0",
    AZUSA_SSH_PORT: "0",
    AZUSA_IDE_PORT: "0",
    AZUSA_HOST: "127.0.0.1",
    AZUSA_DATA_DIR: dataDir,
    AZUSA_BASE_URL: "http://127.0.0.1",
    // Below info, so the figure is not a measure of writing one log line per request to a pipe.
    AZUSA_LOG_LEVEL: "warn",
    AZUSA_SIGNIN_LIMIT: "1000",
  });
  const running = await startAzusa(config);
  await running.azusa.accounts.createOperator(system("bench"), { email: EMAIL, name: "bench", password: PASSWORD });
  return running.port;
}

async function serveChild(kind: string | undefined, dataDir: string | undefined): Promise<void> {
  // The parent's death closes the IPC channel; exiting with it leaves no orphan server behind.
  process.on("disconnect", () => process.exit(0));
  if (kind !== "hono" && !(kind === "azusa" && dataDir)) throw new Error(`usage: api.ts serve hono|azusa DATA_DIR`);
  const port = kind === "hono" ? await listenHono() : await listenAzusa(dataDir as string);
  process.send?.({ port });
}

// ---- parent side: start each server alone, load it, stop it.

const children = new Set<ChildProcess>();
const dirs = new Set<string>();

function cleanUp(): void {
  for (const child of children) child.kill("SIGKILL");
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
}

async function start(kind: Kind, dataDir?: string): Promise<{ base: string; stop(): Promise<void> }> {
  // Children inherit execArgv, hence the tsx loader this file runs under; their stdout goes to our stderr
  // so that nothing a server prints can come after the JSON line.
  const child = fork(fileURLToPath(import.meta.url), ["serve", kind, ...(dataDir ? [dataDir] : [])], {
    stdio: ["ignore", 2, 2, "ipc"],
  });
  children.add(child);
  const exited = new Promise<void>((resolve) => {
    child.once("exit", () => {
      children.delete(child);
      resolve();
    });
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${kind}: not listening after ${READY_TIMEOUT_MS} ms`)),
      READY_TIMEOUT_MS,
    );
    child.once("message", (m) => {
      clearTimeout(timer);
      resolve((m as { port: number }).port);
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${kind}: exited (${signal ?? code}) before listening`));
    });
  });
  return {
    base: `http://127.0.0.1:${port}`,
    async stop() {
      child.kill();
      await exited;
    },
  };
}

/** Signs the bench's operator in; returns the session cookie and the operator's id. */
async function signIn(base: string): Promise<{ cookie: string; id: string }> {
  const res = await fetch(`${base}/api/auth/sign-in/email`, {
    method: "POST",
    // better-auth refuses a sign-in without an Origin; a browser on Azusa's own pages sends this one.
    headers: { "content-type": "application/json", origin: "http://127.0.0.1" },
    body: JSON.stringify({ email: EMAIL, password: PASSWORD }),
  });
  const cookie = res.headers
    .getSetCookie()
    .map((line) => line.split(";")[0] ?? "")
    .find((kv) => kv.startsWith("better-auth.session_token="));
  if (!res.ok || !cookie) throw new Error(`azusa: sign-in failed: ${res.status} ${await res.text()}`);
  // One checked request per route before the flood: the load figures only count statuses, not who answered.
  const me = await fetch(`${base}/api/v1/me`, { headers: { cookie } });
  const body = (await me.json()) as { id?: string; email?: string };
  if (me.status !== 200 || body.email !== EMAIL || !body.id)
    throw new Error(`azusa: /me as ${EMAIL}: ${me.status} ${JSON.stringify(body)}`);
  const row = await fetch(`${base}/api/v1/users/${body.id}`, { headers: { cookie } });
  const user = (await row.json()) as { email?: string };
  if (row.status !== 200 || user.email !== EMAIL)
    throw new Error(`azusa: /users/${body.id}: ${row.status} ${JSON.stringify(user)}`);
  return { cookie, id: body.id };
}

interface Figures {
  rps: number;
  p99: number;
}

async function load(what: string, url: string, headers: Record<string, string> = {}): Promise<Figures> {
  const autocannon = createRequire(import.meta.url)("autocannon") as Autocannon;
  const result = await autocannon({
    url,
    headers,
    connections: CONNECTIONS,
    duration: DURATION_S,
    warmup: { connections: CONNECTIONS, duration: WARMUP_S },
  });
  // Errors answered fast (a 401 or 429 flood) would make a fake figure: any non-2xx fails the bench.
  for (const [phase, r] of [
    ["warm-up", result.warmup],
    ["run", result],
  ] as const) {
    if (!r) throw new Error(`${what}: autocannon returned no ${phase} result`);
    if (r.non2xx || r.errors || r.timeouts || !r["2xx"]) {
      const codes = Object.entries(r.statusCodeStats).map(([code, s]) => `${code}×${s.count}`);
      throw new Error(
        `${what} ${phase}: ${r["2xx"]} 2xx, ${r.non2xx} non-2xx [${codes.join(" ")}], ${r.errors} errors, ${r.timeouts} timeouts`,
      );
    }
  }
  return { rps: Math.round(result.requests.average), p99: result.latency.p99 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const round3 = (x: number) => Math.round(x * 1000) / 1000;

async function main(): Promise<void> {
  // Both servers stay up and are loaded in turns, round after round: a burst of other work on the machine then
  // lands on one round of both rather than on one server's only run.
  const dataDir = mkdtempSync(join(tmpdir(), "azusa-bench-"));
  dirs.add(dataDir);
  const [hono, azusa] = await Promise.all([start("hono"), start("azusa", dataDir)]);
  const { cookie, id } = await signIn(azusa.base);
  const loads = {
    hono: () => load("hono GET /", `${hono.base}/`),
    me: () => load("azusa GET /api/v1/me", `${azusa.base}/api/v1/me`, { cookie }),
    row: () => load("azusa GET /api/v1/users/{id}", `${azusa.base}/api/v1/users/${id}`, { cookie }),
  };
  const runs: Record<keyof typeof loads, Figures[]> = { hono: [], me: [], row: [] };
  const ratios: number[] = [];
  const rowRatios: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    // The order turns each round, so that neither server always runs first (on a cooler or warmer machine).
    const order: (keyof typeof loads)[] = i % 2 === 0 ? ["hono", "me", "row"] : ["row", "me", "hono"];
    const figures: Partial<Record<keyof typeof loads, Figures>> = {};
    for (const kind of order) figures[kind] = await loads[kind]();
    const { hono: h, me, row } = figures as Record<keyof typeof loads, Figures>;
    runs.hono.push(h);
    runs.me.push(me);
    runs.row.push(row);
    ratios.push(me.rps / h.rps);
    rowRatios.push(row.rps / h.rps);
    console.log(
      `round ${i + 1}: hono ${h.rps} req/s (p99 ${h.p99} ms), /me ${me.rps} req/s (p99 ${me.p99} ms), /users/{id} ${row.rps} req/s (p99 ${row.p99} ms)`,
    );
  }
  await Promise.all([hono.stop(), azusa.stop()]);

  const ratio = round3(median(ratios));
  const verdict = ratio >= RPS_RATIO_TARGET ? "meets" : "BELOW";
  const rps = (kind: keyof typeof loads) => median(runs[kind].map((f) => f.rps));
  const p99 = (kind: keyof typeof loads) => median(runs[kind].map((f) => f.p99));
  console.log(
    `rps ratio ${ratio} (${verdict} target ${RPS_RATIO_TARGET}; median of ${ROUNDS} rounds, ${CONNECTIONS} connections, ${DURATION_S} s each); a read of the user's row each request: ${round3(median(rowRatios))}`,
  );
  console.log(
    JSON.stringify({
      bench: "api",
      rps_ratio: ratio,
      rps_ratio_target: RPS_RATIO_TARGET,
      azusa_rps: rps("me"),
      hono_rps: rps("hono"),
      azusa_p99_ms: p99("me"),
      hono_p99_ms: p99("hono"),
      db_read_rps_ratio: round3(median(rowRatios)),
      db_read_rps: rps("row"),
      db_read_p99_ms: p99("row"),
      rounds: ROUNDS,
      connections: CONNECTIONS,
      duration_s: DURATION_S,
    }),
  );
}

if (process.argv[2] === "serve") {
  await serveChild(process.argv[3], process.argv[4]);
} else {
  const watchdog = setTimeout(() => {
    console.error(`api bench: still running after ${WATCHDOG_MS} ms, giving up`);
    cleanUp();
    process.exit(1);
  }, WATCHDOG_MS);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      cleanUp();
      process.exit(128 + constants.signals[signal]);
    });
  }
  try {
    await main();
  } catch (err) {
    console.error(`api bench failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  } finally {
    cleanUp();
    clearTimeout(watchdog);
  }
}
