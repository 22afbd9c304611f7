// Time entries engineers report and the weekly timesheets (per engineer, contract and Monday–Sunday
// week in Asia/Tokyo) that leads approve: draft → submitted → approved (locked) or rejected.

import { randomUUID } from "node:crypto";
import type { Kysely, Transaction } from "kysely";
import type { Database, Executor, TimeEntryTable, TimesheetTable } from "../../db/schema.ts";
import type { Actor } from "../../kernel/actor.ts";
import { fail, fieldProblem, forbidden, invalidField, notFound } from "../../kernel/errors.ts";
import { clock, codeOf, text } from "../../kernel/messages.ts";
import { lockUser } from "../accounts/accounts.service.ts";
import type { AuditService } from "../audit/audit.service.ts";
import { lockContract, seesContract, visibleContracts } from "../contracts/contracts.service.ts";
import type { NotificationService } from "../notifications/notifications.service.ts";
import { type Evidence, evidenceFor } from "./evidence.ts";
import { refuseClosed } from "./month-close.ts";
import {
  addDays,
  type DayPart,
  isMonday,
  isTimeZone,
  roundMinutes,
  splitByTokyoDay,
  toInstant,
  tokyoDay,
  tokyoMidnight,
  weekOf,
} from "./time.ts";

export const timesheetStates = ["draft", "submitted", "approved", "rejected"] as const;
export type TimesheetState = (typeof timesheetStates)[number];

/** What an engineer sends: start and end (with a zone), or a date and a duration. */
export interface NewTimeEntry {
  packageId: string;
  start?: string;
  end?: string;
  /** IANA zone of a start/end without an offset; the engineer's profile zone when left out. */
  timeZone?: string;
  date?: string;
  minutes?: number;
  note?: string;
}

/** One entry as reported, with its rounded figure and its share of each Tokyo day. */
export interface TimeEntry {
  id: string;
  engineerId: string;
  packageId: string;
  contractId: string;
  start: string | null;
  end: string | null;
  timeZone: string;
  startGiven: string | null;
  endGiven: string | null;
  date: string | null;
  rawMinutes: number;
  roundedMinutes: number;
  roundingRule: string;
  note: string;
  days: { day: string; week: string; rawMinutes: number; roundedMinutes: number }[];
  createdAt: string;
}

export interface Timesheet {
  id: string;
  engineerId: string;
  contractId: string;
  weekStart: string;
  state: TimesheetState;
  reason: string | null;
  submittedAt: string | null;
  decidedAt: string | null;
  decidedBy: string | null;
  /** This week's share of each entry that touches it, with the session evidence beside it. */
  entries: (TimeEntry & { evidence: Evidence })[];
  rawMinutes: number;
  roundedMinutes: number;
}

const MAX_ENTRY_MINUTES = 24 * 60;
const locked: readonly string[] = ["submitted", "approved"];

/** An entry's share of each Tokyo day: a timed entry is cut at midnight, a duration sits on its date. */
export function partsOf(e: Pick<TimeEntryTable, "start_at" | "end_at" | "work_date" | "raw_minutes">): DayPart[] {
  if (e.start_at && e.end_at) return splitByTokyoDay(Date.parse(e.start_at), Date.parse(e.end_at));
  const day = e.work_date ?? "";
  const from = tokyoMidnight(day);
  return [{ day, week: weekOf(day), from, to: from + Number(e.raw_minutes) * 60_000, minutes: Number(e.raw_minutes) }];
}

export function toEntry(r: TimeEntryTable): TimeEntry {
  return {
    id: r.id,
    engineerId: r.engineer_id,
    packageId: r.package_id,
    contractId: r.contract_id,
    start: r.start_at,
    end: r.end_at,
    timeZone: r.time_zone,
    startGiven: r.start_given,
    endGiven: r.end_given,
    date: r.work_date,
    rawMinutes: Number(r.raw_minutes),
    roundedMinutes: Number(r.rounded_minutes),
    roundingRule: r.rounding_rule,
    note: r.note,
    days: partsOf(r).map((p) => ({
      day: p.day,
      week: p.week,
      rawMinutes: p.minutes,
      roundedMinutes: roundMinutes(p.minutes, r.rounding_rule),
    })),
    createdAt: r.created_at,
  };
}

