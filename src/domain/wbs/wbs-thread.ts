// Runs the preparing of WBS imports (parse, check, plan: seconds of work for a large file) on a worker thread, so
// that the event loop keeps serving requests and SSH sessions meanwhile. One worker, started on first use, takes
// the imports one after another; it is limited in memory, and one that runs out answers 413 and is replaced.
// The worker also writes the import, in one transaction on a connection of its own, so that its rows never cross to
// the event loop: SQLite runs statements synchronously (the commit of 100,000 rows alone held the event loop for a
// fifth of a second), and on PostgreSQL taking 100,000 rows back and sending them on cost the event loop as much.
// While it writes an SQLite file, the event loop's connection runs nothing (`turn`), so that no statement there
// waits on the lock.

import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import type { Config } from "../../config.ts";
import type { Actor } from "../../kernel/actor.ts";
import { AppError, type ErrorCode, fail } from "../../kernel/errors.ts";
import { type Text, text } from "../../kernel/messages.ts";
import type { PreparedWbsImport, WbsImportTarget, WbsUpload } from "./wbs-prepare.ts";

/** Heap a WBS import may use on its thread, in MiB; past it the import is refused with 413. */
export const WBS_THREAD_HEAP_MB = 1024;

/** Where and as whom the worker writes an import it has prepared. */
export interface WbsThreadWrite {
  database: Config["database"];
  auditKey: string;
  actor: Actor;
}

/** One import asked of the worker; with `write`, the worker writes it too and sends back only the answer. */
export interface WbsJob {
  id: number;
  upload: WbsUpload;
  target: WbsImportTarget;
  write?: WbsThreadWrite;
}

/** What the event loop's side of a write on the thread does. */
export interface WbsThreadWriteHooks {
  /** Runs `write` (the worker writing and committing) while no statement runs on the event loop's connection. */
  turn: (write: () => Promise<void>) => Promise<void>;
  /** Runs with the packages written and their dependencies not (a fault test's pause point). */
  between: () => Promise<void>;
}

/** What the event loop sends the worker: the next slice, the writing turn, the end of a pause. */
export type WbsAsk = WbsJob | "more" | { go: number } | { resume: number };

type Lists = {
  groupRows: PreparedWbsImport["groupRows"];
  packageRows: PreparedWbsImport["packageRows"];
  edges: PreparedWbsImport["edges"];
  packages: PreparedWbsImport["result"]["packages"];
  oversized: PreparedWbsImport["result"]["oversized"];
  criticalPath: PreparedWbsImport["result"]["plan"]["criticalPath"];
  schedule: PreparedWbsImport["result"]["plan"]["packages"];
};

/** What the worker sends back: slices of the lists, then the rest, or the error the import is refused with. */
export type WbsReply =
  | { id: number; turn: true }
  | { id: number; between: true }
  | { id: number; written: true }
  | { id: number; slice: { list: keyof Lists; rows: Lists[keyof Lists] } }
  | {
      id: number;
      done: Pick<PreparedWbsImport["result"], "format" | "ignoredColumns" | "groups"> & { totalHours: number };
    }
  | { id: number; error: { code: ErrorCode; message: string; details?: Record<string, unknown>; text?: Text } }
  | { id: number; crash: string };

// The sources are TypeScript, run through tsx: the worker loads its module through tsx's scoped import, whatever
// loaded the main thread (tsx's loader, a test runner's, or --import).
const tsxApi = pathToFileURL(
  createRequire(import.meta.url)
    .resolve("tsx/esm/api")
    .replace(/\.cjs$/, ".mjs"),
).href;
const workerModule = new URL("./wbs-worker.ts", import.meta.url).href;
const bootstrap = `import(${JSON.stringify(tsxApi)}).then(({ tsImport }) => tsImport(${JSON.stringify(workerModule)}, ${JSON.stringify(workerModule)}))`;

