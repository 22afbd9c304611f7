// Three real `azusa serve` processes on one PostgreSQL and one storage folder, behind a real nginx on loopback:
// one is killed with SIGKILL under traffic, and no idempotent request fails through nginx, every write is either
// applied whole (with its audit event) or refused, and a sign-out through one process is refused by another.
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exited, until } from "../support/cli.ts";
import { createTestDatabase, type TestDatabase } from "../support/databases.ts";
import { Client, freePort, PASSWORD } from "../support/harness.ts";
import { sharedSettings, startNginx, startServes } from "../support/nginx.ts";

interface Serving {
  child: ChildProcess;
  port: number;
}

describe("three processes behind nginx", () => {
  let db: TestDatabase;
  let root: string;
  let nginx: ChildProcess;
  let base: string;
  const processes: Serving[] = [];

  beforeAll(async () => {
    db = await createTestDatabase("postgres");
    root = mkdtempSync(join(tmpdir(), "azusa-three-"));
    const nginxPort = await freePort();
    base = `http://127.0.0.1:${nginxPort}`;
    const shared = sharedSettings(db.env.DATABASE_URL as string, root, base);
    processes.push(...(await startServes(root, shared, { email: "root@office.example", password: PASSWORD })));
    nginx = startNginx(
      root,
      nginxPort,
      processes.map((p) => p.port),
    );
    await until("nginx to answer", async () =>
      (await fetch(`${base}/healthz`).catch(() => null))?.ok ? true : undefined,
    );
  }, 180_000);

  afterAll(async () => {
    nginx?.kill("SIGTERM");
    for (const p of processes) p.child.kill("SIGTERM");
    await Promise.all([...processes.map((p) => exited(p.child)), nginx ? exited(nginx) : undefined]);
    await db?.drop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it("loses no idempotent request and no half write when one process is killed with SIGKILL", async () => {
    const client = new Client(base);
    expect(
      (await client.post("/api/auth/sign-in/email", { email: "root@office.example", password: PASSWORD })).status,
    ).toBe(200);
    const reads: number[] = [];
    const writes: { name: string; status: number }[] = [];
    let killed = false;
    const reader = async () => {
      for (let i = 0; i < 150; i++) reads.push((await client.get("/api/v1/me")).status);
    };
    const writer = async () => {
      for (let i = 0; i < 40; i++) {
        const name = `tenant-${i}-${randomBytes(3).toString("hex")}`;
        writes.push({ name, status: (await client.post("/api/v1/tenants", { name })).status });
      }
    };
    const killer = async () => {
      await until("traffic to flow", async () => (reads.length >= 60 ? true : undefined), 120_000);
      processes[0]?.child.kill("SIGKILL");
      killed = true;
    };
    await Promise.all([reader(), reader(), writer(), killer()]);
    expect(killed).toBe(true);
    expect(reads.filter((s) => s !== 200)).toEqual([]);
    // A write is applied (201) or refused by a 5xx; never anything else.
    for (const w of writes) expect([201, 502, 503, 504]).toContain(w.status);
    // Applied whole or not at all: a tenant exists exactly when its audit event does.
    const sql = new pg.Client({ connectionString: db.env.DATABASE_URL });
    await sql.connect();
    try {
      for (const w of writes) {
        const tenant = await sql.query("SELECT id FROM tenant WHERE name = $1", [w.name]);
        const id = tenant.rows[0]?.id as string | undefined;
        if (w.status === 201) expect(id, w.name).toBeDefined();
        const events = id
          ? (
              await sql.query("SELECT 1 FROM audit_event WHERE action = 'tenant.created' AND subject = $1", [
                `tenant:${id}`,
              ])
            ).rowCount
          : 0;
        expect(events, w.name).toBe(id ? 1 : 0);
      }
    } finally {
      await sql.end();
    }
  }, 300_000);

  it("refuses on one process a session signed out through another", async () => {
    const [, second, third] = processes as [Serving, Serving, Serving];
    const onSecond = new Client(`http://127.0.0.1:${second.port}`, { origin: base });
    const signedIn = await onSecond.post("/api/auth/sign-in/email", {
      email: "root@office.example",
      password: PASSWORD,
    });
    expect(signedIn.status).toBe(200);
    expect((await onSecond.get("/api/v1/me")).status).toBe(200);
    const onThird = new Client(`http://127.0.0.1:${third.port}`, { origin: base });
    onThird.cookie = onSecond.cookie;
    expect((await onThird.post("/api/auth/sign-out")).status).toBe(200);
    await until("the sign-out to reach the other process", async () =>
      (await onSecond.get("/api/v1/me")).status === 401 ? true : undefined,
    );
  }, 60_000);
});
