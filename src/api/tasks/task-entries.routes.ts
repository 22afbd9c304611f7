// HTTP for double entry of task items: keyers, taking and sending entries, results, disputes and their
// decision by a lead, per-person figures, and the disposal record.
import { createRoute, z } from "@hono/zod-openapi";
import iconv from "iconv-lite";
import type { TaskEntryService } from "../../domain/tasks/entries.service.ts";
import { taskItemStates } from "../../domain/tasks/entries.service.ts";
import { errorResponses } from "../../http/errors.ts";
import { actorOf, createRouter } from "../../http/router.ts";
import { toCsv } from "../../kernel/csv.ts";
import { oneSheetXlsx } from "../../kernel/xlsx.ts";
import { Id, IdParam, json } from "../schemas.ts";

const Values = z.record(z.string().max(100), z.string().max(4000)).openapi("TaskValues");
const Keyed = z.strictObject({ values: Values }).openapi("TaskEntryValues");
const Keyer = z
  .object({
    userId: z.string(),
    name: z.string(),
    why: z.array(z.string()).describe("why the keyer may not key the batch today (vetting); empty when they may"),
  })
  .openapi("TaskKeyer");
const FieldOut = z
  .object({
    name: z.string(),
    type: z.string(),
    required: z.boolean(),
    choices: z.array(z.string()).optional(),
    corporateOnly: z.boolean().optional(),
  })
  .openapi("TaskFieldOut");
const Settled = z
  .object({ itemId: z.string(), values: Values, state: z.enum(taskItemStates) })
  .openapi("TaskEntrySent");

const addKeyer = createRoute({
  method: "post",
  path: "/task-batches/{id}/keyers",
  tags: ["tasks"],
  summary: "Name an engineer as a keyer of the batch (its contractors and leads)",
  request: { params: IdParam, body: { required: true, content: json(z.strictObject({ engineerId: Id })) } },
  responses: {
    201: { description: "The batch's keyers", content: json(z.object({ items: z.array(Keyer) })) },
    ...errorResponses,
  },
});
const keyers = createRoute({
  method: "get",
  path: "/task-batches/{id}/keyers",
  tags: ["tasks"],
  summary: "The batch's keyers",
  request: { params: IdParam },
  responses: {
    200: { description: "Keyers", content: json(z.object({ items: z.array(Keyer) })) },
    ...errorResponses,
  },
});
const mine = createRoute({
  method: "get",
  path: "/me/task-batches",
  tags: ["tasks"],
  summary: "The batches the signed-in engineer keys",
  responses: {
    200: {
      description: "Batches",
      content: json(
        z.object({
          items: z.array(z.object({ id: z.string(), title: z.string(), fields: z.array(FieldOut), done: z.number() })),
        }),
      ),
    },
    ...errorResponses,
  },
});
const take = createRoute({
  method: "post",
  path: "/task-batches/{id}/take",
  tags: ["tasks"],
  summary: "The next item to key: the one held, else the first with a free place (keyers)",
  request: { params: IdParam },
  responses: {
    200: {
      description: "The item, or null when nothing is left",
      content: json(
        z.object({
          batchId: z.string(),
          title: z.string(),
          fields: z.array(FieldOut),
          item: z.object({ id: z.string(), seq: z.number(), source: z.record(z.string(), z.string()) }).nullable(),
        }),
      ),
    },
    ...errorResponses,
  },
});
const release = createRoute({
  method: "delete",
  path: "/task-items/{id}/entry",
  tags: ["tasks"],
  summary: "Give back an item taken but not sent",
  request: { params: IdParam },
  responses: { 204: { description: "Given back" }, ...errorResponses },
});
const submit = createRoute({
  method: "put",
  path: "/task-items/{id}/entry",
  tags: ["tasks"],
  summary: "Send the keyer's entry of an item they hold; the second entry in settles the item",
  request: { params: IdParam, body: { required: true, content: json(Keyed) } },
  responses: { 200: { description: "Sent, individual numbers masked", content: json(Settled) }, ...errorResponses },
});
const results = createRoute({
  method: "get",
  path: "/task-batches/{id}/results",
  tags: ["tasks"],
  summary: "Items with their state and accepted values, individual numbers masked (a recorded view)",
  request: {
    params: IdParam,
    query: z.object({
      after: z.coerce.number().int().min(0).default(0),
      limit: z.coerce.number().int().min(1).max(500).default(100),
      state: z.enum(taskItemStates).optional(),
    }),
  },
  responses: {
    200: {
      description: "Items",
      content: json(
        z.object({
          items: z.array(
            z.object({ id: z.string(), seq: z.number(), state: z.enum(taskItemStates), values: Values.nullable() }),
          ),
        }),
      ),
    },
    ...errorResponses,
  },
});
const adjudication = createRoute({
  method: "get",
  path: "/task-items/{id}/adjudication",
  tags: ["tasks"],
  summary: "A disputed item with both entries in full, for a lead named on the contract (a recorded view)",
  request: { params: IdParam },
  responses: {
    200: {
      description: "The dispute",
      content: json(
        z.object({
          itemId: z.string(),
          seq: z.number(),
          state: z.enum(taskItemStates),
          fields: z.array(FieldOut),
          source: z.record(z.string(), z.string()),
          entries: z.array(z.object({ userId: z.string(), name: z.string(), values: Values })),
        }),
      ),
    },
    ...errorResponses,
  },
});
const adjudicate = createRoute({
  method: "put",
  path: "/task-items/{id}/adjudication",
  tags: ["tasks"],
  summary: "Decide a disputed item: the accepted values (a lead named on the contract)",
  request: { params: IdParam, body: { required: true, content: json(Keyed) } },
  responses: { 200: { description: "Decided, individual numbers masked", content: json(Settled) }, ...errorResponses },
});
const stats = createRoute({
  method: "get",
  path: "/task-batches/{id}/stats",
  tags: ["tasks"],
  summary: "Per keyer: items done, agreement rate, median time per item (own line; every line for leads)",
  request: { params: IdParam },
  responses: {
    200: {
      description: "Figures",
      content: json(
        z.object({
          items: z.array(
            z.object({
              userId: z.string(),
              name: z.string(),
              itemsDone: z.number(),
              settled: z.number(),
              agreed: z.number(),
              agreementRate: z.number().nullable(),
              medianSecondsPerItem: z.number().nullable(),
            }),
          ),
        }),
      ),
    },
    ...errorResponses,
  },
});

