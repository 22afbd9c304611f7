// The programme report: what an office's engineers did in a month, by tenant, for the office and the chambers
// that fund it. Counts and sums only: no engineer is named, so it shows nothing its operators do not already see.
import type { Kysely } from "kysely";
import type { Database } from "../../db/schema.ts";
import type { Actor } from "../../kernel/actor.ts";
import { toCsv } from "../../kernel/csv.ts";
import { oneSheetXlsx } from "../../kernel/xlsx.ts";
import { checkMonth } from "../timesheets/month-close.ts";
import type { Settlement } from "../timesheets/settlements.service.ts";
import { monthRange, roundMinutes, tokyoMidnight } from "../timesheets/time.ts";
import { partsOf } from "../timesheets/timesheets.service.ts";
import type { OfficeService } from "./offices.service.ts";

/** One tenant's month with the office's engineers. */
export interface ProgrammeFigures {
  /** Engineers who held an assignment of the tenant's during the month, or recorded hours in it. */
  engineersActive: number;
  /** Deliveries made in the month (請負). */
  packagesDelivered: number;
  /** Deliveries accepted (検収) in the month. */
  packagesAccepted: number;
  /** Hours of approved weeks worked in the month, rounded as billed. */
  hoursApproved: number;
  /** Yen paid to the engineers: 請負 deliveries paid in the month (estimate × hourly rate), 準委任 months closed. */
  yenPaid: number;
}

export interface ProgrammeReport {
  officeId: string;
  officeName: string;
  month: string;
  /** The office's engineers now. */
  engineers: number;
  /** Engineers who joined the office in the month. */
  newEngineers: number;
  tenants: (ProgrammeFigures & { tenantId: string; tenant: string })[];
  /** Across tenants; an engineer active for two tenants counts once. */
  totals: ProgrammeFigures;
}

const round2 = (n: number) => Math.round(n * 100) / 100;

export function createProgrammeReportService({ db, offices }: { db: Kysely<Database>; offices: OfficeService }) {
  return {
    /** The office's month (its own operators, or an office admin); VALIDATION naming `month` for a bad month. */
    async report(actor: Actor, officeId: string, month: string): Promise<ProgrammeReport> {
      checkMonth(month);
      await offices.requireManager(actor, officeId);
      const office = await offices.get(actor, officeId);
      const { from, to } = monthRange(month);
      const fromIso = new Date(tokyoMidnight(from)).toISOString();
      const toIso = new Date(tokyoMidnight(to)).toISOString();

      const members = await db
        .selectFrom("office_member")
        .innerJoin("user", "user.id", "office_member.user_id")
        .select(["office_member.user_id", "office_member.since"])
        .where("office_member.office_id", "=", officeId)
        .where("user.role", "=", "engineer")
        .execute();
      const ids = members.map((m) => m.user_id);
      const report: ProgrammeReport = {
        officeId,
        officeName: office.name,
        month,
        engineers: ids.length,
        newEngineers: members.filter((m) => m.since >= fromIso && m.since < toIso).length,
        tenants: [],
        totals: { engineersActive: 0, packagesDelivered: 0, packagesAccepted: 0, hoursApproved: 0, yenPaid: 0 },
      };
      if (ids.length === 0) return report;

      const byTenant = new Map<string, ProgrammeFigures & { active: Set<string> }>();
      const of = (tenantId: string) => {
        let row = byTenant.get(tenantId);
        if (!row) {
          row = {
            engineersActive: 0,
            packagesDelivered: 0,
            packagesAccepted: 0,
            hoursApproved: 0,
            yenPaid: 0,
            active: new Set(),
          };
          byTenant.set(tenantId, row);
        }
        return row;
      };

      const [assignments, deliveries, entries, sheets, closes] = await Promise.all([
        db
          .selectFrom("assignment")
          .innerJoin("work_package", "work_package.id", "assignment.package_id")
          .select(["assignment.engineer_id", "work_package.tenant_id"])
          .where("assignment.engineer_id", "in", ids)
          .where("assignment.started_at", "<", toIso)
          .where((eb) => eb.or([eb("assignment.ended_at", "is", null), eb("assignment.ended_at", ">=", fromIso)]))
          .execute(),
        db
          .selectFrom("delivery")
          .innerJoin("work_package", "work_package.id", "delivery.package_id")
          .innerJoin("contract", "contract.id", "delivery.contract_id")
          .select([
            "delivery.tenant_id",
            "delivery.delivered_at",
            "delivery.decision",
            "delivery.decided_at",
            "delivery.paid_on",
            "work_package.estimate_hours",
            "contract.hourly_rate_yen",
          ])
          .where("delivery.engineer_id", "in", ids)
          .execute(),
        db
          .selectFrom("time_entry")
          .selectAll()
          .where("engineer_id", "in", ids)
          .where((eb) =>
            eb.or([
              eb.and([eb("start_at", "<", toIso), eb("end_at", ">", fromIso)]),
              eb.and([eb("work_date", ">=", from), eb("work_date", "<", to)]),
            ]),
          )
          .execute(),
        db
          .selectFrom("timesheet")
          .select(["engineer_id", "contract_id", "week_start"])
          .where("engineer_id", "in", ids)
          .where("state", "=", "approved")
          .execute(),
        db.selectFrom("settlement_close").select(["tenant_id", "settlements"]).where("month", "=", month).execute(),
      ]);

      for (const a of assignments) of(a.tenant_id).active.add(a.engineer_id);
      for (const d of deliveries) {
        const row = of(d.tenant_id);
        if (d.delivered_at >= fromIso && d.delivered_at < toIso) row.packagesDelivered++;
        if (d.decision === "accepted" && d.decided_at && d.decided_at >= fromIso && d.decided_at < toIso) {
          row.packagesAccepted++;
        }
        if (d.paid_on && d.paid_on >= from && d.paid_on < to && d.hourly_rate_yen != null) {
          row.yenPaid += Math.round(Number(d.estimate_hours) * Number(d.hourly_rate_yen));
        }
      }
      const approved = new Set(sheets.map((s) => `${s.engineer_id}|${s.contract_id}|${s.week_start}`));
      for (const e of entries) {
        for (const p of partsOf(e)) {
          if (p.day < from || p.day >= to) continue;
          const row = of(e.tenant_id);
          row.active.add(e.engineer_id);
          if (approved.has(`${e.engineer_id}|${e.contract_id}|${p.week}`)) {
            row.hoursApproved += roundMinutes(p.minutes, e.rounding_rule) / 60;
          }
        }
      }
      const memberIds = new Set(ids);
      for (const c of closes) {
        for (const s of JSON.parse(c.settlements) as Settlement[]) {
          if (memberIds.has(s.engineerId)) of(c.tenant_id).yenPaid += s.amountYen;
        }
      }

      // Tenants the office's engineers did nothing for in the month are left out.
      const shown = [...byTenant].filter(
        ([, r]) => r.active.size || r.packagesDelivered || r.packagesAccepted || r.hoursApproved || r.yenPaid,
      );
      const names = new Map(
        shown.length
          ? (
              await db
                .selectFrom("tenant")
                .select(["id", "name"])
                .where(
                  "id",
                  "in",
                  shown.map(([id]) => id),
                )
                .execute()
            ).map((t) => [t.id, t.name])
          : [],
      );
      const everyone = new Set<string>();
      for (const [tenantId, r] of shown) {
        for (const id of r.active) everyone.add(id);
        const figures: ProgrammeFigures = {
          engineersActive: r.active.size,
          packagesDelivered: r.packagesDelivered,
          packagesAccepted: r.packagesAccepted,
          hoursApproved: round2(r.hoursApproved),
          yenPaid: r.yenPaid,
        };
        report.tenants.push({ tenantId, tenant: names.get(tenantId) ?? tenantId, ...figures });
        report.totals.packagesDelivered += figures.packagesDelivered;
        report.totals.packagesAccepted += figures.packagesAccepted;
        report.totals.hoursApproved = round2(report.totals.hoursApproved + figures.hoursApproved);
        report.totals.yenPaid += figures.yenPaid;
      }
      report.totals.engineersActive = everyone.size;
      report.tenants.sort((a, b) => b.hoursApproved - a.hoursApproved || a.tenant.localeCompare(b.tenant, "ja"));
      return report;
    },
  };
}

