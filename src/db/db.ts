// Opens the database named by the configuration: SQLite by default, PostgreSQL with DATABASE_URL.
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import SQLite from "better-sqlite3";
import {
  type Compilable,
  CompiledQuery,
  Kysely,
  PostgresDialect,
  type PostgresPool,
  type PostgresPoolClient,
  type SqliteDatabase,
  SqliteDialect,
  sql,
} from "kysely";
import pg from "pg";
import type { Config } from "../config.ts";
import { fail } from "../kernel/errors.ts";
import { msg } from "../kernel/messages.ts";
import type { Database } from "./schema.ts";
import { checkpointOffThread } from "./sqlite-checkpoints.ts";

export type Dialect = "sqlite" | "postgres";

/** A Kysely instance together with the engine it speaks to. */
export interface Db {
  kysely: Kysely<Database>;
  dialect: Dialect;
  /** Resolves when a trivial query succeeds; rejects otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
  /**
   * A read on a hot path, compiled once (see `preparedFirst`). On an SQLite file it runs synchronously on a
   * read-only connection of its own, which reads what is committed, as any other request would on PostgreSQL.
   */
  preparedFirst<R>(build: (argument: string) => Compilable<R>): (argument: string) => MaybePromise<R | undefined>;
  /**
   * Runs `work` while no other process on the database runs work under the same `name`: on PostgreSQL under a
   * transaction-scoped advisory lock held on a connection of its own (`work` uses the pool as usual); on SQLite,
   * which serves one process, at once.
   */
  exclusive<T>(name: string, work: () => Promise<T>): Promise<T>;
}

/** A value, or a promise of it: a synchronous read spares its caller's await a promise. */
export type MaybePromise<T> = T | Promise<T>;

/** Opens the database; for SQLite the file and its folder are created when missing. */
export function openDatabase(
  database: Config["database"],
  /** Told when a WAL checkpoint failed on its thread (the next one tries again). */
  onCheckpointFailure?: (message: string) => void,
): Db {
  if (database.dialect === "postgres") {
    // A server that does not answer at all fails a connection after 10 s rather than holding a request for ever.
    const pool = new pg.Pool({ connectionString: database.url, max: 10, connectionTimeoutMillis: 10_000 });
    // A connection lost (PostgreSQL restarting) must not crash the process: idle clients report to the pool,
    // and a client in use reports here too (pg-pool listens only while it is idle). A broken client is not
    // queryable; the pool drops it when it is released, and the next query connects afresh.
    pool.on("error", () => {});
    pool.on("connect", (client) => client.on("error", () => {}));
    const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool: unavailableWhenDown(pool) }) });
    return wrap(kysely, "postgres");
  }
  if (database.file !== ":memory:") mkdirSync(dirname(database.file), { recursive: true });
  const sqlite = new SQLite(database.file);
  sqlite.pragma("journal_mode = WAL");
  sqlite.pragma("busy_timeout = 5000");
  sqlite.pragma("foreign_keys = ON");
  const kysely = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  // A memory database is private to its connection: there, prepared reads go through Kysely's one connection.
  if (database.file === ":memory:") return wrap(kysely, "sqlite");
  // Checkpoints run on a thread of their own, never in the commit of the event loop's connection.
  sqlite.pragma("wal_autocheckpoint = 0");
  const stopCheckpoints = checkpointOffThread(database.file, { onFailure: onCheckpointFailure });
  return wrap(kysely, "sqlite", sqliteReader(database.file), stopCheckpoints);
}

/** Node's and PostgreSQL's codes of a connection that failed or was lost (SQLSTATE class 08 and 57P01–57P03). */
const connectionCodes = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "57P01",
  "57P02",
  "57P03",
]);
/** The messages of node-postgres for a connection lost or never made (its errors carry no code). */
const connectionMessages =
  /Connection terminated|not queryable|timeout exceeded when trying to connect|Client was closed|connection error/i;

/** Whether `err` says the database could not be reached, rather than that a statement was wrong. */
export function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string" && (connectionCodes.has(code) || code.startsWith("08"))) return true;
  return connectionMessages.test(err.message);
}

