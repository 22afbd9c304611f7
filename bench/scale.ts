// Scale benchmark: three real `azusa serve` processes on one PostgreSQL behind a real nginx on loopback.
// failover_failed_reads: authenticated reads (GET /api/v1/me, four clients, 200 each) through nginx that failed
// while one process was killed with SIGKILL halfway. revocation_cross_p99_ms: a sign-out through one process until
// the other refuses the session (which it had just accepted), 30 times; the p99 (the slowest).
// placement_spread: 40 workspaces provisioned at once (40 offers accepted together) by one Azusa with two hosts of
// equal capacity, the local engine and a second real dockerd reached over mutual TLS in a network namespace; the
// most workspaces on one engine over the fewest. two_engine_ratio: the time from the first acceptance until all 40
// are running with their code checked out on those two engines, over the same on the local engine alone.
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";
import { exited, until } from "../test/support/cli.ts";
import { createTestDatabase } from "../test/support/databases.ts";
import { assignPackages, templatesFolder } from "../test/support/gateway-world.ts";
import { Client, freePort, PASSWORD, startTestAzusa } from "../test/support/harness.ts";
import { ensureTestImage } from "../test/support/images.ts";
import { sharedSettings, startNginx, startServes } from "../test/support/nginx.ts";
import { type SecondEngine, startSecondEngine } from "../test/support/second-engine.ts";

const PLACED = 40;

/**
 * Provisions PLACED workspaces at once on a new Azusa (PostgreSQL), with `engine` registered beside the local
 * engine when given; the time from the first acceptance until all run, and how many each host took.
 */
async function placeAtOnce(image: string, engine?: SecondEngine): Promise<{ ms: number; perHost: number[] }> {
  const templatesDir = templatesFolder(image);
  const keys = mkdtempSync(join(tmpdir(), "azusa-bench-place-"));
  const t = await startTestAzusa({
    dialect: "postgres",
    env: { AZUSA_TEMPLATES_DIR: templatesDir, AZUSA_SCHEDULES: "off", AZUSA_LOG_LEVEL: "warn" },
  });
  try {
    if (engine) {
      const operator = await t.signIn("root@office.example");
      const registered = await operator.post("/api/v1/workspace-hosts", {
        name: "second",
        endpoint: { kind: "tls", url: engine.url, ...engine.credentials },
        capacity: { cpus: 2, memoryMiB: 8192, diskMiB: 65536, workspaces: 100 }, // the local host's 100
        unlimitedVolumes: true, // its volumes cannot be limited; the bench's template takes the default size
      });
      if (registered.status !== 201) throw new Error(`registering the second engine: ${await registered.text()}`);
    }
    const world = await assignPackages(t, keys, { workspaces: PLACED, engineers: PLACED / 5, together: true });
    await t.running.azusa.workspaces.drain();
    const ms = performance.now() - world.acceptingAt;
    const rows = await t.running.azusa.db.kysely.selectFrom("workspace").select(["state", "host_id"]).execute();
    const notRunning = rows.filter((r) => r.state !== "running");
    if (rows.length !== PLACED || notRunning.length)
      throw new Error(`${notRunning.length} of ${rows.length} workspaces are not running`);
    const perHost = new Map<string, number>();
    for (const r of rows) perHost.set(r.host_id ?? "local", (perHost.get(r.host_id ?? "local") ?? 0) + 1);
    return { ms, perHost: [...perHost.values()] };
  } finally {
    await t.stop();
    rmSync(templatesDir, { recursive: true, force: true });
    rmSync(keys, { recursive: true, force: true });
  }
}

