// HTTP for an engineer's availability: their own statement of when they usually work, for planning only.
import { createRoute, z } from "@hono/zod-openapi";
import {
  type AvailabilityService,
  MAX_EXCEPTIONS,
  MAX_LARGEST_PACKAGE_HOURS,
  MAX_WINDOWS,
  weekdays,
} from "../../domain/availability/availability.service.ts";
import { errorResponses } from "../../http/errors.ts";
import { actorOf, createRouter } from "../../http/router.ts";
import { IdParam, json, TimeZone } from "../schemas.ts";

const Clock = z
  .string()
  .regex(/^([01]\d|2[0-3]):[0-5]\d$|^24:00$/, "must be a time HH:MM between 00:00 and 24:00")
  .describe("local time HH:MM; an end may be 24:00");
const Day = z.iso.date().describe("YYYY-MM-DD, local date");

const Window = z.strictObject({ day: z.enum(weekdays), start: Clock, end: Clock }).openapi("AvailabilityWindow");
const Exception = z
  .strictObject({ from: Day, to: Day, note: z.string().trim().max(200).default("") })
  .openapi("AvailabilityException");

const Availability = z
  .object({
    engineerId: z.string(),
    timeZone: z.string(),
    windows: z.array(Window),
    weeklyHours: z.number().describe("the hours of the weekly windows together"),
    exceptions: z.array(z.object({ from: z.string(), to: z.string(), note: z.string() })),
    largestPackageHours: z
      .number()
      .nullable()
      .describe("the largest package the engineer wants, in estimated hours; null: any size"),
    updatedAt: z.string().nullable(),
  })
  .openapi("Availability");

const AvailabilityInput = z
  .strictObject({
    timeZone: TimeZone,
    windows: z.array(Window).max(MAX_WINDOWS),
    exceptions: z.array(Exception).max(MAX_EXCEPTIONS).default([]),
    largestPackageHours: z
      .number()
      .positive()
      .max(MAX_LARGEST_PACKAGE_HOURS)
      .nullable()
      .optional()
      .describe(
        "the largest package the engineer wants, in estimated hours: matching leaves bigger packages out and says so; null: any size; absent: unchanged",
      ),
  })
  .openapi("AvailabilityInput");

const one = { 200: { description: "The availability", content: json(Availability) }, ...errorResponses };

const get = createRoute({
  method: "get",
  path: "/engineers/{id}/availability",
  tags: ["engineers"],
  summary: "When the engineer usually works, as they state it (the engineer, operators)",
  request: { params: IdParam },
  responses: one,
});
const put = createRoute({
  method: "put",
  path: "/engineers/{id}/availability",
  tags: ["engineers"],
  summary: "State weekly windows and dated exceptions (the engineer only; replaces what was stated)",
  description: "For planning and matching only: Azusa refuses no access and no work outside these windows.",
  request: { params: IdParam, body: { required: true, content: json(AvailabilityInput) } },
  responses: one,
});

export const availabilityRoutes = (deps: { availability: AvailabilityService }) =>
  createRouter()
    .openapi(get, async (c) => c.json(await deps.availability.get(actorOf(c), c.req.valid("param").id), 200))
    .openapi(put, async (c) =>
      c.json(await deps.availability.put(actorOf(c), c.req.valid("param").id, c.req.valid("json")), 200),
    );
