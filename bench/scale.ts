// Scale benchmark: three real `azusa serve` processes on one PostgreSQL behind a real nginx on loopback.
// failover_failed_reads: authenticated reads (GET /api/v1/me, four clients, 200 each) through nginx that failed
// while one process was killed with SIGKILL halfway. revocation_cross_p99_ms: a sign-out through one process until
// the other refuses the session (which it had just accepted), 30 times; the p99 (the slowest). The placement
// figures (placement_spread, two_engine_ratio) are null: no bench places workspaces over several engines yet.
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exited, until } from "../test/support/cli.ts";
import { createTestDatabase } from "../test/support/databases.ts";
import { Client, freePort, PASSWORD } from "../test/support/harness.ts";
import { sharedSettings, startNginx, startServes } from "../test/support/nginx.ts";

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
  console.log(
    JSON.stringify({
      failover_failed_reads: failed,
      failover_failed_reads_target: 0,
      revocation_cross_p99_ms: Math.round(p99),
      revocation_cross_p50_ms: Math.round(p50),
      revocation_cross_p99_ms_target: 1000,
      placement_spread: null,
      two_engine_ratio: null,
    }),
  );
} finally {
  nginx?.kill("SIGTERM");
  for (const p of processes) p.child.kill("SIGTERM");
  await Promise.all([...processes.map((p) => exited(p.child)), nginx ? exited(nginx) : undefined]);
  await db.drop();
  rmSync(root, { recursive: true, force: true });
}
