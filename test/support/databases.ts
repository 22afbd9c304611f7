// Throwaway databases for tests: a temp SQLite file, or a fresh PostgreSQL database per test context.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import type { Config } from "../../src/config.ts";

export const dialects = ["sqlite", "postgres"] as const;
export type TestDialect = (typeof dialects)[number];

/** The server the PostgreSQL tests use; `infra/setup.sh --for-tests` makes this role. */
export const adminUrl = process.env.AZUSA_TEST_PG_URL ?? "postgres://azusa:azusa@127.0.0.1:5432/postgres";

export interface TestDatabase {
  env: Record<string, string>;
  database: Config["database"];
  dataDir: string;
  drop(): Promise<void>;
}

async function adminQuery(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  try {
    await client.connect();
  } catch (err) {
    throw new Error(
      `PostgreSQL is not reachable at ${adminUrl} (${(err as Error).message}); run \`bash infra/setup.sh --for-tests\``,
    );
  }
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

/** A new, empty database of the given dialect, and a data directory beside it. */
export async function createTestDatabase(dialect: TestDialect): Promise<TestDatabase> {
  const dataDir = mkdtempSync(join(tmpdir(), "azusa-test-"));
  if (dialect === "sqlite") {
    return {
      env: { AZUSA_DATA_DIR: dataDir },
      database: { dialect: "sqlite", file: join(dataDir, "azusa.sqlite") },
      dataDir,
      async drop() {
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  }
  const name = `azusa_test_${randomBytes(6).toString("hex")}`;
  await adminQuery(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    env: { AZUSA_DATA_DIR: dataDir, DATABASE_URL: url.toString() },
    database: { dialect: "postgres", url: url.toString() },
    dataDir,
    async drop() {
      // FORCE cannot end an autovacuum worker that happens to be in the database (it runs as the
      // superuser, which role azusa may not signal); it finishes within moments, so try again.
      for (let attempt = 1; ; attempt++) {
        try {
          await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
          break;
        } catch (err) {
          if ((err as { code?: string }).code !== "42501" || attempt >= 20) throw err;
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
