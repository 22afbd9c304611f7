// Opens the database named by the configuration: SQLite by default, PostgreSQL with DATABASE_URL.
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import SQLite from "better-sqlite3";
import {
  type Compilable,
  CompiledQuery,
  Kysely,
  PostgresDialect,
  type SqliteDatabase,
  SqliteDialect,
  sql,
} from "kysely";
import pg from "pg";
import type { Config } from "../config.ts";
import type { Database } from "./schema.ts";

export type Dialect = "sqlite" | "postgres";

/** A Kysely instance together with the engine it speaks to. */
export interface Db {
  kysely: Kysely<Database>;
  dialect: Dialect;
  /** Resolves when a trivial query succeeds; rejects otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Opens the database; for SQLite the file and its folder are created when missing. */
export function openDatabase(database: Config["database"]): Db {
  if (database.dialect === "postgres") {
    const pool = new pg.Pool({ connectionString: database.url, max: 10 });
    // An idle client losing its connection must not crash the process; the next query reconnects.
    pool.on("error", () => {});
    const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    return wrap(kysely, "postgres");
  }
  if (database.file !== ":memory:") mkdirSync(dirname(database.file), { recursive: true });
  const sqlite = new SQLite(database.file);
  sqlite.pragma("journal_mode = WAL");
  sqlite.pragma("busy_timeout = 5000");
  sqlite.pragma("foreign_keys = ON");
  const kysely = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  return wrap(kysely, "sqlite");
}

/**
 * Kysely prepares every query afresh; preparing costs more than running a small query. Azusa's
 * queries come from a fixed set of builders, so the prepared statements are kept (bounded, LRU).
 */
export function withStatementCache(db: SQLite.Database, max = 1000): SqliteDatabase {
  const statements = new Map<string, SQLite.Statement>();
  return {
    close: () => db.close(),
    prepare(sql) {
      let stmt = statements.get(sql);
      if (stmt) {
        statements.delete(sql);
      } else {
        stmt = db.prepare(sql);
        if (statements.size >= max) {
          const oldest = statements.keys().next().value;
          if (oldest !== undefined) statements.delete(oldest);
        }
      }
      statements.set(sql, stmt);
      return stmt;
    },
  };
}

function wrap(kysely: Kysely<Database>, dialect: Dialect): Db {
  return {
    kysely,
    dialect,
    async ping() {
      await sql`select 1`.execute(kysely);
    },
    close: () => kysely.destroy(),
  };
}

const ARGUMENT = "\u0000azusa-prepared-argument\u0000";

/**
 * A read on a hot path, built and compiled by Kysely once and then run with a new argument: building
 * and compiling cost more than running a small query. `build` receives a stand-in for the argument and
 * must use it exactly where the value goes (once or more); the result is the query's first row.
 */
export function preparedFirst<R>(
  kysely: Kysely<Database>,
  build: (argument: string) => Compilable<R>,
): (argument: string) => Promise<R | undefined> {
  const compiled = build(ARGUMENT).compile();
  const slots = compiled.parameters.flatMap((p, i) => (p === ARGUMENT ? [i] : []));
  if (slots.length === 0) throw new Error("preparedFirst: the query does not use its argument");
  return async (argument) => {
    const parameters = [...compiled.parameters];
    for (const i of slots) parameters[i] = argument;
    const { rows } = await kysely.executeQuery<R>(CompiledQuery.raw(compiled.sql, parameters));
    return rows[0];
  };
}
