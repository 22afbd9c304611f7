// HTTP for what a contract's month comes to: the hours as JSON or CSV (for Excel), and the 準委任
// settlement against the band with its adjustments.
import { createRoute, z } from "@hono/zod-openapi";
import { settlementCsv, settlementXlsx } from "../../domain/timesheets/settlement-export.ts";
import type { SettlementService } from "../../domain/timesheets/settlements.service.ts";
import { errorResponses } from "../../http/errors.ts";
import { actorOf, createRouter } from "../../http/router.ts";
import { Id, IdParam, json } from "../schemas.ts";

const Month = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, "must be YYYY-MM");
const MonthQuery = z.strictObject({ month: Month.describe("YYYY-MM, Tokyo calendar") });

const HoursRow = z
  .object({
    engineerId: z.string(),
    engineerName: z.string(),
    day: z.string(),
    week: z.string(),
    wbsId: z.string(),
    packageTitle: z.string(),
    start: z.string().nullable().describe("HH:MM Asia/Tokyo"),
    end: z.string().nullable(),
    timeZone: z.string().describe("the zone the engineer reported in"),
    rawMinutes: z.number(),
    roundedMinutes: z.number(),
    roundingRule: z.string(),
    weekState: z.string(),
    note: z.string(),
    entryId: z.string(),
  })
  .openapi("HoursRow");

const Settlement = z
  .object({
    engineerId: z.string(),
    engineerName: z.string(),
    month: z.string(),
    approvedHours: z.number(),
    pendingHours: z.number(),
    basis: z.enum(["under", "within", "over"]),
    baseAmountYen: z.number(),
    adjustments: z.array(
      z.object({
        id: z.string(),
        amountYen: z.number(),
        reason: z.string(),
        createdBy: z.string(),
        createdAt: z.string(),
      }),
    ),
    amountYen: z.number(),
  })
  .openapi("Settlement");

const Settlements = json(
  z
    .object({
      month: z.string(),
      closed: z
        .object({ at: z.string(), by: z.string() })
        .nullable()
        .describe("when the contractor closed the month; its figures are then frozen as they were"),
      items: z.array(Settlement),
    })
    .openapi("MonthSettlement"),
);

/** A GET of one contract's month. */
const monthRoute = (path: string, summary: string, content: Parameters<typeof createRoute>[0]["responses"][number]) =>
  createRoute({
    method: "get",
    path,
    tags: ["settlements"],
    summary,
    request: { params: IdParam, query: MonthQuery },
    responses: { 200: content, ...errorResponses },
  });

const hours = monthRoute(
  "/contracts/{id}/hours",
  "The month's hours of a contract, one row per entry and Tokyo day (JSON)",
  {
    description: "Rows",
    content: json(z.object({ items: z.array(HoursRow) })),
  },
);
const hoursCsv = monthRoute(
  "/contracts/{id}/hours.csv",
  "The same rows as CSV: UTF-8 with a BOM, CRLF, Japanese headers (opens in Excel)",
  { description: "CSV", content: { "text/csv": { schema: z.string() } } },
);
const settlementCsvRoute = monthRoute(
  "/contracts/{id}/settlements.csv",
  "The month's settlement as CSV: 準委任 per engineer (hours, band, amounts, adjustments) with the rounding rules, then the 請負 task lines per keyer and batch; named with contract and month",
  { description: "CSV", content: { "text/csv": { schema: z.string() } } },
);
const settlementXlsxRoute = monthRoute(
  "/contracts/{id}/settlements.xlsx",
  "The same settlement as an Excel workbook (xlsx)",
  {
    description: "xlsx",
    content: {
      "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
        schema: z.string().openapi({ format: "binary" }),
      },
    },
  },
);
const settle = monthRoute(
  "/contracts/{id}/settlements",
  "準委任: each engineer's approved hours of the month against the band, and the amount",
  { description: "Settlements", content: Settlements },
);

const TaskLine = z
  .object({
    batchId: z.string(),
    title: z.string(),
    engineerId: z.string(),
    engineerName: z.string(),
    acceptedItems: z.number().describe("items accepted in the month whose accepted values are this keyer's entry"),
    unitPriceYen: z.number(),
    amountYen: z.number().describe("acceptedItems × unitPriceYen"),
  })
  .openapi("TaskSettlementLine");
const taskLines = monthRoute(
  "/contracts/{id}/settlements/tasks",
  "請負 task work: per keyer and unit-priced batch, the items accepted in the month from their entry × the unit price",
  {
    description: "Task lines",
    content: json(
      z.object({
        month: z.string(),
        closed: z
          .object({ at: z.string(), by: z.string() })
          .nullable()
          .describe("when the contractor closed the month; its lines are then as they were at the close"),
        items: z.array(TaskLine),
        amountYen: z.number(),
      }),
    ),
  },
);