/**
 * The error every caller sees while the database does not answer: UNAVAILABLE (503 with retry-after).
 * `details.reason` keeps node-postgres's own words for the log; they are never sent to a client.
 */
export const databaseUnavailable = (cause?: unknown) =>
  fail("UNAVAILABLE", msg("error.database"), {
    reason: cause instanceof Error ? cause.message || (cause as { code?: string }).code : undefined,
  });

/**
 * The pool as Kysely sees it, with a lost or refused connection turned into UNAVAILABLE: callers (routes,
 * the gateway, schedules) tell an outage from a fault without knowing node-postgres.
 */
function unavailableWhenDown(pool: pg.Pool): PostgresPool {
  const translate = (err: unknown) => (isConnectionError(err) ? databaseUnavailable(err) : err);
  return {
    async connect() {
      const client = await pool.connect().catch((err: unknown) => {
        throw translate(err);
      });
      const query = (...args: unknown[]) => {
        const result = (client.query as (...a: unknown[]) => unknown)(...args);
        return result instanceof Promise
          ? result.catch((err: unknown) => {
              throw translate(err);
            })
          : result;
      };
      return { query, release: () => client.release() } as unknown as PostgresPoolClient;
    },
    end: () => pool.end(),
  };
}

/**
 * A read-only connection to the same SQLite file, opened at its first read (after the migrations). In WAL mode it
 * reads the last commit while the main connection writes, so it neither waits for Kysely's one connection nor sees
 * another request's open transaction.
 */
function sqliteReader(file: string) {
  let reader: SQLite.Database | undefined;
  let closed = false;
  return {
    prepare(sql: string): SQLite.Statement {
      if (closed) throw new Error("the database is closed");
      if (!reader) {
        reader = new SQLite(file, { readonly: true, fileMustExist: true });
        reader.pragma("busy_timeout = 5000");
      }
      return reader.prepare(sql);
    },
    close() {
      closed = true;
      reader?.close();
    },
  };
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

function wrap(
  kysely: Kysely<Database>,
  dialect: Dialect,
  reader?: ReturnType<typeof sqliteReader>,
  stopCheckpoints?: () => Promise<void>,
): Db {
  return {
    kysely,
    dialect,
    async ping() {
      await sql`select 1`.execute(kysely);
    },
    exclusive(name, work) {
      if (dialect !== "postgres") return work();
      return kysely.transaction().execute(async (trx) => {
        await sql`select pg_advisory_xact_lock(hashtext(${name}))`.execute(trx);
        return work();
      });
    },
    async close() {
      reader?.close();
      // The checkpoint thread's last checkpoint first; the main connection, closing last, empties the WAL.
      await stopCheckpoints?.();
      await kysely.destroy();
    },
    preparedFirst<R>(build: (argument: string) => Compilable<R>) {
      if (!reader) return preparedFirst(kysely, build);
      const { sql: text, parameters, slots } = compileOnce(build);
      let statement: SQLite.Statement | undefined;
      // Most hot reads take their argument as their only parameter: then it is bound as is.
      if (parameters.length === 1) {
        return (argument: string) => {
          statement ??= reader.prepare(text);
          return statement.get(argument) as R | undefined;
        };
      }
      return (argument: string) => {
        statement ??= reader.prepare(text);
        const values = [...parameters];
        for (const i of slots) values[i] = argument;
        return statement.get(values) as R | undefined;
      };
    },
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
  const { sql: text, parameters: fixed, slots } = compileOnce(build);
  return async (argument) => {
    const parameters = [...fixed];
    for (const i of slots) parameters[i] = argument;
    const { rows } = await kysely.executeQuery<R>(CompiledQuery.raw(text, parameters));
    return rows[0];
  };
}

/** The query's SQL and parameters, and where in them the argument goes. */
function compileOnce(build: (argument: string) => Compilable<unknown>) {
  const compiled = build(ARGUMENT).compile();
  const slots = compiled.parameters.flatMap((p, i) => (p === ARGUMENT ? [i] : []));
  if (slots.length === 0) throw new Error("preparedFirst: the query does not use its argument");
  return { sql: compiled.sql, parameters: compiled.parameters, slots };
}
