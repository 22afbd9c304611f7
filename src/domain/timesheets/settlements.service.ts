// What a contract's month comes to: 準委任 hours against the monthly band with its rates (plus
// adjustments, each with a reason), and the month's hours as rows for billing (JSON, or CSV for Excel).

import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import type { ContractTable, Database, Executor } from "../../db/schema.ts";
import type { Actor } from "../../kernel/actor.ts";
import { toCsv } from "../../kernel/csv.ts";
import { fail, forbidden, invalidField, notFound } from "../../kernel/errors.ts";
import { text } from "../../kernel/messages.ts";
import type { AuditService } from "../audit/audit.service.ts";
import { lockContract, visibleContracts } from "../contracts/contracts.service.ts";
import { type TaskPayLine, taskPayLines } from "../tasks/pay.ts";
import { checkMonth } from "./month-close.ts";
import { monthRange, roundMinutes, tokyoDay, tokyoMidnight } from "./time.ts";
import { partsOf } from "./timesheets.service.ts";

export interface Band {
  monthlyFeeYen: number;
  minHours: number;
  maxHours: number;
  overRateYen: number;
  underRateYen: number;
}

/** Where the month's hours fell against the band, and the amount that gives (yen, rounded half up). */
export function settleBand(hours: number, band: Band): { basis: "under" | "within" | "over"; amountYen: number } {
  if (hours < band.minHours) {
    // The deduction can use up the fee but never turn it into a debt of the engineer's.
    const amount = Math.round(band.monthlyFeeYen - (band.minHours - hours) * band.underRateYen);
    return { basis: "under", amountYen: Math.max(0, amount) };
  }
  if (hours > band.maxHours) {
    return { basis: "over", amountYen: Math.round(band.monthlyFeeYen + (hours - band.maxHours) * band.overRateYen) };
  }
  return { basis: "within", amountYen: band.monthlyFeeYen };
}

export interface Settlement {
  engineerId: string;
  engineerName: string;
  month: string;
  /** Rounded hours of weeks the lead approved; only these are paid. */
  approvedHours: number;
  /** Rounded hours of weeks not approved yet. */
  pendingHours: number;
  basis: "under" | "within" | "over";
  baseAmountYen: number;
  adjustments: { id: string; amountYen: number; reason: string; createdBy: string; createdAt: string }[];
  amountYen: number;
}

/** A month's settlements, live or as they were when the contractor closed the month. */
export interface MonthSettlement {
  month: string;
  /** When and by whom the month was closed; null while its figures still follow the timesheets. */
  closed: { at: string; by: string } | null;
  items: Settlement[];
}

/** 請負 task work's lines of a month (per keyer and batch) and their total. */
export interface TaskLines {
  month: string;
  /** When and by whom the month was closed; the lines are then as they were at the close. */
  closed: { at: string; by: string } | null;
  items: TaskPayLine[];
  amountYen: number;
}

/** One Tokyo day's share of one entry, as billing reads it. */
export interface HoursRow {
  engineerId: string;
  engineerName: string;
  day: string;
  week: string;
  wbsId: string;
  packageTitle: string;
  /** The day's part in Asia/Tokyo, HH:MM; null for a duration entry. */
  start: string | null;
  end: string | null;
  timeZone: string;
  rawMinutes: number;
  roundedMinutes: number;
  roundingRule: string;
  weekState: string;
  note: string;
  entryId: string;
}

const hhmm = (ms: number) => new Date(ms + 9 * 3_600_000).toISOString().slice(11, 16);
const hours = (minutes: number) => Math.round((minutes / 60) * 100) / 100;

export const CSV_HEADERS = [
  "氏名",
  "作業日",
  "週（月曜）",
  "WBS番号",
  "作業名",
  "開始",
  "終了",
  "申告タイムゾーン",
  "実績（分）",
  "丸め後（分）",
  "丸め規則",
  "週の状態",
  "備考",
] as const;