const Disposal = z
  .object({
    batchId: z.string(),
    reason: z.enum(["retention_end", "request"]),
    items: z.number(),
    entries: z.number(),
    individualNumbers: z.number(),
    documents: z.number().describe("document pages destroyed"),
    method: z.string(),
    disposedBy: z.string(),
    disposedAt: z.string(),
  })
  .openapi("TaskDisposal");
const dispose = createRoute({
  method: "post",
  path: "/task-batches/{id}/disposal",
  tags: ["tasks"],
  summary: "Destroy the batch's items, entries and accepted values now and keep the disposal record (its contractors)",
  request: { params: IdParam },
  responses: { 201: { description: "The disposal record", content: json(Disposal) }, ...errorResponses },
});
const disposal = createRoute({
  method: "get",
  path: "/task-batches/{id}/disposal",
  tags: ["tasks"],
  summary: "The batch's disposal record (削除・廃棄記録), null while its values are kept",
  request: { params: IdParam },
  responses: {
    200: { description: "The record", content: json(z.object({ disposal: Disposal.nullable() })) },
    ...errorResponses,
  },
});
const resultsCsv = createRoute({
  method: "get",
  path: "/task-batches/{id}/results.csv",
  tags: ["tasks"],
  summary: "Accepted results as CSV, individual numbers masked (a recorded export; its contractors and leads)",
  request: {
    params: IdParam,
    query: z.object({
      encoding: z
        .enum(["utf-8", "shift_jis"])
        .default("utf-8")
        .describe("utf-8 (with a BOM) or shift_jis (for older Excel; characters outside it become ?)"),
    }),
  },
  responses: {
    200: { description: "The results", content: { "text/csv": { schema: z.string() } } },
    ...errorResponses,
  },
});
const XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const resultsXlsx = createRoute({
  method: "get",
  path: "/task-batches/{id}/results.xlsx",
  tags: ["tasks"],
  summary: "Accepted results as an Excel workbook, every cell text, individual numbers masked (a recorded export)",
  request: { params: IdParam },
  responses: {
    200: { description: "The results", content: { [XLSX]: { schema: z.string().openapi({ format: "binary" }) } } },
    ...errorResponses,
  },
});

/** The rows of an export as a workbook of one sheet, 結果: every cell text, so that nothing in it is run or reformatted. */
function resultsWorkbook(rows: string[][]): Promise<Buffer> {
  return oneSheetXlsx("結果", (sheet) => {
    rows.forEach((row, i) => {
      const added = sheet.addRow(row);
      if (i === 0) added.font = { bold: true };
    });
    sheet.columns.forEach((col) => {
      col.numFmt = "@";
      col.width = 18;
    });
  });
}