/** A worker thread for WBS imports; `close` ends it. */
export function createWbsThread({ heapMb = WBS_THREAD_HEAP_MB }: { heapMb?: number } = {}) {
  let worker: Worker | undefined;
  let nextId = 1;
  let queue: Promise<unknown> = Promise.resolve();

  const run = (job: Omit<WbsJob, "id">, hooks?: WbsThreadWriteHooks): Promise<PreparedWbsImport> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      const current =
        worker ?? new Worker(bootstrap, { eval: true, resourceLimits: { maxOldGenerationSizeMb: heapMb } });
      worker = current;
      current.unref();
      const lists: Lists = {
        groupRows: [],
        packageRows: [],
        edges: [],
        packages: [],
        oversized: [],
        criticalPath: [],
        schedule: [],
      };
      const ask = (message: WbsAsk) => current.postMessage(message);
      // The event loop's connection is held from the worker's turn to its commit, or to the end of the job.
      let endTurn: (() => void) | undefined;
      const finish = () => {
        current.off("message", onMessage).off("error", onError).off("exit", onExit);
        endTurn?.();
      };
      const onMessage = (reply: WbsReply) => {
        if (reply.id !== id) return;
        if ("turn" in reply) {
          hooks
            ?.turn(
              () =>
                new Promise<void>((ended) => {
                  endTurn = ended;
                  ask({ go: id });
                }),
            )
            .catch(onError);
          return;
        }
        if ("between" in reply) {
          void hooks?.between().then(() => ask({ resume: id }));
          return;
        }
        if ("written" in reply) {
          endTurn?.();
          return;
        }
        if ("slice" in reply) {
          const list = lists[reply.slice.list] as unknown[];
          for (const row of reply.slice.rows) list.push(row);
          // The next slice is asked for once what is waiting on the event loop has had its turn.
          setImmediate(() => ask("more"));
          return;
        }
        finish();
        if ("done" in reply) {
          const { format, ignoredColumns, groups, totalHours } = reply.done;
          resolve({
            groupRows: lists.groupRows,
            packageRows: lists.packageRows,
            edges: lists.edges,
            result: {
              format,
              ignoredColumns,
              groups,
              packages: lists.packages,
              oversized: lists.oversized,
              plan: { totalHours, criticalPath: lists.criticalPath, packages: lists.schedule },
            },
          });
        } else if ("error" in reply) {
          const { code, message, details, text } = reply.error;
          reject(new AppError(code, message, details, text));
        } else reject(new Error(`the WBS import failed on its thread: ${reply.crash}`));
      };
      const onError = (error: Error & { code?: string }) => {
        finish();
        if (worker === current) worker = undefined;
        void current.terminate();
        reject(
          error.code === "ERR_WORKER_OUT_OF_MEMORY"
            ? fail("PAYLOAD_TOO_LARGE", text("wbs.tooBig", { mb: heapMb }))
            : error,
        );
      };
      const onExit = (code: number) => onError(new Error(`the WBS import thread stopped (exit code ${code})`));
      current.on("message", onMessage).on("error", onError).on("exit", onExit);
      ask({ id, ...job });
    });

  return {
    /**
     * Prepares one import on the thread, after those asked before it. With `write`, the thread writes it too: the
     * answer comes back then without the rows written.
     */
    prepare(
      upload: WbsUpload,
      target: WbsImportTarget,
      write?: WbsThreadWrite & WbsThreadWriteHooks,
    ): Promise<PreparedWbsImport> {
      const job = write
        ? { upload, target, write: { database: write.database, auditKey: write.auditKey, actor: write.actor } }
        : { upload, target };
      const result = queue.then(() => run(job, write));
      queue = result.catch(() => {});
      return result;
    },
    /** Ends the thread; the next `prepare` starts another. */
    async close(): Promise<void> {
      const current = worker;
      worker = undefined;
      await current?.terminate();
    },
  };
}

export type WbsThread = ReturnType<typeof createWbsThread>;
