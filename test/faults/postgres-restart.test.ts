// PostgreSQL restarted under load: the real `azusa serve` stays up, answers 503 UNAVAILABLE (with retry-after)
// while the database is away — to session cookies and API keys alike, never 401 or 500 — and recovers by itself.
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as pause } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.ts";
import { UNAVAILABLE } from "../../src/gateway/ssh-protocol.ts";
import { runSchedule, type Schedule } from "../../src/jobs/schedules.ts";
import { createLogger } from "../../src/logger.ts";
import { buildAzusa } from "../../src/server.ts";
import { startServe } from "../support/cli.ts";
import { Client, startTestAzusa } from "../support/harness.ts";
import { type PrivatePostgres, privatePostgres } from "../support/private-postgres.ts";
import { keyFile, run, sshArgs, sshHome } from "../support/ssh-client.ts";

/** Calls `probe` until it returns true; the test's own timeout bounds the wait. */
async function until(probe: () => Promise<boolean>): Promise<void> {
  while (!(await probe())) await pause(100);
}

describe("PostgreSQL restarting under load", () => {
  let pg: PrivatePostgres;
  let dataDir: string;
  const secret = randomBytes(32).toString("base64url");
  /** Two sessions and two API keys of one contractor: one of each under load, one kept unused until the outage. */
  const credentials = { cookies: [] as string[], keys: [] as string[] };

  beforeAll(async () => {
    pg = await privatePostgres();
    dataDir = mkdtempSync(join(tmpdir(), "azusa-pg-restart-"));
    // The people are made through an Azusa of the test's own on the same database, then it stops.
    const seed = await startTestAzusa({ env: { DATABASE_URL: pg.url, AZUSA_SECRET: secret, AZUSA_SCHEDULES: "off" } });
    try {
      const tenant = await seed.createTenant("東京SI");
      await seed.createUser("contractor", "buyer@tokyo-si.example", tenant.id);
      for (let i = 0; i < 2; i++) {
        const contractor = await seed.signIn("buyer@tokyo-si.example");
        credentials.cookies.push(contractor.cookie);
        credentials.keys.push((await (await contractor.post("/api/v1/api-keys", { name: `script ${i}` })).json()).key);
      }
    } finally {
      await seed.stop();
    }
  });

  afterAll(async () => {
    await pg?.remove();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it("answers 503 while it is down, never exits, and serves again when it is back", async () => {
    const server = await startServe({
      AZUSA_DATA_DIR: dataDir,
      DATABASE_URL: pg.url,
      AZUSA_SECRET: secret,
      AZUSA_IMAGE_BUILD: "off",
    });
    let exited: number | null | undefined;
    server.child.once("exit", (code) => {
      exited = code;
    });
    const base = `http://127.0.0.1:${server.port}`;
    const asCookie = (cookie: string) => Object.assign(new Client(base), { cookie });
    const asKey = (key: string) => new Client(base, { "x-api-key": key });
    try {
      // Four clients, two by cookie and two by key, for as long as the test runs.
      const statuses: number[] = [];
      let loading = true;
      const clients = [0, 1, 2, 3].map((i) =>
        i % 2 ? asKey(credentials.keys[0] as string) : asCookie(credentials.cookies[0] as string),
      );
      const load = clients.map(async (client) => {
        while (loading) {
          statuses.push((await client.get("/api/v1/contracts")).status);
          await pause(10);
        }
      });
      await until(async () => statuses.filter((s) => s === 200).length >= 40);

      await pg.stop();
      await until(async () => (await fetch(`${base}/readyz`)).status === 503);
      const ready = await (await fetch(`${base}/readyz`)).json();
      expect(ready).toMatchObject({ status: "unavailable", checks: { database: { ok: false } } });

      // Credentials never looked up before the outage: the answer is 503, not "no such key" nor a 500.
      for (const client of [asCookie(credentials.cookies[1] as string), asKey(credentials.keys[1] as string)]) {
        const res = await client.get("/api/v1/contracts");
        expect(res.status).toBe(503);
        expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
        expect((await res.json()).error).toMatchObject({ code: "UNAVAILABLE", requestId: expect.any(String) });
      }
      // A page says so too, and an SSH login is told why it cannot go on (not "Permission denied").
      const page = await asCookie(credentials.cookies[1] as string).get("/");
      expect(page.status).toBe(503);
      expect(page.headers.get("retry-after")).toMatch(/^\d+$/);
      const sshPort = Number(/"port":(\d+)[^\n]*"msg":"ssh gateway listening"/.exec(server.output())?.[1]);
      const home = sshHome(readFileSync(join(dataDir, "ssh_host_ed25519_key.pub"), "utf8").trim(), sshPort);
      const key = keyFile(home.dir, "engineer");
      const sshLogin = () =>
        run("ssh", [
          ...sshArgs({ port: sshPort, key: key.path, knownHosts: home.knownHosts, user: "pkg-anything" }),
          "true",
        ]);
      const login = await sshLogin();
      expect(login.code).toBe(255);
      expect(login.stderr).toContain(UNAVAILABLE);
      const during = statuses.length;
      await until(async () => statuses.length >= during + 20);

      await pg.start();
      await until(async () => (await fetch(`${base}/readyz`)).status === 200);
      for (const client of [asCookie(credentials.cookies[1] as string), asKey(credentials.keys[1] as string)]) {
        expect((await client.get("/api/v1/contracts")).status).toBe(200);
      }
      // The SSH gateway checks logins again by itself: an unknown key is refused as such, no longer as unavailable.
      const again = await sshLogin();
      rmSync(home.dir, { recursive: true, force: true });
      expect(again.code).toBe(255);
      expect(again.stderr).not.toContain(UNAVAILABLE);
      expect(again.stderr).toContain("Permission denied");
      const after = statuses.length;
      await until(async () => statuses.slice(after).filter((s) => s === 200).length >= 20);
      loading = false;
      await Promise.all(load);

      expect(exited).toBeUndefined();
      expect(new Set(statuses)).toEqual(new Set([200, 503]));
    } finally {
      server.child.kill("SIGTERM");
      await new Promise((resolve) => (exited !== undefined ? resolve(null) : server.child.once("exit", resolve)));
    }
  });

  it("skips a schedule's firing while it is down with one warning, and runs the next once it is back", async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: "info", destination: { write: (line: string) => lines.push(line) } });
    const config = loadConfig({
      AZUSA_DATA_DIR: dataDir,
      DATABASE_URL: pg.url,
      AZUSA_SECRET: secret,
      AZUSA_SCHEDULES: "off",
    });
    const azusa = buildAzusa(config, { logger });
    try {
      let runs = 0;
      const job: Schedule = { name: "test.outage", cron: "* * * * *", run: async () => void runs++ };
      await pg.stop();
      expect(await runSchedule(job, azusa.jobLock, logger, new Date("2026-12-07T00:00:10Z"))).toBe(false);
      const said = lines.map((l) => JSON.parse(l)).filter((l) => l.schedule === "test.outage");
      expect(said).toEqual([
        expect.objectContaining({ level: 40, msg: expect.stringContaining("database does not answer") }),
      ]);
      expect(said[0]).not.toHaveProperty("err");
      await pg.start();
      await until(
        async () =>
          await azusa.db
            .ping()
            .then(() => true)
            .catch(() => false),
      );
      expect(await runSchedule(job, azusa.jobLock, logger, new Date("2026-12-07T00:01:10Z"))).toBe(true);
      expect(runs).toBe(1);
    } finally {
      await azusa.close();
    }
  }, 120_000);
});