const disposalCsv = createRoute({
  method: "get",
  path: "/task-batches/{id}/disposal.csv",
  tags: ["tasks"],
  summary: "The disposal record as CSV (UTF-8 with a BOM)",
  request: { params: IdParam },
  responses: {
    200: { description: "The record", content: { "text/csv": { schema: z.string() } } },
    ...errorResponses,
  },
});

export const taskEntryRoutes = (deps: { taskEntries: TaskEntryService }) =>
  createRouter()
    .openapi(addKeyer, async (c) =>
      c.json(
        {
          items: await deps.taskEntries.addKeyer(actorOf(c), c.req.valid("param").id, c.req.valid("json").engineerId),
        },
        201,
      ),
    )
    .openapi(keyers, async (c) =>
      c.json({ items: await deps.taskEntries.keyers(actorOf(c), c.req.valid("param").id) }, 200),
    )
    .openapi(mine, async (c) => c.json({ items: await deps.taskEntries.myBatches(actorOf(c)) }, 200))
    .openapi(take, async (c) => c.json(await deps.taskEntries.take(actorOf(c), c.req.valid("param").id), 200))
    .openapi(release, async (c) => {
      await deps.taskEntries.release(actorOf(c), c.req.valid("param").id);
      return c.body(null, 204);
    })
    .openapi(submit, async (c) =>
      c.json(await deps.taskEntries.submit(actorOf(c), c.req.valid("param").id, c.req.valid("json").values), 200),
    )
    .openapi(results, async (c) => {
      const { after, limit, state } = c.req.valid("query");
      const items = await deps.taskEntries.results(actorOf(c), c.req.valid("param").id, {
        after,
        limit,
        ...(state ? { state } : {}),
      });
      return c.json({ items }, 200);
    })
    .openapi(adjudication, async (c) =>
      c.json(await deps.taskEntries.adjudication(actorOf(c), c.req.valid("param").id), 200),
    )
    .openapi(adjudicate, async (c) =>
      c.json(await deps.taskEntries.adjudicate(actorOf(c), c.req.valid("param").id, c.req.valid("json").values), 200),
    )
    .openapi(dispose, async (c) => c.json(await deps.taskEntries.dispose(actorOf(c), c.req.valid("param").id), 201))
    .openapi(disposal, async (c) =>
      c.json({ disposal: await deps.taskEntries.disposal(actorOf(c), c.req.valid("param").id) }, 200),
    )
    .openapi(resultsCsv, async (c) => {
      const id = c.req.valid("param").id;
      const { encoding } = c.req.valid("query");
      const csv = toCsv(await deps.taskEntries.exportRows(actorOf(c), id, encoding));
      c.header("Content-Disposition", `attachment; filename="task-batch-${id}-results.csv"`);
      if (encoding === "shift_jis") {
        c.header("Content-Type", "text/csv; charset=Shift_JIS");
        return c.body(new Uint8Array(iconv.encode(csv.replace(/^\uFEFF/u, ""), "Shift_JIS")), 200);
      }
      c.header("Content-Type", "text/csv; charset=utf-8");
      return c.body(csv, 200);
    })
    .openapi(resultsXlsx, async (c) => {
      const id = c.req.valid("param").id;
      const rows = await deps.taskEntries.exportRows(actorOf(c), id, "xlsx");
      c.header("Content-Type", XLSX);
      c.header("Content-Disposition", `attachment; filename="task-batch-${id}-results.xlsx"`);
      return c.body(new Uint8Array(await resultsWorkbook(rows)), 200);
    })
    .openapi(disposalCsv, async (c) => {
      const id = c.req.valid("param").id;
      const d = await deps.taskEntries.disposal(actorOf(c), id);
      const header = [
        "batch_id",
        "reason",
        "items",
        "entries",
        "individual_numbers",
        "documents",
        "method",
        "disposed_by",
        "disposed_at",
      ];
      const row = d
        ? [
            d.batchId,
            d.reason,
            d.items,
            d.entries,
            d.individualNumbers,
            d.documents,
            d.method,
            d.disposedBy,
            d.disposedAt,
          ]
        : null;
      const body = toCsv([header, ...(row ? [row] : [])]);
      c.header("Content-Type", "text/csv; charset=utf-8");
      c.header("Content-Disposition", `attachment; filename="task-batch-${id}-disposal.csv"`);
      return c.body(body, 200);
    })
    .openapi(stats, async (c) =>
      c.json({ items: await deps.taskEntries.stats(actorOf(c), c.req.valid("param").id) }, 200),
    );
