// Three real `azusa serve` processes on one PostgreSQL and one storage folder, behind a real nginx on loopback:
// one is killed with SIGKILL under traffic, and no idempotent request fails through nginx, every write is either
// applied whole (with its audit event) or refused, SSH reaches the killed process's workspace through the others'
// gateways, and a sign-out through one process is refused by another.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exited, until } from "../support/cli.ts";
import { createTestDatabase, type TestDatabase } from "../support/databases.ts";
import { sweepInstance } from "../support/docker.ts";
import { assignPackages, templatesFolder } from "../support/gateway-world.ts";
import { Client, freePort, PASSWORD } from "../support/harness.ts";
import { ensureTestImage } from "../support/images.ts";
import {
  hostPublicKey,
  officeOverHttp,
  type Serving,
  sharedSettings,
  startNginx,
  startServes,
} from "../support/nginx.ts";
import { run, sshArgs } from "../support/ssh-client.ts";

const docker = new Docker();

describe("three processes behind nginx", () => {
  let db: TestDatabase;
  let root: string;
  let nginx: ChildProcess;
  let base: string;
  let instance: string;
  const processes: Serving[] = [];
  /** The engineer's login to the package whose workspace the first process provisioned, through `gateway`. */
  let login: (gateway: Serving, command: string) => string[];
  let hostname: string;

  beforeAll(async () => {
    db = await createTestDatabase("postgres");
    root = mkdtempSync(join(tmpdir(), "azusa-three-"));
    const nginxPort = await freePort();
    base = `http://127.0.0.1:${nginxPort}`;
    const shared: Record<string, string> = {
      ...sharedSettings(db.env.DATABASE_URL as string, root, base),
      AZUSA_TEMPLATES_DIR: templatesFolder(await ensureTestImage(docker)),
    };
    instance = shared.AZUSA_INSTANCE_ID ?? "";
    processes.push(...(await startServes(root, shared, { email: "root@office.example", password: PASSWORD })));
    nginx = startNginx(
      root,
      nginxPort,
      processes.map((p) => p.port),
    );
    await until("nginx to answer", async () =>
      (await fetch(`${base}/healthz`).catch(() => null))?.ok ? true : undefined,
    );
    // One package's workspace, provisioned by the first process: its offer is accepted through that one directly.
    const first = processes[0] as Serving;
    const world = await assignPackages(officeOverHttp(`http://127.0.0.1:${first.port}`, base), root, {
      workspaces: 1,
      engineers: 1,
    });
    const target = world.packages[0] as { packageId: string; key: string };
    const sql = new pg.Client({ connectionString: db.env.DATABASE_URL });
    await sql.connect();
    try {
      const containerId = await until(
        "the workspace to be running with its code checked out",
        async () => {
          const row = (
            await sql.query("SELECT state, container_id, prepared_at FROM workspace WHERE package_id = $1", [
              target.packageId,
            ])
          ).rows[0];
          return row?.state === "running" && row.prepared_at ? (row.container_id as string) : undefined;
        },
        120_000,
      );
      hostname = (await docker.getContainer(containerId).inspect()).Config.Hostname;
    } finally {
      await sql.end();
    }
    const knownHosts = join(root, "known_hosts");
    const key = hostPublicKey(root);
    writeFileSync(knownHosts, processes.map((p) => `[127.0.0.1]:${p.sshPort} ${key}\n`).join(""));
    login = (gateway, command) => [
      ...sshArgs({ port: gateway.sshPort, key: target.key, knownHosts, user: `pkg-${target.packageId}` }),
      command,
    ];
  }, 300_000);

  afterAll(async () => {
    nginx?.kill("SIGTERM");
    for (const p of processes) p.child.kill("SIGTERM");
    await Promise.all([...processes.map((p) => exited(p.child)), nginx ? exited(nginx) : undefined]);
    if (instance) await sweepInstance(docker, instance);
    await db?.drop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it("reaches, through another process's SSH gateway, the workspace the first process provisioned", async () => {
    const second = processes[1] as Serving;
    const session = await run("ssh", login(second, "hostname"));
    expect(session.stderr).toBe("");
    expect(session.code).toBe(0);
    expect(session.stdout.toString().trim()).toBe(hostname);
  }, 60_000);

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
    // An SSH session held open through the second process's gateway while the first is killed.
    const held = spawn("ssh", login(processes[1] as Serving, 'echo started; read line; echo "after $line"'));
    let heldOut = "";
    held.stdout.on("data", (d: Buffer) => {
      heldOut += d.toString();
    });
    const heldClosed = new Promise<number | null>((resolve) => held.on("close", resolve));
    await until("the held session to start", async () => (heldOut.includes("started") ? true : undefined), 60_000);
    const killer = async () => {
      await until("traffic to flow", async () => (reads.length >= 60 ? true : undefined), 120_000);
      processes[0]?.child.kill("SIGKILL");
      killed = true;
    };
    await Promise.all([reader(), reader(), writer(), killer()]);
    expect(killed).toBe(true);
    await exited(processes[0]?.child as ChildProcess);
    held.stdin.end("the kill\n");
    expect(await heldClosed).toBe(0);
    expect(heldOut).toContain("after the kill");
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

  it("opens new SSH sessions to the killed process's workspace through both other gateways", async () => {
    expect(processes[0]?.child.signalCode).toBe("SIGKILL");
    for (const gateway of processes.slice(1)) {
      const session = await run("ssh", login(gateway, "hostname"));
      expect(session.stderr).toBe("");
      expect(session.code).toBe(0);
      expect(session.stdout.toString().trim()).toBe(hostname);
    }
  }, 60_000);

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
