// SQLite's WAL is checkpointed on a thread of its own, never by the commit of the event loop's connection: a large
// write's commit then returns without copying the WAL into the database file.
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "kysely";
import { afterEach, describe, expect, it } from "vitest";
import { type Db, openDatabase } from "../src/db/db.ts";
import { until } from "./support/cli.ts";

describe("SQLite checkpoints", () => {
  let dir: string;
  let db: Db | undefined;
  afterEach(async () => {
    await db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("are made by the checkpoint thread; the main connection never makes one itself", async () => {
    dir = mkdtempSync(join(tmpdir(), "azusa-checkpoints-"));
    const file = join(dir, "azusa.sqlite");
    db = openDatabase({ dialect: "sqlite", file });
    const { rows } = await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(db.kysely);
    expect(rows[0]?.wal_autocheckpoint).toBe(0);
    await sql`create table filler (id integer primary key, body text not null)`.execute(db.kysely);
    const before = statSync(file).size;
    // About 4 MiB: far more than the 1,000 pages past which SQLite's own checkpoint would run in the commit.
    await db.kysely.transaction().execute(async (trx) => {
      for (let i = 0; i < 8; i++) {
        const values = Array.from({ length: 500 }, (_, j) => `(${i * 500 + j}, '${"x".repeat(1000)}')`).join(",");
        await sql.raw(`insert into filler (id, body) values ${values}`).execute(trx);
      }
    });
    // The rows reach the database file itself only through a checkpoint: the thread's.
    await until("the WAL to be checkpointed into the database file", async () =>
      statSync(file).size > before + 3 * 1024 * 1024 ? true : undefined,
    );
    // A clean close leaves the file whole, the WAL emptied.
    await db.close();
    db = undefined;
    expect(statSync(`${file}-wal`, { throwIfNoEntry: false })?.size ?? 0).toBe(0);
  });
});