export type ProgrammeReportService = ReturnType<typeof createProgrammeReportService>;

export const PROGRAMME_HEADERS = [
  "テナント",
  "稼働エンジニア数",
  "納品数",
  "検収数",
  "承認済み時間（時間・10進）",
  "支払額（円）",
] as const;

/** The report's table, one row per tenant then the totals, in PROGRAMME_HEADERS' order. */
export function programmeRows(r: ProgrammeReport): (string | number)[][] {
  const row = (name: string, f: ProgrammeFigures) => [
    name,
    f.engineersActive,
    f.packagesDelivered,
    f.packagesAccepted,
    f.hoursApproved,
    f.yenPaid,
  ];
  return [...r.tenants.map((t) => row(t.tenant, t)), row("合計", r.totals)];
}

/** What a file says above the table: the office, the month, its engineers now and those new in the month. */
const preamble = (r: ProgrammeReport) => [
  ["サテライトオフィス", r.officeName],
  ["対象月", r.month],
  ["所属エンジニア数", r.engineers],
  ["新規エンジニア数", r.newEngineers],
];

/** The report as CSV (UTF-8 with a BOM, CRLF), as the settlement files are. */
export function programmeCsv(r: ProgrammeReport): string {
  return toCsv([...preamble(r), [], [...PROGRAMME_HEADERS], ...programmeRows(r)]);
}

/** The report as an xlsx workbook, on one sheet 実績. */
export function programmeXlsx(r: ProgrammeReport): Promise<Buffer> {
  return oneSheetXlsx("実績", (sheet) => {
    for (const line of preamble(r)) sheet.addRow(line);
    sheet.addRow([]);
    sheet.addRow([...PROGRAMME_HEADERS]).font = { bold: true };
    for (const row of programmeRows(r)) sheet.addRow(row);
    sheet.columns.forEach((col, i) => {
      col.width = i === 0 ? 36 : 18;
    });
    sheet.getColumn(6).numFmt = "#,##0";
  });
}
