// Runs the preparing of WBS imports (parse, check, plan: seconds of work for a large file) on a worker thread, so
// that the event loop keeps serving requests and SSH sessions meanwhile. One worker, started on first use, takes
// the imports one after another; it is limited in memory, and one that runs out answers 413 and is replaced.

import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { AppError, type ErrorCode, fail } from "../../kernel/errors.ts";
import { type Text, text } from "../../kernel/messages.ts";
import type { PreparedWbsImport, WbsImportTarget, WbsUpload } from "./wbs-prepare.ts";

/** Heap a WBS import may use on its thread, in MiB; past it the import is refused with 413. */
export const WBS_THREAD_HEAP_MB = 1024;

/** One import asked of the worker. */
export interface WbsJob {
  id: number;
  upload: WbsUpload;
  target: WbsImportTarget;
}

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

  const run = (job: Omit<WbsJob, "id">): Promise<PreparedWbsImport> =>
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
      const finish = () => {
        current.off("message", onMessage).off("error", onError).off("exit", onExit);
      };
      const onMessage = (reply: WbsReply) => {
        if (reply.id !== id) return;
        if ("slice" in reply) {
          const list = lists[reply.slice.list] as unknown[];
          for (const row of reply.slice.rows) list.push(row);
          // The next slice is asked for once what is waiting on the event loop has had its turn.
          setImmediate(() => current.postMessage("more"));
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
      current.postMessage({ id, ...job } satisfies WbsJob);
    });

  return {
    /** Prepares one import on the thread, after those asked before it. */
    prepare(upload: WbsUpload, target: WbsImportTarget): Promise<PreparedWbsImport> {
      const result = queue.then(() => run({ upload, target }));
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
