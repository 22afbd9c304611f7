// Availability: an engineer's own statement of when they usually work (weekly windows in their time zone) and of
// dated exceptions (school holidays, a hospital week). It is for planning and matching only: nothing refuses
// access or work outside it, since a contractor must not direct when a 請負 or 準委任 engineer works.
import type { Kysely } from "kysely";
import type { Database } from "../../db/schema.ts";
import type { Actor } from "../../kernel/actor.ts";
import { forbidden, invalidField, notFound } from "../../kernel/errors.ts";
import { text } from "../../kernel/messages.ts";
import type { AuditService } from "../audit/audit.service.ts";
import { compareWbs } from "../packages/wbs-order.ts";
import { addDays as addDaysText, isTimeZone, offsetAt, weekOf } from "../timesheets/time.ts";
import { type WeekDay, weekIn } from "./team-week.ts";

export const weekdays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;
export type Weekday = (typeof weekdays)[number];

/** A weekly window, local times `HH:MM` in the availability's time zone; `end` may be `24:00`. */
export interface AvailabilityWindow {
  day: Weekday;
  start: string;
  end: string;
}

/** Days away, inclusive, as local dates `YYYY-MM-DD`. */
export interface AvailabilityException {
  from: string;
  to: string;
  note: string;
}

export interface Availability {
  engineerId: string;
  timeZone: string;
  windows: AvailabilityWindow[];
  /** The hours of the weekly windows together. */
  weeklyHours: number;
  exceptions: AvailabilityException[];
  /** The largest package the engineer wants, in estimated hours; matching leaves bigger ones out. Null: any size. */
  largestPackageHours: number | null;
  /** Null until the engineer first states their availability. */
  updatedAt: string | null;
}

export interface AvailabilityInput {
  timeZone: string;
  windows: AvailabilityWindow[];
  exceptions: AvailabilityException[];
  /** Absent: the largest package size stays as it was; null: any size. */
  largestPackageHours?: number | null;
}

/** A contract's assigned engineers' stated windows on one week of the lead's calendar (see team-week.ts). */
export interface TeamWeek {
  contractId: string;
  /** The zone the week is shown in. */
  timeZone: string;
  /** The Monday the week starts, in that zone. */
  week: string;
  engineers: {
    engineerId: string;
    name: string;
    /** The zone the engineer states their windows in. */
    timeZone: string;
    /** WBS ids of the contract's packages the engineer holds now. */
    packages: string[];
    /** False when the engineer has stated no windows: an empty week then means "not stated", not "never". */
    stated: boolean;
    days: WeekDay[];
  }[];
}

export const MAX_WINDOWS = 50;
export const MAX_EXCEPTIONS = 100;
/** The largest package size an engineer may state, in hours (a contract's packages are far smaller). */
export const MAX_LARGEST_PACKAGE_HOURS = 10_000;

const CLOCK = /^([01]\d|2[0-3]):([0-5]\d)$|^24:00$/;
const DAY = /^\d{4}-\d{2}-\d{2}$/;

function minutesOf(clock: string, field: string): number {
  const m = CLOCK.exec(clock);
  if (!m) throw invalidField(field, text("availability.time"));
  return clock === "24:00" ? 1440 : Number(m[1]) * 60 + Number(m[2]);
}

const clockOf = (minutes: number) =>
  `${String(Math.floor(minutes / 60)).padStart(2, "0")}:${String(minutes % 60).padStart(2, "0")}`;