const stateWords: Record<string, string> = {
  draft: "下書き",
  submitted: "提出済",
  approved: "承認済",
  rejected: "差戻し",
};

export function createSettlementService({
  db,
  audit,
  now = () => new Date(),
}: {
  db: Kysely<Database>;
  audit: AuditService;
  now?: () => Date;
}) {
  async function contractFor(actor: Actor, id: string): Promise<ContractTable> {
    const row = await visibleContracts(db, actor)
      .selectAll("contract")
      .where("contract.id", "=", id)
      .executeTakeFirst();
    if (!row) throw notFound("contract");
    return row;
  }

  /** Every day-part of the contract's entries that falls in the month, with its week's state. */
  async function rows(ex: Executor, contractId: string, month: string): Promise<HoursRow[]> {
    const { from, to } = monthRange(month);
    const fromIso = new Date(tokyoMidnight(from)).toISOString();
    const toIso = new Date(tokyoMidnight(to)).toISOString();
    const entries = await ex
      .selectFrom("time_entry")
      .innerJoin("work_package", "work_package.id", "time_entry.package_id")
      .innerJoin("user", "user.id", "time_entry.engineer_id")
      .selectAll("time_entry")
      .select(["work_package.wbs_id", "work_package.title", "user.name"])
      .where("time_entry.contract_id", "=", contractId)
      .where((eb) =>
        eb.or([
          eb.and([eb("time_entry.start_at", "<", toIso), eb("time_entry.end_at", ">", fromIso)]),
          eb.and([eb("time_entry.work_date", ">=", from), eb("time_entry.work_date", "<", to)]),
        ]),
      )
      .execute();
    const sheets = await ex
      .selectFrom("timesheet")
      .select(["engineer_id", "week_start", "state"])
      .where("contract_id", "=", contractId)
      .execute();
    const stateOf = new Map(sheets.map((s) => [`${s.engineer_id}|${s.week_start}`, s.state]));
    const out: HoursRow[] = [];
    for (const e of entries) {
      for (const p of partsOf(e)) {
        if (p.day < from || p.day >= to) continue;
        out.push({
          engineerId: e.engineer_id,
          engineerName: e.name,
          day: p.day,
          week: p.week,
          wbsId: e.wbs_id,
          packageTitle: e.title,
          start: e.start_at ? hhmm(p.from) : null,
          end: e.start_at ? (p.to === tokyoMidnight(p.day) + 86_400_000 ? "24:00" : hhmm(p.to)) : null,
          timeZone: e.time_zone,
          rawMinutes: p.minutes,
          roundedMinutes: roundMinutes(p.minutes, e.rounding_rule),
          roundingRule: e.rounding_rule,
          weekState: stateOf.get(`${e.engineer_id}|${p.week}`) ?? "draft",
          note: e.note,
          entryId: e.id,
        });
      }
    }
    return out.sort(
      (a, b) =>
        a.engineerName.localeCompare(b.engineerName) ||
        a.day.localeCompare(b.day) ||
        (a.start ?? "").localeCompare(b.start ?? ""),
    );
  }

  /** A closed month's figures, or null. */
  async function closedMonth(ex: Executor, contractId: string, month: string): Promise<MonthSettlement | null> {
    const row = await ex
      .selectFrom("settlement_close")
      .selectAll()
      .where("contract_id", "=", contractId)
      .where("month", "=", month)
      .executeTakeFirst();
    if (!row) return null;
    return { month, closed: { at: row.closed_at, by: row.closed_by }, items: JSON.parse(row.settlements) };
  }

  /** The month's task lines: as closed when the month is closed (and they were kept), else as counted now. */
  async function tasksOf(ex: Executor, contractId: string, month: string): Promise<TaskLines> {
    const row = await ex
      .selectFrom("settlement_close")
      .select(["task_lines", "closed_at", "closed_by"])
      .where("contract_id", "=", contractId)
      .where("month", "=", month)
      .executeTakeFirst();
    const closed = row ? { at: row.closed_at, by: row.closed_by } : null;
    if (row?.task_lines == null) return { ...(await liveTasks(ex, contractId, month)), closed };
    const items: TaskPayLine[] = JSON.parse(row.task_lines);
    return { month, closed, items, amountYen: items.reduce((sum, i) => sum + i.amountYen, 0) };
  }

  /** Whether the contract's months settle 準委任 hours against a band. */
  const banded = (c: ContractTable) => c.type === "juninin" && c.band_min_hours != null;

  /** The month's task lines as the contract's batches say now. */
  async function liveTasks(ex: Executor, contractId: string, month: string): Promise<TaskLines> {
    const { from, to } = monthRange(month);
    const items = await taskPayLines(
      ex,
      contractId,
      new Date(tokyoMidnight(from)).toISOString(),
      new Date(tokyoMidnight(to)).toISOString(),
    );
    return { month, closed: null, items, amountYen: items.reduce((sum, i) => sum + i.amountYen, 0) };
  }

  /** The month's settlements as the timesheets and adjustments say now. */
  async function live(ex: Executor, c: ContractTable, month: string): Promise<Settlement[]> {
    const contractId = c.id;
    if (c.type !== "juninin" || c.band_min_hours == null) {
      throw fail("INVALID_STATE", text("settlements.ukeoi"), { current: c.type });
    }
    const band: Band = {
      monthlyFeeYen: Number(c.monthly_fee_yen),
      minHours: Number(c.band_min_hours),
      maxHours: Number(c.band_max_hours),
      overRateYen: Number(c.over_rate_yen),
      underRateYen: Number(c.under_rate_yen),
    };
    const list = await rows(ex, contractId, month);
    const adjustments = await ex
      .selectFrom("settlement_adjustment")
      .selectAll()
      .where("contract_id", "=", contractId)
      .where("month", "=", month)
      .orderBy("created_at")
      .execute();
    const engineers = new Map<string, string>();
    for (const r of list) engineers.set(r.engineerId, r.engineerName);
    const missing = adjustments.map((a) => a.engineer_id).filter((id) => !engineers.has(id));
    if (missing.length) {
      const users = await ex.selectFrom("user").select(["id", "name"]).where("id", "in", missing).execute();
      for (const u of users) engineers.set(u.id, u.name);
    }
    const out: Settlement[] = [];
    for (const [engineerId, engineerName] of engineers) {
      const mine = list.filter((r) => r.engineerId === engineerId);
      const approved = mine.filter((r) => r.weekState === "approved").reduce((s, r) => s + r.roundedMinutes, 0);
      const pending = mine.filter((r) => r.weekState !== "approved").reduce((s, r) => s + r.roundedMinutes, 0);
      const { basis, amountYen } = settleBand(approved / 60, band);
      const adj = adjustments
        .filter((a) => a.engineer_id === engineerId)
        .map((a) => ({
          id: a.id,
          amountYen: Number(a.amount_yen),
          reason: a.reason,
          createdBy: a.created_by,
          createdAt: a.created_at,
        }));
      out.push({
        engineerId,
        engineerName,
        month,
        approvedHours: hours(approved),
        pendingHours: hours(pending),
        basis,
        baseAmountYen: amountYen,
        adjustments: adj,
        amountYen: amountYen + adj.reduce((s, a) => s + a.amountYen, 0),
      });
    }
    return out.sort((a, b) => a.engineerName.localeCompare(b.engineerName));
  }

  const service = {
    /** The month's hours of a contract, one row per entry and Tokyo day (leads and contractors who see it). */
    async hours(actor: Actor, contractId: string, month: string): Promise<HoursRow[]> {
      checkMonth(month);
      await contractFor(actor, contractId);
      return rows(db, contractId, month);
    },

    /** The same rows as CSV with Japanese headers. */
    async hoursCsv(actor: Actor, contractId: string, month: string): Promise<string> {
      const list = await service.hours(actor, contractId, month);
      return toCsv([
        [...CSV_HEADERS],
        ...list.map((r) => [
          r.engineerName,
          r.day,
          r.week,
          r.wbsId,
          r.packageTitle,
          r.start,
          r.end,
          r.timeZone,
          r.rawMinutes,
          r.roundedMinutes,
          r.roundingRule,
          stateWords[r.weekState] ?? r.weekState,
          r.note,
        ]),
      ]);
    },

    /** The contract's title, for the names of its export files (leads and contractors who see it). */
    async contractTitle(actor: Actor, contractId: string): Promise<string> {
      return (await contractFor(actor, contractId)).title;
    },

    /**
     * 請負 task work: the month's lines per keyer and batch of the contract's unit-priced batches (accepted items
     * whose value came from the keyer's entry, times the unit price), with their total. Leads and contractors.
     */
    async taskLines(actor: Actor, contractId: string, month: string): Promise<TaskLines> {
      checkMonth(month);
      await contractFor(actor, contractId);
      return tasksOf(db, contractId, month);
    },

    /**
     * The month's settlement with its contract, for the export files (settlement-export.ts): 準委任 hours against
     * the band (null for a contract without one) and the task lines.
     */
    async forExport(
      actor: Actor,
      contractId: string,
      month: string,
    ): Promise<{ contract: ContractTable; settled: MonthSettlement | null; tasks: TaskLines }> {
      checkMonth(month);
      const contract = await contractFor(actor, contractId);
      const settled = banded(contract) ? await service.settle(actor, contractId, month) : null;
      return { contract, settled, tasks: await service.taskLines(actor, contractId, month) };
    },

    /**
     * 準委任: each engineer's approved hours of the month against the band, with adjustments; once the
     * contractor has closed the month, the figures as they were then.
     */
    async settle(actor: Actor, contractId: string, month: string): Promise<MonthSettlement> {
      checkMonth(month);
      const c = await contractFor(actor, contractId);
      if (!banded(c)) return { month, closed: null, items: await live(db, c, month) }; // refused there
      const closed = await closedMonth(db, contractId, month);
      if (closed) return closed;
      return { month, closed: null, items: await live(db, c, month) };
    },

    /**
     * Closes an ended month (contractors): every hour in it approved, its settlements and task lines kept as they
     * are now. Afterwards its weeks cannot be reopened nor its amounts adjusted until the month is reopened. A
     * contract without a band (請負) closes its task lines alone.
     */
    async close(actor: Actor, contractId: string, month: string): Promise<MonthSettlement> {
      checkMonth(month);
      const c = await contractFor(actor, contractId);
      if (actor.kind !== "user" || actor.role !== "contractor") throw forbidden(text("month.contractorCloses"));
      if (monthRange(month).to > tokyoDay(now().getTime())) {
        throw fail("INVALID_STATE", text("month.notOver", { month }));
      }
      const at = now().toISOString();
      // The check, the figures and the close in one transaction under the contract's lock: a week reopened
      // or an entry recorded meanwhile either comes before (and is seen here) or waits and finds it closed.
      const items = await db.transaction().execute(async (trx) => {
        await lockContract(trx, contractId);
        if (await closedMonth(trx, contractId, month))
          throw fail("INVALID_STATE", text("month.closedAlready", { month }));
        const items = banded(c) ? await live(trx, c, month) : [];
        const tasks = await liveTasks(trx, contractId, month);
        const pending = items.filter((i) => i.pendingHours > 0);
        if (pending.length) {
          const who = pending.map((i) => `${i.engineerName} (${i.pendingHours} h)`).join(", ");
          throw fail("INVALID_STATE", text("month.unapproved", { month, who }));
        }
        await trx
          .insertInto("settlement_close")
          .values({
            contract_id: contractId,
            month,
            tenant_id: c.tenant_id,
            settlements: JSON.stringify(items),
            task_lines: JSON.stringify(tasks.items),
            closed_by: actor.userId,
            closed_at: at,
          })
          .execute();
        await audit.record(
          actor,
          "settlement.closed",
          `contract:${contractId}`,
          {
            month,
            engineers: items.length,
            amountYen: items.reduce((sum, i) => sum + i.amountYen, 0),
            taskLines: tasks.items.length,
            taskAmountYen: tasks.amountYen,
          },
          { trx, tenantId: c.tenant_id },
        );
        return items;
      });
      return { month, closed: { at, by: actor.userId }, items };
    },

    /**
     * Opens a closed month again (contractors), with a reason (1 to 2000 characters). The figures as they
     * were closed (what was invoiced) stay in the `settlement.reopened` audit event.
     */
    async reopenMonth(actor: Actor, contractId: string, month: string, reason: string): Promise<MonthSettlement> {
      checkMonth(month);
      const why = reason.trim();
      if (!why) throw invalidField("reason", text("month.sayWhy"));
      if (why.length > 2000) throw invalidField("reason", text("issue.longString", { n: 2000 }));
      const c = await contractFor(actor, contractId);
      if (actor.kind !== "user" || actor.role !== "contractor") throw forbidden(text("month.contractorReopens"));
      return db.transaction().execute(async (trx) => {
        await lockContract(trx, contractId);
        const closed = await closedMonth(trx, contractId, month);
        if (!closed?.closed) throw fail("INVALID_STATE", text("month.notClosed", { month }));
        const tasks = await tasksOf(trx, contractId, month);
        await trx
          .deleteFrom("settlement_close")
          .where("contract_id", "=", contractId)
          .where("month", "=", month)
          .execute();
        await audit.record(
          actor,
          "settlement.reopened",
          `contract:${contractId}`,
          {
            month,
            reason: why,
            // What the close said, as it was billed: reopening does not lose it.
            closedAt: closed.closed.at,
            closedBy: closed.closed.by,
            settlements: closed.items,
            taskLines: tasks.items,
          },
          { trx, tenantId: c.tenant_id },
        );
        return { month, closed: null, items: banded(c) ? await live(trx, c, month) : [] };
      });
    },

    /** A contractor corrects a month's amount up or down; the reason is required and audited. */
    async adjust(
      actor: Actor,
      contractId: string,
      input: { engineerId: string; month: string; amountYen: number; reason: string },
    ): Promise<MonthSettlement> {
      checkMonth(input.month);
      const c = await contractFor(actor, contractId);
      if (actor.kind !== "user" || actor.role !== "contractor") throw forbidden(text("settlements.contractorAdjusts"));
      if (c.type !== "juninin") throw fail("INVALID_STATE", text("settlements.jun"));
      const assigned = await db
        .selectFrom("assignment")
        .innerJoin("work_package", "work_package.id", "assignment.package_id")
        .select("assignment.id")
        .where("work_package.contract_id", "=", contractId)
        .where("assignment.engineer_id", "=", input.engineerId)
        .executeTakeFirst();
      if (!assigned) {
        throw invalidField("engineerId", text("settlements.notEngineer"));
      }
      await db.transaction().execute(async (trx) => {
        // Under the contract's lock, as closing takes it: an adjustment lands before the close or not at all.
        await lockContract(trx, contractId);
        if (await closedMonth(trx, contractId, input.month)) {
          throw fail("INVALID_STATE", text("settlements.closed", { month: input.month }));
        }
        const id = randomUUID();
        await trx
          .insertInto("settlement_adjustment")
          .values({
            id,
            contract_id: contractId,
            engineer_id: input.engineerId,
            month: input.month,
            amount_yen: input.amountYen,
            reason: input.reason,
            created_by: actor.userId,
            created_at: now().toISOString(),
          })
          .execute();
        await audit.record(
          actor,
          "settlement.adjusted",
          `contract:${contractId}`,
          {
            adjustmentId: id,
            engineerId: input.engineerId,
            month: input.month,
            amountYen: input.amountYen,
            reason: input.reason,
          },
          { trx, tenantId: c.tenant_id },
        );
      });
      return service.settle(actor, contractId, input.month);
    },
  };
  return service;
}

export type SettlementService = ReturnType<typeof createSettlementService>;
