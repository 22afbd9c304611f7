// Migrations run from empty and again without change, on SQLite and PostgreSQL alike.
import { sql } from "kysely";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.ts";
import { migrations } from "../src/db/migrate.ts";
import { createLogger } from "../src/logger.ts";
import { buildAzusa } from "../src/server.ts";
import { runCli } from "./support/cli.ts";
import { createTestDatabase, dialects, type TestDatabase } from "./support/databases.ts";

const created: TestDatabase[] = [];
afterEach(async () => {
  for (const d of created.splice(0)) await d.drop();
});

describe.each(dialects)("migrations on %s", (dialect) => {
  it("create every table from an empty database and are idempotent", async () => {
    const db = await createTestDatabase(dialect);
    created.push(db);
    const azusa = buildAzusa(loadConfig(db.env), { logger: createLogger({ level: "silent" }) });
    try {
      expect(await azusa.migrate()).toEqual(Object.keys(migrations));
      expect(await azusa.migrate()).toEqual([]);
      const tables = (await azusa.db.kysely.introspection.getTables()).map((t) => t.name);
      expect(tables).toEqual(
        expect.arrayContaining([
          "user",
          "session",
          "account",
          "verification",
          "apikey",
          "tenant",
          "invitation",
          "audit_event",
          "audit_head",
        ]),
      );
      const user = (await azusa.db.kysely.introspection.getTables()).find((t) => t.name === "user");
      expect(user?.columns.map((c) => c.name)).toEqual(expect.arrayContaining(["role", "tenantId"]));
      const applied = await sql<{ name: string }>`select name from azusa_migration order by name`.execute(
        azusa.db.kysely,
      );
      expect(applied.rows.map((r) => r.name)).toEqual(Object.keys(migrations));
    } finally {
      await azusa.close();
    }
  });

  it("run from the command line twice without change", async () => {
    const db = await createTestDatabase(dialect);
    created.push(db);
    const first = await runCli(["migrate"], db.env);
    expect(first.stderr).toBe("");
    expect(first.stdout).toBe(`applied: ${Object.keys(migrations).join(", ")}\n`);
    const second = await runCli(["migrate"], db.env);
    expect(second).toEqual({ code: 0, stdout: "database is up to date\n", stderr: "" });
    // Two CLI starts (each loading TypeScript) and every migration: on a busy machine this is well over 30 s.
  }, 180_000);
});

it("names migrations by date so that they apply in the order they were written", () => {
  const names = Object.keys(migrations);
  expect(names.every((n) => /^\d{4}-\d{2}-\d{2}T\d{4}-[a-z0-9-]+$/.test(n))).toBe(true);
  expect([...names].sort()).toEqual(names);
});
