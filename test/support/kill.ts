// `azusa serve` as a process of its own beside a test's Azusa, on its database and data directory, to be held at
// a named point (the test-only AZUSA_TEST_PAUSE_AT), killed there with SIGKILL and started again.
import { join } from "node:path";
import SQLite from "better-sqlite3";
import { Kysely, SqliteDialect } from "kysely";
import { expect } from "vitest";
import type { Database } from "../../src/db/schema.ts";
import { exited, startServe, until } from "./cli.ts";
import type { TestDialect } from "./databases.ts";
import { Client, freePort, PASSWORD, type TestAzusa } from "./harness.ts";

export type Served = Awaited<ReturnType<typeof startServe>> & { base: string };

/** Starts `azusa serve` on `t`'s database and data directory with `env`, held at `pauseAt` when given. */
export async function serveBeside(t: TestAzusa, env: Record<string, string>, pauseAt?: string): Promise<Served> {
  // The port is chosen before the process binds it, so a test running at once may take it first: another is tried.
  for (let attempt = 1; ; attempt++) {
    try {
      return await serveOnFreePort(t, env, pauseAt);
    } catch (err) {
      if (attempt >= 3 || !/already in use/.test(String(err))) throw err;
    }
  }
}

async function serveOnFreePort(t: TestAzusa, env: Record<string, string>, pauseAt?: string): Promise<Served> {
  const port = await freePort();
  const server = await startServe({
    ...t.dbEnv,
    AZUSA_PORT: String(port),
    AZUSA_BASE_URL: `http://127.0.0.1:${port}`,
    AZUSA_SIGNIN_LIMIT: "1000",
    AZUSA_IMAGE_BUILD: "off",
    AZUSA_SCHEDULES: "off",
    ...env,
    ...(pauseAt ? { AZUSA_TEST_PAUSE_AT: pauseAt } : {}),
  });
  return { ...server, base: `http://127.0.0.1:${port}` };
}

/** A client signed in to `server` as `email`. */
export async function signInTo(server: Served, email: string): Promise<Client> {
  const client = new Client(server.base);
  const res = await client.post("/api/auth/sign-in/email", { email, password: PASSWORD });
  expect(res.status).toBe(200);
  return client;
}

/** Resolves once the process has reached `point` and holds there. */
export const pausedAt = (server: Served, point: string) =>
  until(
    `azusa serve to pause at ${point}`,
    async () => (server.output().includes(`"point":"${point}"`) ? true : undefined),
    120_000,
  );

/** SIGKILL, as a crash or the OOM killer would end the process. */
export async function killHard(server: Served): Promise<void> {
  server.child.kill("SIGKILL");
  await exited(server.child);
  expect(server.child.signalCode).toBe("SIGKILL");
}

/** A graceful stop. */
export async function stopServe(server: Served): Promise<void> {
  server.child.kill("SIGTERM");
  await exited(server.child);
}

/**
 * Uses the database beside (never through) the process under test: `t`'s pool on PostgreSQL, the SQLite file
 * opened for the moment otherwise (`t` has stepped aside there: SQLite serves one process).
 */
export async function withDatabase<T>(
  t: TestAzusa,
  dialect: TestDialect,
  use: (db: Kysely<Database>) => Promise<T>,
): Promise<T> {
  if (dialect === "postgres") return use(t.running.azusa.db.kysely);
  const file = join(t.dbEnv.AZUSA_DATA_DIR as string, "azusa.sqlite");
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: new SQLite(file) }) });
  try {
    return await use(db);
  } finally {
    await db.destroy();
  }
}
