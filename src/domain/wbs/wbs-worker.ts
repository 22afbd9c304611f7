// The worker thread of WBS imports (started by wbs-thread.ts): prepares one import at a time and sends it back in
// slices, so that the event loop on the other side takes each in a moment.

import { parentPort } from "node:worker_threads";
import { AppError } from "../../kernel/errors.ts";
import { prepareWbsImport } from "./wbs-prepare.ts";
import type { WbsJob, WbsReply } from "./wbs-thread.ts";

/** Rows per message: each is copied into the main thread in one piece. */
const SLICE = 1000;

const port = parentPort;
if (!port) throw new Error("wbs-worker.ts runs as a worker thread");
const send = (reply: WbsReply) => port.postMessage(reply);

// Each slice waits for the main thread to ask for the next: queued messages are all taken in one turn there.
let askedForMore: (() => void) | undefined;
const nextAsked = () =>
  new Promise<void>((resolve) => {
    askedForMore = resolve;
  });

port.on("message", async (message: WbsJob | "more") => {
  if (message === "more") {
    askedForMore?.();
    return;
  }
  const { id, upload, target } = message;
  try {
    const { groupRows, packageRows, edges, result } = await prepareWbsImport(upload, target);
    const lists = {
      groupRows,
      packageRows,
      edges,
      packages: result.packages,
      oversized: result.oversized,
      criticalPath: result.plan.criticalPath,
      schedule: result.plan.packages,
    };
    for (const [list, rows] of Object.entries(lists)) {
      for (let i = 0; i < rows.length; i += SLICE) {
        const asked = nextAsked();
        send({ id, slice: { list: list as keyof typeof lists, rows: rows.slice(i, i + SLICE) } });
        await asked;
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