function isDay(day: string): boolean {
  if (!DAY.test(day)) return false;
  const d = new Date(`${day}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === day;
}

/** The rows an input stands for, or a VALIDATION error naming the first wrong field. */
function rowsOf(input: AvailabilityInput) {
  if (!isTimeZone(input.timeZone)) throw invalidField("timeZone", text("issue.timeZone"));
  if (input.windows.length > MAX_WINDOWS)
    throw invalidField("windows", text("availability.manyWindows", { n: MAX_WINDOWS }));
  if (input.exceptions.length > MAX_EXCEPTIONS)
    throw invalidField("exceptions", text("availability.manyExceptions", { n: MAX_EXCEPTIONS }));
  const windows = input.windows.map((w, i) => {
    const weekday = weekdays.indexOf(w.day) + 1;
    if (weekday === 0) throw invalidField(`windows.${i}.day`, text("issue.oneOf", { values: weekdays.join(", ") }));
    const start = minutesOf(w.start, `windows.${i}.start`);
    const end = minutesOf(w.end, `windows.${i}.end`);
    if (end <= start) throw invalidField(`windows.${i}.end`, text("availability.endBeforeStart"));
    return { index: i, weekday, start, end };
  });
  const sorted = [...windows].sort((a, b) => a.weekday - b.weekday || a.start - b.start);
  for (let k = 1; k < sorted.length; k++) {
    const [prev, cur] = [sorted[k - 1], sorted[k]];
    if (prev && cur && prev.weekday === cur.weekday && cur.start < prev.end) {
      throw invalidField(`windows.${Math.max(prev.index, cur.index)}`, text("availability.overlap"));
    }
  }
  const exceptions = input.exceptions.map((e, i) => {
    if (!isDay(e.from)) throw invalidField(`exceptions.${i}.from`, text("availability.date"));
    if (!isDay(e.to)) throw invalidField(`exceptions.${i}.to`, text("availability.date"));
    if (e.to < e.from) throw invalidField(`exceptions.${i}.to`, text("availability.toBeforeFrom"));
    return { from: e.from, to: e.to, note: e.note };
  });
  const largest = input.largestPackageHours;
  if (largest != null && !(largest > 0 && largest <= MAX_LARGEST_PACKAGE_HOURS)) {
    throw invalidField("largestPackageHours", text("availability.largestPackage", { max: MAX_LARGEST_PACKAGE_HOURS }));
  }
  return { windows: sorted, exceptions: exceptions.sort((a, b) => a.from.localeCompare(b.from)) };
}

export function createAvailabilityService({
  db,
  audit,
  now = () => new Date(),
}: {
  db: Kysely<Database>;
  audit: AuditService;
  now?: () => Date;
}) {
  async function engineer(id: string): Promise<{ timeZone: string }> {
    const user = await db.selectFrom("user").select("role").where("id", "=", id).executeTakeFirst();
    if (user?.role !== "engineer") throw notFound("engineer");
    const profile = await db
      .selectFrom("engineer_profile")
      .select("time_zone")
      .where("user_id", "=", id)
      .executeTakeFirst();
    return { timeZone: profile?.time_zone ?? "Asia/Tokyo" };
  }

  /** The engineer themself and operators read it; anyone else is told the engineer does not exist. */
  function mayRead(actor: Actor, id: string): void {
    if (actor.kind === "system" || actor.role === "operator") return;
    if (actor.role === "engineer" && actor.userId === id) return;
    throw notFound("engineer");
  }

  /** The caller must lead the contract (or be Azusa itself); anyone else is told it does not exist. */
  async function requireLeadOf(actor: Actor, contractId: string): Promise<void> {
    if (actor.kind === "system") return;
    const lead =
      actor.role === "lead" &&
      (await db
        .selectFrom("contract_lead")
        .innerJoin("contract", "contract.id", "contract_lead.contract_id")
        .select("contract_lead.user_id")
        .where("contract_lead.contract_id", "=", contractId)
        .where("contract_lead.user_id", "=", actor.userId)
        .where("contract.tenant_id", "=", actor.tenantId ?? "")
        .executeTakeFirst());
    if (!lead) throw notFound("contract");
  }

  return {
    /**
     * The stated windows of the engineers who hold the contract's packages now, on the week holding `week` (a
     * date; default today) in `timeZone`, for the contract's leads. Days away are marked, notes never shown.
     */
    async teamWeek(
      actor: Actor,
      contractId: string,
      { timeZone = "Asia/Tokyo", week }: { timeZone?: string; week?: string } = {},
    ): Promise<TeamWeek> {
      await requireLeadOf(actor, contractId);
      if (!isTimeZone(timeZone)) throw invalidField("tz", text("issue.timeZone"));
      if (week !== undefined && !isDay(week)) throw invalidField("week", text("availability.date"));
      const at = now().getTime();
      const monday = weekOf(week ?? new Date(at + offsetAt(at, timeZone)).toISOString().slice(0, 10));
      const held = await db
        .selectFrom("assignment")
        .innerJoin("work_package", "work_package.id", "assignment.package_id")
        .innerJoin("user", "user.id", "assignment.engineer_id")
        .select(["assignment.engineer_id", "user.name", "work_package.wbs_id"])
        .where("work_package.contract_id", "=", contractId)
        .where("assignment.ended_at", "is", null)
        .where("work_package.state", "not in", ["cancelled", "accepted"])
        .execute();
      const ids = [...new Set(held.map((h) => h.engineer_id))];
      if (ids.length === 0) return { contractId, timeZone, week: monday, engineers: [] };
      const [heads, windows, away, profiles] = await Promise.all([
        db.selectFrom("availability").select(["user_id", "time_zone"]).where("user_id", "in", ids).execute(),
        db
          .selectFrom("availability_window")
          .select(["user_id", "weekday", "start_minute", "end_minute"])
          .where("user_id", "in", ids)
          .execute(),
        db
          .selectFrom("availability_exception")
          .select(["user_id", "from_day", "to_day"])
          .where("user_id", "in", ids)
          .where("to_day", ">=", addDaysText(monday, -2))
          .where("from_day", "<=", addDaysText(monday, 8))
          .execute(),
        db.selectFrom("engineer_profile").select(["user_id", "time_zone"]).where("user_id", "in", ids).execute(),
      ]);
      const engineers = ids.map((id) => {
        const mine = held.filter((h) => h.engineer_id === id);
        const zone =
          heads.find((h) => h.user_id === id)?.time_zone ??
          profiles.find((p) => p.user_id === id)?.time_zone ??
          "Asia/Tokyo";
        const stated = windows
          .filter((w) => w.user_id === id)
          .map((w) => ({ weekday: Number(w.weekday), start: Number(w.start_minute), end: Number(w.end_minute) }));
        return {
          engineerId: id,
          name: mine[0]?.name ?? "",
          timeZone: zone,
          packages: mine.map((h) => h.wbs_id).sort(compareWbs),
          stated: stated.length > 0,
          days: weekIn(
            {
              timeZone: zone,
              windows: stated,
              away: away.filter((a) => a.user_id === id).map((a) => ({ from: a.from_day, to: a.to_day })),
            },
            monday,
            timeZone,
          ),
        };
      });
      engineers.sort((a, b) => a.name.localeCompare(b.name, "ja") || a.engineerId.localeCompare(b.engineerId));
      return { contractId, timeZone, week: monday, engineers };
    },

    async get(actor: Actor, id: string): Promise<Availability> {
      mayRead(actor, id);
      const { timeZone } = await engineer(id);
      const [head, windows, exceptions] = await Promise.all([
        db.selectFrom("availability").selectAll().where("user_id", "=", id).executeTakeFirst(),
        db
          .selectFrom("availability_window")
          .select(["weekday", "start_minute", "end_minute"])
          .where("user_id", "=", id)
          .orderBy("weekday")
          .orderBy("start_minute")
          .execute(),
        db
          .selectFrom("availability_exception")
          .select(["from_day", "to_day", "note"])
          .where("user_id", "=", id)
          .orderBy("from_day")
          .execute(),
      ]);
      const minutes = windows.reduce((sum, w) => sum + Number(w.end_minute) - Number(w.start_minute), 0);
      return {
        engineerId: id,
        timeZone: head?.time_zone ?? timeZone,
        windows: windows.map((w) => ({
          day: weekdays[Number(w.weekday) - 1] ?? "mon",
          start: clockOf(Number(w.start_minute)),
          end: clockOf(Number(w.end_minute)),
        })),
        weeklyHours: minutes / 60,
        exceptions: exceptions.map((e) => ({ from: e.from_day, to: e.to_day, note: e.note })),
        largestPackageHours: head?.largest_package_hours == null ? null : Number(head.largest_package_hours),
        updatedAt: head?.updated_at ?? null,
      };
    },

    /**
     * The engineer states their availability, replacing what they stated before; no other user may (an operator
     * reads it, never writes it). Azusa's own callers (the command line, a seed) act as the system and may.
     */
    async put(actor: Actor, id: string, input: AvailabilityInput): Promise<Availability> {
      mayRead(actor, id);
      if (actor.kind === "user" && actor.userId !== id) {
        throw forbidden(text("availability.ownOnly"));
      }
      await engineer(id);
      const rows = rowsOf(input);
      const at = now().toISOString();
      // Absent: the largest package size is kept as it was.
      const largest =
        input.largestPackageHours === undefined ? {} : { largest_package_hours: input.largestPackageHours };
      await db.transaction().execute(async (trx) => {
        // The head row first: writing it takes its lock, so a second statement sent at once waits, then
        // replaces this one whole, rather than both clearing the old windows and adding theirs side by side.
        await trx
          .insertInto("availability")
          .values({ user_id: id, time_zone: input.timeZone, updated_at: at, ...largest })
          .onConflict((oc) =>
            oc.column("user_id").doUpdateSet({ time_zone: input.timeZone, updated_at: at, ...largest }),
          )
          .execute();
        await trx.deleteFrom("availability_window").where("user_id", "=", id).execute();
        await trx.deleteFrom("availability_exception").where("user_id", "=", id).execute();
        if (rows.windows.length) {
          await trx
            .insertInto("availability_window")
            .values(
              rows.windows.map((w) => ({ user_id: id, weekday: w.weekday, start_minute: w.start, end_minute: w.end })),
            )
            .execute();
        }
        if (rows.exceptions.length) {
          await trx
            .insertInto("availability_exception")
            .values(rows.exceptions.map((e) => ({ user_id: id, from_day: e.from, to_day: e.to, note: e.note })))
            .execute();
        }
        await audit.record(
          actor,
          "availability.updated",
          `engineer:${id}`,
          {
            windows: rows.windows.length,
            exceptions: rows.exceptions.length,
            ...(input.largestPackageHours === undefined ? {} : { largestPackageHours: input.largestPackageHours }),
          },
          { trx, tenantId: null },
        );
      });
      return this.get(actor, id);
    },
  };
}

export type AvailabilityService = ReturnType<typeof createAvailabilityService>;
