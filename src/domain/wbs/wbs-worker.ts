// The worker thread of WBS imports (started by wbs-thread.ts): prepares one import at a time, writes it when asked
// to (on a connection of its own), and sends back what is left in slices, so that the event loop
// on the other side takes each in a moment.

import { parentPort } from "node:worker_threads";
import SQLite from "better-sqlite3";
import { Kysely, SqliteDialect } from "kysely";
import { openDatabase } from "../../db/db.ts";
import type { Database } from "../../db/schema.ts";
import { AppError } from "../../kernel/errors.ts";
import { type AuditService, createAuditService } from "../audit/audit.service.ts";
import { prepareWbsImport } from "./wbs-prepare.ts";
import type { WbsAsk, WbsReply, WbsThreadWrite } from "./wbs-thread.ts";
import { writeWbsImport } from "./wbs-write.ts";

/** Rows per message: each is copied into the main thread in one piece. */
const SLICE = 1000;

const port = parentPort;
if (!port) throw new Error("wbs-worker.ts runs as a worker thread");
const send = (reply: WbsReply) => port.postMessage(reply);

// Each step waits for the main thread's word: the next slice (queued messages are all taken in one turn there), the
// writing turn, the end of a pause.
const waiting: { more?: () => void; go?: () => void; resume?: () => void } = {};
const asked = (word: keyof typeof waiting) =>
  new Promise<void>((resolve) => {
    waiting[word] = resolve;
  });

// The connection imports are written on, kept from one import to the next.
let writer: { where: string; auditKey: string; db: Kysely<Database>; audit: AuditService } | undefined;
function writerFor({ database, auditKey }: WbsThreadWrite) {
  const where = database.dialect === "sqlite" ? database.file : database.url;
  if (writer?.where === where && writer.auditKey === auditKey) return writer;
  void writer?.db.destroy();
  // PostgreSQL through the pool Azusa opens everywhere (a lost connection is UNAVAILABLE, 503, as elsewhere).
  const db = database.dialect === "postgres" ? openDatabase(database).kysely : sqliteWriter(database.file);
  writer = { where, auditKey, db, audit: createAuditService({ db, key: auditKey }) };
  return writer;
}

function sqliteWriter(file: string): Kysely<Database> {
  const sqlite = new SQLite(file, { fileMustExist: true });
  sqlite.pragma("busy_timeout = 5000");
  sqlite.pragma("foreign_keys = ON");
  // Checkpoints are the checkpoint thread's (sqlite-checkpoints.ts), as on the event loop's connection.
  sqlite.pragma("wal_autocheckpoint = 0");
  return new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
}

port.on("message", async (message: WbsAsk) => {
  if (message === "more" || "go" in message || "resume" in message) {
    const word = message === "more" ? "more" : "go" in message ? "go" : "resume";
    const resolve = waiting[word];
    waiting[word] = undefined;
    resolve?.();
    return;
  }
  const { id, upload, target, write } = message;
  try {
    const { groupRows, packageRows, edges, result } = await prepareWbsImport(upload, target);
    if (write) {
      const go = asked("go");
      send({ id, turn: true });
      await go;
      const { db, audit } = writerFor(write);
      await db.transaction().execute((trx) =>
        writeWbsImport(
          trx,
          audit,
          { actor: write.actor, contractId: target.contractId, tenantId: target.tenantId },
          { groupRows, packageRows, edges, result },
          async () => {
            const resumed = asked("resume");
            send({ id, between: true });
            await resumed;
          },
        ),
      );
      send({ id, written: true });
    }
    // Rows written here are not sent back: the answer needs none of them.
    const lists = {
      groupRows: write ? [] : groupRows,
      packageRows: write ? [] : packageRows,
      edges: write ? [] : edges,
      packages: result.packages,
      oversized: result.oversized,
      criticalPath: result.plan.criticalPath,
      schedule: result.plan.packages,
    };
    for (const [list, rows] of Object.entries(lists)) {
      for (let i = 0; i < rows.length; i += SLICE) {
        const more = asked("more");
        send({ id, slice: { list: list as keyof typeof lists, rows: rows.slice(i, i + SLICE) } });
        await more;
      }
    }
    send({
      id,
      done: {
        format: result.format,
        ignoredColumns: result.ignoredColumns,
        groups: result.groups,
        totalHours: result.plan.totalHours,
      },
    });
  } catch (error) {
    if (error instanceof AppError) {
      send({ id, error: { code: error.code, message: error.message, details: error.details, text: error.text } });
    } else send({ id, crash: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  }
});
