// Notices between the Azusa processes of one PostgreSQL database (LISTEN/NOTIFY): a revocation made through one
// process reaches every other at once. SQLite serves one process, which needs no notice: there nothing is sent.
import { type Kysely, sql } from "kysely";
import pg from "pg";
import type { Config } from "../config.ts";
import type { Logger } from "../logger.ts";
import type { Database, Executor } from "./schema.ts";

/** The one channel Azusa's processes speak on. */
const CHANNEL = "azusa_notice";

export interface Notices {
  /**
   * Tells every process on the database (this one too) `notice`. Given a transaction, the notice goes out when it
   * commits and not at all when it rolls back; otherwise at once.
   */
  publish(notice: string, ex?: Executor): Promise<void>;
  /** Starts listening; `heard` gets each notice, and `"resync"` after a lost connection is back (any may be missed). */
  listen(heard: (notice: string) => void): Promise<void>;
  close(): Promise<void>;
}

/** Notices over PostgreSQL; on SQLite, nothing is sent or heard. */
export function createNotices({
  database,
  db,
  logger,
  retryMs = 1000,
}: {
  database: Config["database"];
  db: Kysely<Database>;
  logger: Pick<Logger, "warn" | "info">;
  retryMs?: number;
}): Notices {
  if (database.dialect !== "postgres") {
    return { publish: async () => {}, listen: async () => {}, close: async () => {} };
  }
  const url = database.url;
  let client: pg.Client | null = null;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;

  /** A connection of its own that stays LISTENing; when it is lost, another is made every `retryMs`. */
  async function connect(heard: (notice: string) => void, again: boolean): Promise<void> {
    const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
    const lost = () => {
      if (client !== c) return;
      client = null;
      c.end().catch(() => {});
      if (closed) return;
      logger.warn({}, "the notice connection to PostgreSQL was lost; connecting again");
      retry(heard);
    };
    c.on("error", lost);
    c.on("end", lost);
    c.on("notification", (m) => {
      if (m.channel === CHANNEL && m.payload) heard(m.payload);
    });
    client = c;
    try {
      await c.connect();
      await c.query(`LISTEN ${CHANNEL}`);
    } catch (err) {
      if (client === c) client = null;
      c.end().catch(() => {});
      throw err;
    }
    if (closed) {
      await c.end().catch(() => {});
      return;
    }
    // What was said while nobody listened is lost: whoever hears is told to check everything again.
    if (again) {
      logger.info({}, "the notice connection to PostgreSQL is back");
      heard("resync");
    }
  }

  function retry(heard: (notice: string) => void): void {
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (closed) return;
      connect(heard, true).catch(() => retry(heard));
    }, retryMs);
    timer.unref();
  }

  return {
    async publish(notice, ex: Executor = db) {
      await sql`select pg_notify(${CHANNEL}, ${notice})`.execute(ex);
    },
    async listen(heard) {
      try {
        await connect(heard, false);
      } catch (err) {
        // The database not answering at start is named elsewhere; listening begins when it does.
        logger.warn({ err: (err as Error).message }, "cannot listen for notices yet; trying again");
        retry(heard);
      }
    },
    async close() {
      closed = true;
      clearTimeout(timer);
      const c = client;
      client = null;
      await c?.end().catch(() => {});
    },
  };
}