/** placement_spread and two_engine_ratio, with what they came from. */
async function placement() {
  const image = await ensureTestImage(new Docker());
  const one = await placeAtOnce(image);
  const engine = await startSecondEngine({ extraImages: [image] });
  try {
    const two = await placeAtOnce(image, engine);
    const spread = two.perHost.length < 2 ? null : Math.max(...two.perHost) / Math.min(...two.perHost);
    console.log(`${PLACED} workspaces at once: one engine ${(one.ms / 1000).toFixed(1)} s`);
    console.log(`two engines ${(two.ms / 1000).toFixed(1)} s, per engine ${two.perHost.join(" / ")}`);
    return {
      placement_spread: spread === null ? null : Math.round(spread * 100) / 100,
      placement_spread_target: 1.25,
      placement_per_engine: two.perHost,
      two_engine_ratio: Math.round((two.ms / one.ms) * 100) / 100,
      one_engine_s: Math.round(one.ms / 100) / 10,
      two_engines_s: Math.round(two.ms / 100) / 10,
    };
  } finally {
    await engine.stop();
  }
}

const db = await createTestDatabase("postgres");
const root = mkdtempSync(join(tmpdir(), "azusa-bench-scale-"));
const nginxPort = await freePort();
const base = `http://127.0.0.1:${nginxPort}`;
const shared = sharedSettings(db.env.DATABASE_URL as string, root, base);
const processes: { child: ChildProcess; port: number }[] = [];
let nginx: ChildProcess | undefined;
try {
  const email = "root@office.example";
  processes.push(...(await startServes(root, shared, { email, password: PASSWORD })));
  nginx = startNginx(
    root,
    nginxPort,
    processes.map((p) => p.port),
  );
  await until("nginx to answer", async () =>
    (await fetch(`${base}/healthz`).catch(() => null))?.ok ? true : undefined,
  );

  // Failover: reads through nginx while one process is killed.
  const client = new Client(base);
  await client.post("/api/auth/sign-in/email", { email, password: PASSWORD });
  const statuses: number[] = [];
  const reader = async () => {
    for (let i = 0; i < 200; i++) statuses.push((await client.get("/api/v1/me").catch(() => ({ status: 0 }))).status);
  };
  const killer = async () => {
    await until("traffic", async () => (statuses.length >= 400 ? true : undefined), 300_000);
    processes[0]?.child.kill("SIGKILL");
  };
  await Promise.all([reader(), reader(), reader(), reader(), killer()]);
  const failed = statuses.filter((s) => s !== 200).length;

  // Revocation across processes.
  const [, second, third] = processes as [(typeof processes)[0], (typeof processes)[0], (typeof processes)[0]];
  const times: number[] = [];
  for (let i = 0; i < 30; i++) {
    const onSecond = new Client(`http://127.0.0.1:${second.port}`, { origin: base });
    await onSecond.post("/api/auth/sign-in/email", { email, password: PASSWORD });
    if ((await onSecond.get("/api/v1/me")).status !== 200) throw new Error("sign-in did not take");
    const onThird = new Client(`http://127.0.0.1:${third.port}`, { origin: base });
    onThird.cookie = onSecond.cookie;
    const t0 = performance.now();
    await onThird.post("/api/auth/sign-out");
    await until("refused", async () => ((await onSecond.get("/api/v1/me")).status === 401 ? true : undefined), 30_000);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const p99 = times[Math.min(times.length - 1, Math.ceil(times.length * 0.99) - 1)] ?? 0;
  const p50 = times[Math.floor(times.length / 2)] ?? 0;
  console.log(`reads through nginx: ${statuses.length}, failed ${failed}`);
  console.log(`revocation across processes: p50 ${p50.toFixed(0)} ms, p99 ${p99.toFixed(0)} ms`);
  const placed = await placement();
  console.log(
    JSON.stringify({
      failover_failed_reads: failed,
      failover_failed_reads_target: 0,
      revocation_cross_p99_ms: Math.round(p99),
      revocation_cross_p50_ms: Math.round(p50),
      revocation_cross_p99_ms_target: 1000,
      ...placed,
    }),
  );
} finally {
  nginx?.kill("SIGTERM");
  for (const p of processes) p.child.kill("SIGTERM");
  await Promise.all([...processes.map((p) => exited(p.child)), nginx ? exited(nginx) : undefined]);
  await db.drop();
  rmSync(root, { recursive: true, force: true });
}