const adjust = createRoute({
  method: "post",
  path: "/contracts/{id}/settlements/adjustments",
  tags: ["settlements"],
  summary: "Adjust an engineer's month up or down, with a reason (contractors); audited",
  request: {
    params: IdParam,
    body: {
      required: true,
      content: json(
        z.strictObject({
          engineerId: Id,
          month: Month,
          amountYen: z.number().int().min(-1e10).max(1e10).describe("negative to deduct"),
          reason: z.string().trim().min(1, "say why").max(2000),
        }),
      ),
    },
  },
  responses: { 201: { description: "The month's settlements", content: Settlements }, ...errorResponses },
});

const close = createRoute({
  method: "post",
  path: "/contracts/{id}/settlements/close",
  tags: ["settlements"],
  summary:
    "Close an ended 準委任 month (contractors): every hour approved, the figures frozen; its weeks can no longer be reopened nor its amounts adjusted",
  request: { params: IdParam, body: { required: true, content: json(z.strictObject({ month: Month })) } },
  responses: { 201: { description: "The month, closed", content: Settlements }, ...errorResponses },
});

const reopenMonth = createRoute({
  method: "post",
  path: "/contracts/{id}/settlements/reopen",
  tags: ["settlements"],
  summary: "Open a closed month again (contractors), with a reason; audited",
  request: {
    params: IdParam,
    body: {
      required: true,
      content: json(z.strictObject({ month: Month, reason: z.string().trim().min(1, "say why").max(2000) })),
    },
  },
  responses: { 200: { description: "The month, live again", content: Settlements }, ...errorResponses },
});

const XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/**
 * A download's content-disposition: an ASCII name for old clients, and the name with the contract's title
 * (RFC 6266 / 5987 `filename*`) for the rest; characters a file system refuses become "_".
 */
export function attachment(
  kind: { ascii: string; ja: string },
  contract: { id: string; title: string },
  month: string,
  ext: string,
) {
  const title = contract.title.replace(/[\\/:*?"<>|\p{Cc}]/gu, "_").slice(0, 80);
  const ascii = `${kind.ascii}-${contract.id.slice(0, 8)}-${month}.${ext}`;
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(`${kind.ja}_${title}_${month}.${ext}`).replace(/['()]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`)}`;
}

export const settlementRoutes = (deps: { settlements: SettlementService }) =>
  createRouter()
    .openapi(hours, async (c) =>
      c.json(
        { items: await deps.settlements.hours(actorOf(c), c.req.valid("param").id, c.req.valid("query").month) },
        200,
      ),
    )
    .openapi(hoursCsv, async (c) => {
      const { id } = c.req.valid("param");
      const { month } = c.req.valid("query");
      const csv = await deps.settlements.hoursCsv(actorOf(c), id, month);
      const title = await deps.settlements.contractTitle(actorOf(c), id);
      return c.body(csv, 200, {
        "content-type": "text/csv; charset=utf-8",
        "content-disposition": attachment({ ascii: "hours", ja: "工数" }, { id, title }, month, "csv"),
      });
    })
    .openapi(settlementCsvRoute, async (c) => {
      const { id } = c.req.valid("param");
      const { month } = c.req.valid("query");
      const { contract, settled, tasks } = await deps.settlements.forExport(actorOf(c), id, month);
      return c.body(settlementCsv(contract, settled, tasks), 200, {
        "content-type": "text/csv; charset=utf-8",
        "content-disposition": attachment({ ascii: "settlement", ja: "精算" }, contract, month, "csv"),
      });
    })
    .openapi(settlementXlsxRoute, async (c) => {
      const { id } = c.req.valid("param");
      const { month } = c.req.valid("query");
      const { contract, settled, tasks } = await deps.settlements.forExport(actorOf(c), id, month);
      return c.body(new Uint8Array(await settlementXlsx(contract, settled, tasks)), 200, {
        "content-type": XLSX,
        "content-disposition": attachment({ ascii: "settlement", ja: "精算" }, contract, month, "xlsx"),
      });
    })
    .openapi(settle, async (c) =>
      c.json(await deps.settlements.settle(actorOf(c), c.req.valid("param").id, c.req.valid("query").month), 200),
    )
    .openapi(taskLines, async (c) =>
      c.json(await deps.settlements.taskLines(actorOf(c), c.req.valid("param").id, c.req.valid("query").month), 200),
    )
    .openapi(adjust, async (c) =>
      c.json(await deps.settlements.adjust(actorOf(c), c.req.valid("param").id, c.req.valid("json")), 201),
    )
    .openapi(close, async (c) =>
      c.json(await deps.settlements.close(actorOf(c), c.req.valid("param").id, c.req.valid("json").month), 201),
    )
    .openapi(reopenMonth, async (c) => {
      const { month, reason } = c.req.valid("json");
      return c.json(await deps.settlements.reopenMonth(actorOf(c), c.req.valid("param").id, month, reason), 200);
    });