export function createTimesheetService({
  db,
  audit,
  notifications,
  now = () => new Date(),
}: {
  db: Kysely<Database>;
  audit: AuditService;
  notifications: NotificationService;
  now?: () => Date;
}) {
  function requireEngineer(actor: Actor): string {
    if (actor.kind !== "user" || actor.role !== "engineer") throw forbidden(text("hours.engineersOnly"));
    return actor.userId;
  }

  /** The engineer's (engineer, contract, week) sheets for `weeks`, made as drafts where missing; refuses locked ones. */
  async function openSheets(
    trx: Transaction<Database>,
    keys: { engineerId: string; contractId: string; tenantId: string },
    weeks: string[],
  ): Promise<void> {
    for (const week of weeks) {
      const sheet = await trx
        .selectFrom("timesheet")
        .select(["id", "state"])
        .where("engineer_id", "=", keys.engineerId)
        .where("contract_id", "=", keys.contractId)
        .where("week_start", "=", week)
        .executeTakeFirst();
      if (sheet && locked.includes(sheet.state)) {
        throw fail("INVALID_STATE", text("hours.weekLocked", { week, state: codeOf("sheet", sheet.state) }), {
          current: sheet.state,
          timesheetId: sheet.id,
        });
      }
      if (!sheet) {
        await trx
          .insertInto("timesheet")
          .values({
            id: randomUUID(),
            engineer_id: keys.engineerId,
            contract_id: keys.contractId,
            tenant_id: keys.tenantId,
            week_start: week,
            state: "draft",
            reason: null,
            submitted_at: null,
            decided_at: null,
            decided_by: null,
            updated_at: now().toISOString(),
          })
          .execute();
      }
    }
  }

  /**
   * May `engineerId` record hours on the package for these weeks? A current assignment allows any
   * week; an ended one allows weeks before the current one only (late entries for work done then).
   */
  async function checkAssignment(ex: Executor, engineerId: string, packageId: string, weeks: string[]) {
    const rows = await ex
      .selectFrom("assignment")
      .select(["ended_at"])
      .where("engineer_id", "=", engineerId)
      .where("package_id", "=", packageId)
      .execute();
    if (rows.length === 0) throw notFound("package");
    if (rows.some((r) => r.ended_at == null)) return;
    const thisWeek = weekOf(tokyoDay(now().getTime()));
    const late = weeks.filter((w) => w >= thisWeek);
    if (late.length) {
      throw forbidden(text("hours.assignmentEnded", { week: thisWeek }));
    }
  }

  /**
   * A duration has no times to overlap, so the engineer's Tokyo days are capped instead: with the new
   * entry's `parts`, no day may hold more than 24 hours of their entries (all contracts together).
   */
  async function checkDayTotals(ex: Executor, engineerId: string, parts: DayPart[]) {
    const days = parts.map((p) => p.day);
    const first = days[0];
    const last = days[days.length - 1];
    if (first === undefined || last === undefined) return;
    const from = new Date(tokyoMidnight(first)).toISOString();
    const to = new Date(tokyoMidnight(addDays(last, 1))).toISOString();
    const existing = await ex
      .selectFrom("time_entry")
      .select(["start_at", "end_at", "work_date", "raw_minutes"])
      .where("engineer_id", "=", engineerId)
      .where((eb) =>
        eb.or([
          eb.and([eb("start_at", "<", to), eb("end_at", ">", from)]),
          eb.and([eb("work_date", ">=", first), eb("work_date", "<=", last)]),
        ]),
      )
      .execute();
    const total = new Map<string, number>();
    for (const p of [...existing.flatMap(partsOf), ...parts]) total.set(p.day, (total.get(p.day) ?? 0) + p.minutes);
    for (const day of days) {
      const minutes = total.get(day) ?? 0;
      if (minutes > MAX_ENTRY_MINUTES) {
        const hours = { code: (minutes / 60).toFixed(2), text: clock(minutes) };
        const message = text("hours.dayFull", { day, hours });
        throw fail("CONFLICT", message, { fields: [fieldProblem("minutes", text("hours.dayFullField", { day }))] });
      }
    }
  }

  async function sheetRow(ex: Executor, id: string): Promise<TimesheetTable> {
    const row = await ex.selectFrom("timesheet").selectAll().where("id", "=", id).executeTakeFirst();
    if (!row) throw notFound("timesheet");
    return row;
  }

  /** The sheet if the actor may see it: its engineer, or people who see its contract. */
  async function visibleSheet(ex: Executor, actor: Actor, id: string): Promise<TimesheetTable> {
    const row = await sheetRow(ex, id);
    if (actor.kind === "user" && actor.role === "engineer") {
      if (row.engineer_id !== actor.userId) throw notFound("timesheet");
      return row;
    }
    const seen = await seesContract(ex, actor, row.contract_id);
    if (!seen) throw notFound("timesheet");
    return row;
  }

  async function leadsOf(ex: Executor, contractId: string): Promise<string[]> {
    const rows = await ex.selectFrom("contract_lead").select("user_id").where("contract_id", "=", contractId).execute();
    return rows.map((r) => r.user_id);
  }

  /** The sheet's entries: its engineer's on its contract that touch its week. */
  function entriesOf(ex: Executor, row: TimesheetTable): Promise<TimeEntryTable[]> {
    const weekFrom = new Date(tokyoMidnight(row.week_start)).toISOString();
    const weekTo = new Date(tokyoMidnight(addDays(row.week_start, 7))).toISOString();
    return ex
      .selectFrom("time_entry")
      .selectAll()
      .where("engineer_id", "=", row.engineer_id)
      .where("contract_id", "=", row.contract_id)
      .where((eb) =>
        eb.or([
          eb.and([eb("start_at", "<", weekTo), eb("end_at", ">", weekFrom)]),
          eb.and([eb("work_date", ">=", row.week_start), eb("work_date", "<", addDays(row.week_start, 7))]),
        ]),
      )
      .orderBy("start_at")
      .orderBy("work_date")
      .execute();
  }

  async function view(ex: Executor, row: TimesheetTable): Promise<Timesheet> {
    const entries = await entriesOf(ex, row);
    let raw = 0;
    let rounded = 0;
    const out: Timesheet["entries"] = [];
    for (const e of entries) {
      const entry = toEntry(e);
      const days = entry.days.filter((d) => d.week === row.week_start);
      for (const d of days) {
        raw += d.rawMinutes;
        rounded += d.roundedMinutes;
      }
      const evidence = await evidenceFor(ex, {
        engineerId: e.engineer_id,
        packageId: e.package_id,
        start: e.start_at,
        end: e.end_at,
      });
      out.push({ ...entry, days, evidence });
    }
    return {
      id: row.id,
      engineerId: row.engineer_id,
      contractId: row.contract_id,
      weekStart: row.week_start,
      state: row.state as TimesheetState,
      reason: row.reason,
      submittedAt: row.submitted_at,
      decidedAt: row.decided_at,
      decidedBy: row.decided_by,
      entries: out,
      rawMinutes: raw,
      roundedMinutes: rounded,
    };
  }

  /** Moves a sheet from one of `from` to `to`, audited and told to whom it concerns, in one transaction. */
  async function move(
    actor: Actor,
    id: string,
    from: readonly TimesheetState[],
    to: TimesheetState,
    opts: { reason?: string; who: "engineer" | "lead" },
  ): Promise<Timesheet> {
    const sheet = await db.transaction().execute(async (trx) => {
      const seen = await visibleSheet(trx, actor, id);
      // The engineer's lock, as `record` and `remove` take it: an entry being written into this week
      // finishes (or waits) before the week is submitted or approved, so a locked week stays locked.
      await lockUser(trx, seen.engineer_id);
      // Then the contract's, as closing a month takes it: the month's close and this change are serial.
      await lockContract(trx, seen.contract_id);
      const row = await sheetRow(trx, id);
      if (opts.who === "engineer" && (actor.kind !== "user" || actor.role !== "engineer")) {
        throw forbidden(text("hours.engineerSubmits"));
      }
      if (opts.who === "lead" && actor.kind === "user" && actor.role !== "lead") {
        throw forbidden(text("hours.leadApproves"));
      }
      if (!from.includes(row.state as TimesheetState)) {
        throw fail(
          "INVALID_STATE",
          text("hours.cannotBecome", { state: codeOf("sheet", row.state), to: codeOf("sheet", to) }),
          {
            current: row.state,
          },
        );
      }
      // A week of a month the contractor has closed stays as billed until the month is reopened: it is not
      // reopened, and no hours of that month are submitted or approved in it.
      const months =
        to === "draft"
          ? [row.week_start.slice(0, 7), addDays(row.week_start, 6).slice(0, 7)]
          : (await entriesOf(trx, row))
              .flatMap(partsOf)
              .filter((p) => p.week === row.week_start)
              .map((p) => p.day.slice(0, 7));
      await refuseClosed(trx, row.contract_id, months);
      const at = now().toISOString();
      const decidedBy = actor.kind === "user" ? actor.userId : `system:${actor.name}`;
      const changes =
        to === "submitted"
          ? { state: to, reason: null, submitted_at: at, updated_at: at }
          : to === "draft"
            ? {
                state: to,
                reason: opts.reason ?? null,
                submitted_at: null,
                decided_at: at,
                decided_by: decidedBy,
                updated_at: at,
              }
            : { state: to, reason: opts.reason ?? null, decided_at: at, decided_by: decidedBy, updated_at: at };
      const done = await trx
        .updateTable("timesheet")
        .set(changes)
        .where("id", "=", id)
        .where("state", "=", row.state)
        .executeTakeFirst();
      if (Number(done.numUpdatedRows) !== 1) throw fail("CONFLICT", text("hours.changedMeanwhile"));
      const action = to === "draft" ? "timesheet.reopened" : `timesheet.${to}`;
      await audit.record(
        actor,
        action,
        `timesheet:${id}`,
        {
          engineerId: row.engineer_id,
          contractId: row.contract_id,
          week: row.week_start,
          from: row.state,
          reason: opts.reason,
        },
        { trx, tenantId: row.tenant_id },
      );
      await notifications.notify(trx, {
        userIds: to === "submitted" ? await leadsOf(trx, row.contract_id) : [row.engineer_id],
        tenantId: row.tenant_id,
        kind: action,
        title: text(`notice.timesheet.${to}`, { week: row.week_start }),
        body: opts.reason ? text("notice.reason", { reason: opts.reason }) : "",
        subject: `timesheet:${id}`,
        dedupeKey: `${action}:${id}:${at}`,
        webhook: {
          event: action,
          data: {
            timesheetId: id,
            engineerId: row.engineer_id,
            contractId: row.contract_id,
            week: row.week_start,
            reason: opts.reason ?? null,
          },
        },
      });
      return view(trx, await sheetRow(trx, id));
    });
    // Webhooks go out once the change is committed.
    void notifications.dispatch();
    return sheet;
  }

  const service = {
    /** Records hours the engineer reports; overlapping their own entries or touching a locked week is refused. */
    async record(actor: Actor, input: NewTimeEntry): Promise<TimeEntry> {
      const engineerId = requireEngineer(actor);
      const profile = await db
        .selectFrom("engineer_profile")
        .select("time_zone")
        .where("user_id", "=", engineerId)
        .executeTakeFirst();
      const timeZone = input.timeZone ?? profile?.time_zone ?? "Asia/Tokyo";
      if (!isTimeZone(timeZone)) throw invalidField("timeZone", text("hours.notZone", { zone: timeZone }));
      const timed = input.start !== undefined || input.end !== undefined;
      const sized = input.date !== undefined || input.minutes !== undefined;
      if (timed === sized) throw invalidField("body", text("hours.startOrDate"));
      let startAt: string | null = null;
      let endAt: string | null = null;
      let rawMinutes: number;
      const nowMs = now().getTime();
      if (timed) {
        if (input.start === undefined)
          throw invalidField("start", text("hours.requiredWith", { other: text("field.end") }));
        if (input.end === undefined)
          throw invalidField("end", text("hours.requiredWith", { other: text("field.start") }));
        const start = toInstant(input.start, timeZone, "start").getTime();
        const end = toInstant(input.end, timeZone, "end").getTime();
        if (end <= start) throw invalidField("end", text("availability.endBeforeStart"));
        rawMinutes = (end - start) / 60_000;
        if (rawMinutes > MAX_ENTRY_MINUTES) throw invalidField("end", text("hours.entryTooLong"));
        if (end > nowMs) throw invalidField("end", text("hours.future"));
        startAt = new Date(start).toISOString();
        endAt = new Date(end).toISOString();
      } else {
        if (input.date === undefined)
          throw invalidField("date", text("hours.requiredWith", { other: text("field.minutes") }));
        if (input.minutes === undefined)
          throw invalidField("minutes", text("hours.requiredWith", { other: text("field.date") }));
        if (input.date > tokyoDay(nowMs)) throw invalidField("date", text("hours.future"));
        rawMinutes = input.minutes;
      }
      const workDate = timed ? null : (input.date ?? null);
      return db.transaction().execute(async (trx) => {
        const pkg = await trx
          .selectFrom("work_package")
          .innerJoin("contract", "contract.id", "work_package.contract_id")
          .select([
            "work_package.id",
            "work_package.contract_id",
            "work_package.tenant_id",
            "contract.hours_rounding",
            "contract.period_start",
            "contract.period_end",
          ])
          .where("work_package.id", "=", input.packageId)
          .executeTakeFirst();
        if (!pkg) throw notFound("package");
        const rule = pkg.hours_rounding ?? "none";
        const parts = partsOf({ start_at: startAt, end_at: endAt, work_date: workDate, raw_minutes: rawMinutes });
        const weeks = [...new Set(parts.map((p) => p.week))];
        await checkAssignment(trx, engineerId, pkg.id, weeks);
        // Hours are paid under the contract: a day outside its period is not work done for it.
        const outside = parts.find((p) => p.day < pkg.period_start || p.day > pkg.period_end);
        if (outside) {
          throw invalidField(
            timed ? "start" : "date",
            text("hours.outsidePeriod", { day: outside.day, start: pkg.period_start, end: pkg.period_end }),
          );
        }
        await lockUser(trx, engineerId);
        // Hours of a month the contractor has closed would change what was billed.
        await lockContract(trx, pkg.contract_id);
        await refuseClosed(
          trx,
          pkg.contract_id,
          parts.map((p) => p.day.slice(0, 7)),
        );
        if (startAt && endAt) {
          const other = await trx
            .selectFrom("time_entry")
            .select(["id", "start_at", "end_at", "package_id"])
            .where("engineer_id", "=", engineerId)
            .where("start_at", "<", endAt)
            .where("end_at", ">", startAt)
            .executeTakeFirst();
          if (other) {
            throw fail(
              "CONFLICT",
              text("hours.overlaps", {
                entryId: other.id,
                // Said in the zone the engineer gives times in: a 09:07 JST entry reads 09:07, not 00:07Z.
                start: { moment: other.start_at ?? "", zone: timeZone },
                end: { moment: other.end_at ?? "", zone: timeZone },
              }),
              {
                entryId: other.id,
                fields: [fieldProblem("start", text("hours.overlapsField", { entryId: other.id }))],
              },
            );
          }
        }
        await checkDayTotals(trx, engineerId, parts);
        await openSheets(trx, { engineerId, contractId: pkg.contract_id, tenantId: pkg.tenant_id }, weeks);
        const row: TimeEntryTable = {
          id: randomUUID(),
          engineer_id: engineerId,
          package_id: pkg.id,
          contract_id: pkg.contract_id,
          tenant_id: pkg.tenant_id,
          start_at: startAt,
          end_at: endAt,
          time_zone: timeZone,
          start_given: input.start ?? null,
          end_given: input.end ?? null,
          work_date: workDate,
          raw_minutes: rawMinutes,
          rounded_minutes: parts.reduce((s, p) => s + roundMinutes(p.minutes, rule), 0),
          rounding_rule: rule,
          note: input.note ?? "",
          created_at: now().toISOString(),
        };
        await trx.insertInto("time_entry").values(row).execute();
        await audit.record(
          actor,
          "time_entry.recorded",
          `time_entry:${row.id}`,
          { packageId: row.package_id, start: startAt, end: endAt, timeZone, date: workDate, rawMinutes },
          { trx, tenantId: pkg.tenant_id },
        );
        return toEntry(row);
      });
    },

    /** The engineer takes back an entry of a week that is not submitted or approved; it is never edited in place. */
    async remove(actor: Actor, id: string): Promise<void> {
      const engineerId = requireEngineer(actor);
      await db.transaction().execute(async (trx) => {
        const row = await trx
          .selectFrom("time_entry")
          .selectAll()
          .where("id", "=", id)
          .where("engineer_id", "=", engineerId)
          .executeTakeFirst();
        if (!row) throw notFound("entry");
        await lockUser(trx, engineerId);
        const weeks = [...new Set(partsOf(row).map((p) => p.week))];
        await openSheets(trx, { engineerId, contractId: row.contract_id, tenantId: row.tenant_id }, weeks);
        await trx.deleteFrom("time_entry").where("id", "=", id).execute();
        // The event keeps what was removed: the raw figures are evidence even after a correction.
        await audit.record(
          actor,
          "time_entry.removed",
          `time_entry:${id}`,
          {
            packageId: row.package_id,
            start: row.start_at,
            end: row.end_at,
            date: row.work_date,
            rawMinutes: Number(row.raw_minutes),
          },
          { trx, tenantId: row.tenant_id },
        );
      });
    },

    /** The sheets of one week: the engineer's own, or (for leads and contractors) one engineer's on contracts they see. */
    async week(actor: Actor, query: { week: string; engineerId?: string }): Promise<Timesheet[]> {
      if (!isMonday(query.week)) throw invalidField("week", text("hours.monday"));
      let q = db.selectFrom("timesheet").selectAll("timesheet").where("timesheet.week_start", "=", query.week);
      if (actor.kind === "user" && actor.role === "engineer") {
        q = q.where("timesheet.engineer_id", "=", actor.userId);
      } else {
        if (!query.engineerId) throw invalidField("engineerId", text("hours.nameEngineer"));
        const visible = visibleContracts(db, actor).select("contract.id");
        q = q.where("timesheet.engineer_id", "=", query.engineerId).where("timesheet.contract_id", "in", visible);
      }
      const rows = await q.orderBy("timesheet.contract_id").execute();
      return Promise.all(rows.map((r) => view(db, r)));
    },

    /**
     * The sheets waiting for a decision (submitted) and the approved ones a reopening may concern, on the
     * contracts the actor sees; each with its engineer's name, for the lead's approval page.
     */
    async forReview(actor: Actor): Promise<(Timesheet & { engineerName: string })[]> {
      if (actor.kind === "user" && actor.role === "engineer") throw forbidden(text("hours.ownWeeks"));
      const visible = visibleContracts(db, actor).select("contract.id");
      const rows = await db
        .selectFrom("timesheet")
        .innerJoin("user", "user.id", "timesheet.engineer_id")
        .selectAll("timesheet")
        .select("user.name as engineer_name")
        .where("timesheet.contract_id", "in", visible)
        .where("timesheet.state", "in", ["submitted", "approved"])
        .orderBy("timesheet.week_start", "desc")
        .orderBy("user.name")
        .limit(100)
        .execute();
      return Promise.all(
        rows.map(async ({ engineer_name, ...r }) => ({ ...(await view(db, r)), engineerName: engineer_name })),
      );
    },

    async get(actor: Actor, id: string): Promise<Timesheet> {
      return view(db, await visibleSheet(db, actor, id));
    },

    submit: (actor: Actor, id: string) => move(actor, id, ["draft", "rejected"], "submitted", { who: "engineer" }),
    approve: (actor: Actor, id: string) => move(actor, id, ["submitted"], "approved", { who: "lead" }),
    reject: (actor: Actor, id: string, reason: string) =>
      move(actor, id, ["submitted"], "rejected", { reason, who: "lead" }),
    /** An approved week opened again for correction: needs a reason, and the reason is in the audit log. */
    reopen: (actor: Actor, id: string, reason: string) =>
      move(actor, id, ["approved"], "draft", { reason, who: "lead" }),
  };
  return service;
}

export type TimesheetService = ReturnType<typeof createTimesheetService>;
