// Schemas shared by several route modules.
import { z } from "@hono/zod-openapi";
import { isTimeZone } from "../domain/timesheets/time.ts";
import { roles } from "../kernel/actor.ts";

export const Id = z.string().min(1).max(128);
export const IdParam = z.object({ id: Id.openapi({ param: { name: "id", in: "path" } }) });
export const RoleSchema = z.enum(roles).openapi("Role");
export const Email = z.email().max(254);

/** An IANA time zone name that this Node knows, e.g. Asia/Tokyo. */
export const TimeZone = z.string().max(64).refine(isTimeZone, "not a known time zone");

/** An `application/json` content entry for a route definition. */
export const json = <T extends z.ZodType>(schema: T) => ({ "application/json": { schema } });
