// HTTP for an office's programme report: a month's figures by tenant as JSON, CSV or xlsx (its operators, office
// admins).
import { createRoute, z } from "@hono/zod-openapi";
import { type ProgrammeReportService, programmeCsv, programmeXlsx } from "../../domain/offices/programme-report.ts";
import { errorResponses } from "../../http/errors.ts";
import { actorOf, createRouter } from "../../http/router.ts";
import { IdParam, json } from "../schemas.ts";
import { attachment } from "../settlements/settlements.routes.ts";

const MonthQuery = z.strictObject({
  month: z
    .string()
    .regex(/^\d{4}-(0[1-9]|1[0-2])$/, "must be YYYY-MM")
    .describe("YYYY-MM, Tokyo calendar"),
});

const Figures = {
  engineersActive: z.number().int().describe("engineers who held an assignment in the month or recorded hours in it"),
  packagesDelivered: z.number().int(),
  packagesAccepted: z.number().int().describe("deliveries accepted (検収) in the month"),
  hoursApproved: z.number().describe("hours of approved weeks worked in the month, rounded as billed"),
  yenPaid: z
    .number()
    .describe("請負 deliveries paid in the month (estimate × hourly rate) and 準委任 months closed, in yen"),
};

const Report = z
  .object({
    officeId: z.string(),
    officeName: z.string(),
    month: z.string(),
    engineers: z.number().int().describe("the office's engineers now"),
    newEngineers: z.number().int().describe("engineers who joined the office in the month"),
    tenants: z.array(z.object({ tenantId: z.string(), tenant: z.string(), ...Figures })),
    totals: z.object(Figures).describe("across tenants; an engineer active for two counts once"),
  })
  .openapi("ProgrammeReport");

const route = (path: string, summary: string, content: Record<string, { schema: z.ZodType }>) =>
  createRoute({
    method: "get",
    path,
    tags: ["offices"],
    summary,
    request: { params: IdParam, query: MonthQuery },
    responses: { 200: { description: summary, content }, ...errorResponses },
  });

const report = route(
  "/offices/{id}/report",
  "The office's programme report for a month, by tenant (its operators, office admins)",
  json(Report),
);
const reportCsv = route("/offices/{id}/report.csv", "The same report as CSV (UTF-8 with a BOM, CRLF)", {
  "text/csv": { schema: z.string() },
});
const XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const reportXlsx = route("/offices/{id}/report.xlsx", "The same report as an Excel workbook (xlsx)", {
  [XLSX]: { schema: z.string().openapi({ format: "binary" }) },
});

/** `programme-<office id>-<month>.<ext>`, with the office's name in `filename*`. */
const download = (r: { officeId: string; officeName: string; month: string }, ext: string) =>
  attachment({ ascii: "programme", ja: "実績報告" }, { id: r.officeId, title: r.officeName }, r.month, ext);

export const programmeReportRoutes = (deps: { programme: ProgrammeReportService }) =>
  createRouter()
    .openapi(report, async (c) =>
      c.json(await deps.programme.report(actorOf(c), c.req.valid("param").id, c.req.valid("query").month), 200),
    )
    .openapi(reportCsv, async (c) => {
      const r = await deps.programme.report(actorOf(c), c.req.valid("param").id, c.req.valid("query").month);
      return c.body(programmeCsv(r), 200, {
        "content-type": "text/csv; charset=utf-8",
        "content-disposition": download(r, "csv"),
      });
    })
    .openapi(reportXlsx, async (c) => {
      const r = await deps.programme.report(actorOf(c), c.req.valid("param").id, c.req.valid("query").month);
      return c.body(new Uint8Array(await programmeXlsx(r)), 200, {
        "content-type": XLSX,
        "content-disposition": download(r, "xlsx"),
      });
    });
