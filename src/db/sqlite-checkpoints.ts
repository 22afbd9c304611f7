// WAL checkpoints of an SQLite file, off the event loop. By default SQLite checkpoints on the connection that
// commits, once the WAL passes 1,000 pages: the commit of a large write (a 50,000-row WBS import) then copies
// the whole WAL into the database file and syncs it before the statement returns — hundreds of milliseconds in
// which the event loop (the API, the SSH gateway) waits. Azusa turns that off on its connection and checkpoints
// from a connection of its own on a worker thread instead, every second. A crash in between loses nothing: the
// WAL is the database until it is checkpointed, and the next open reads it.
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";

/** How often the worker checkpoints. */
export const CHECKPOINT_MS = 1000;

// Plain JavaScript (the worker loads no TypeScript): its own connection, a PASSIVE checkpoint on a timer (it
// waits for no reader or writer), and a last one when told to stop.
const source = `
const { parentPort, workerData } = require("node:worker_threads");
const SQLite = require(workerData.module);
const db = new SQLite(workerData.file, { fileMustExist: true });
const checkpoint = () => {
  try {
    db.pragma("wal_checkpoint(PASSIVE)");
  } catch (err) {
    parentPort.postMessage({ failed: String(err && err.message || err) });
  }
};
const timer = setInterval(checkpoint, workerData.everyMs);
parentPort.on("message", () => {
  clearInterval(timer);
  checkpoint();
  db.close();
  parentPort.close();
});
`;

/**
 * Checkpoints `file`'s WAL every `everyMs` on a worker thread; the caller's connection must have
 * `wal_autocheckpoint = 0`. `onFailure` hears a checkpoint that failed (the next one tries again). Returns the
 * stop, which runs a last checkpoint and resolves once the worker's connection is closed.
 */
export function checkpointOffThread(
  file: string,
  {
    everyMs = CHECKPOINT_MS,
    onFailure = () => {},
  }: { everyMs?: number; onFailure?: ((message: string) => void) | undefined } = {},
): () => Promise<void> {
  const module = createRequire(import.meta.url).resolve("better-sqlite3");
  const worker = new Worker(source, { eval: true, workerData: { file, module, everyMs } });
  worker.unref();
  worker.on("message", (m: { failed?: string }) => m.failed && onFailure(m.failed));
  worker.on("error", (err) => onFailure(err.message));
  const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
  let stopping = false;
  return () => {
    // Held from here on: a caller awaiting the last checkpoint (`azusa migrate` at its end) must not see the
    // process end under it with the promise unsettled.
    if (!stopping) {
      worker.ref();
      worker.postMessage("stop");
    }
    stopping = true;
    return exited;
  };
}
