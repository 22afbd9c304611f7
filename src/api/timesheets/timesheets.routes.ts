// HTTP for hours: engineers record and remove their own time entries; weekly timesheets are read,
// submitted, approved, rejected and reopened. Nobody but the engineer sets an engineer's times.
import { createRoute, z } from "@hono/zod-openapi";
import type { TimesheetService } from "../../domain/timesheets/timesheets.service.ts";
import { timesheetStates } from "../../domain/timesheets/timesheets.service.ts";
import { errorResponses } from "../../http/errors.ts";
import { actorOf, createRouter } from "../../http/router.ts";
import { Id, IdParam, json } from "../schemas.ts";

const Day = z.iso.date().describe("YYYY-MM-DD");

const NewTimeEntry = z
  .strictObject({
    packageId: Id,
    start: z.string().max(40).optional().describe("2026-11-22T23:00 in timeZone, or with an offset"),
    end: z.string().max(40).optional(),
    timeZone: z.string().max(64).optional().describe("IANA zone; the engineer's profile zone when left out"),
    date: Day.optional().describe("with minutes instead of start and end: the Tokyo date worked"),
    minutes: z
      .number()
      .int("whole minutes")
      .positive()
      .max(24 * 60)
      .optional(),
    note: z.string().max(2000).optional(),
  })
  .openapi("NewTimeEntry");

const DayShare = z.object({ day: z.string(), week: z.string(), rawMinutes: z.number(), roundedMinutes: z.number() });

const TimeEntry = z
  .object({
    id: z.string(),
    engineerId: z.string(),
    packageId: z.string(),
    contractId: z.string(),
    start: z.string().nullable().describe("the instant the engineer gave, UTC"),
    end: z.string().nullable(),
    timeZone: z.string(),
    startGiven: z.string().nullable().describe("exactly as sent"),
    endGiven: z.string().nullable(),
    date: z.string().nullable(),
    rawMinutes: z.number(),
    roundedMinutes: z.number().describe("by the contract's rule, per Tokyo day; never replaces the raw figure"),
    roundingRule: z.string(),
    note: z.string(),
    days: z.array(DayShare),
    createdAt: z.string(),
  })
  .openapi("TimeEntry");

const Evidence = z
  .object({
    sessions: z.array(
      z.object({
        id: z.string(),
        channel: z.string(),
        kind: z.string(),
        startedAt: z.string(),
        endedAt: z.string().nullable(),
      }),
    ),
    buckets: z.number(),
    activeBuckets: z.number(),
    corroboration: z.number().nullable().describe("share of the entry's 5-minute buckets with session activity"),
  })
  .openapi("HoursEvidence");

const Timesheet = z
  .object({
    id: z.string(),
    engineerId: z.string(),
    contractId: z.string(),
    weekStart: z.string(),
    state: z.enum(timesheetStates),
    reason: z.string().nullable(),
    submittedAt: z.string().nullable(),
    decidedAt: z.string().nullable(),
    decidedBy: z.string().nullable(),
    entries: z.array(TimeEntry.extend({ evidence: Evidence })),
    rawMinutes: z.number(),
    roundedMinutes: z.number(),
  })
  .openapi("Timesheet");

const Reason = z.strictObject({ reason: z.string().trim().min(1, "say why").max(2000) });

const record = createRoute({
  method: "post",
  path: "/time-entries",
  tags: ["timesheets"],
  summary: "Record your own hours on a package you are assigned to (engineers)",
  description:
    "Give start and end (with timeZone, or with offsets), or date and minutes. An entry overlapping one of yours is refused (409, naming it); so is one in a submitted or approved week.",
  request: { body: { required: true, content: json(NewTimeEntry) } },
  responses: { 201: { description: "Recorded", content: json(TimeEntry) }, ...errorResponses },
});

const remove = createRoute({
  method: "delete",
  path: "/time-entries/{id}",
  tags: ["timesheets"],
  summary: "Take back one of your entries in a week not yet submitted or approved (entries are never edited)",
  request: { params: IdParam },
  responses: { 204: { description: "Removed" }, ...errorResponses },
});

const week = createRoute({
  method: "get",
  path: "/timesheets",
  tags: ["timesheets"],
  summary: "A week's timesheets, one per contract, with entries and session evidence",
  request: {
    query: z.strictObject({
      week: Day.describe("the Monday of the week (Asia/Tokyo)"),
      engineerId: Id.optional().describe("leads and contractors: whose week"),
    }),
  },
  responses: {
    200: { description: "Timesheets", content: json(z.object({ items: z.array(Timesheet) })) },
    ...errorResponses,
  },
});

const get = createRoute({
  method: "get",
  path: "/timesheets/{id}",
  tags: ["timesheets"],
  summary: "One timesheet",
  request: { params: IdParam },
  responses: { 200: { description: "The timesheet", content: json(Timesheet) }, ...errorResponses },
});

const step = (verb: string, summary: string) =>
  createRoute({
    method: "post",
    path: `/timesheets/{id}/${verb}`,
    tags: ["timesheets"],
    summary,
    request: { params: IdParam },
    responses: { 200: { description: "The timesheet", content: json(Timesheet) }, ...errorResponses },
  });
const stepWithReason = (verb: string, summary: string) =>
  createRoute({
    method: "post",
    path: `/timesheets/{id}/${verb}`,
    tags: ["timesheets"],
    summary,
    request: { params: IdParam, body: { required: true, content: json(Reason) } },
    responses: { 200: { description: "The timesheet", content: json(Timesheet) }, ...errorResponses },
  });

const submit = step("submit", "Submit a draft or rejected week (its engineer)");
const approve = step("approve", "Approve a submitted week; it is locked (a lead of the contract)");
const reject = stepWithReason("reject", "Send a submitted week back with a reason (a lead of the contract)");
const reopen = stepWithReason(
  "reopen",
  "Open an approved week again, with a reason that is audited (a lead of the contract)",
);

export const timesheetRoutes = (deps: { timesheets: TimesheetService }) =>
  createRouter()
    .openapi(record, async (c) => c.json(await deps.timesheets.record(actorOf(c), c.req.valid("json")), 201))
    .openapi(remove, async (c) => {
      await deps.timesheets.remove(actorOf(c), c.req.valid("param").id);
      return c.body(null, 204);
    })
    .openapi(week, async (c) => c.json({ items: await deps.timesheets.week(actorOf(c), c.req.valid("query")) }, 200))
    .openapi(get, async (c) => c.json(await deps.timesheets.get(actorOf(c), c.req.valid("param").id), 200))
    .openapi(submit, async (c) => c.json(await deps.timesheets.submit(actorOf(c), c.req.valid("param").id), 200))
    .openapi(approve, async (c) => c.json(await deps.timesheets.approve(actorOf(c), c.req.valid("param").id), 200))
    .openapi(reject, async (c) =>
      c.json(await deps.timesheets.reject(actorOf(c), c.req.valid("param").id, c.req.valid("json").reason), 200),
    )
    .openapi(reopen, async (c) =>
      c.json(await deps.timesheets.reopen(actorOf(c), c.req.valid("param").id, c.req.valid("json").reason), 200),
    );
