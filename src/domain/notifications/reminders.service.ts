// Reminders the schedules send: last week's timesheet to submit, offers about to expire, vetting about
// to run out. Each is told once (a dedupe key per thing reminded of), however often the job runs.
import type { Kysely } from "kysely";
import type { Database } from "../../db/schema.ts";
import { type Text, text } from "../../kernel/messages.ts";
import type { GuideService } from "../offices/guide.service.ts";
import { addDays, tokyoDay, weekOf } from "../timesheets/time.ts";
import type { NotificationService } from "./notifications.service.ts";

export function createReminderService({
  db,
  notifications,
  guides,
  now = () => new Date(),
}: {
  db: Kysely<Database>;
  notifications: NotificationService;
  guides?: GuideService;
  now?: () => Date;
}) {
  return {
    /**
     * Monday: engineers whose sheets of last week are still draft or rejected, and engineers who held an
     * assignment on a contract last week but recorded no time on it at all. Resolves to how many
     * notifications were written now: a run after the first tells nobody again and resolves to 0.
     */
    async timesheets(): Promise<number> {
      const lastWeek = addDays(weekOf(tokyoDay(now().getTime())), -7);
      const sheets = await db
        .selectFrom("timesheet")
        .innerJoin("contract", "contract.id", "timesheet.contract_id")
        .select(["timesheet.id", "timesheet.engineer_id", "timesheet.state", "contract.title"])
        .where("timesheet.week_start", "=", lastWeek)
        .where("timesheet.state", "in", ["draft", "rejected"])
        .execute();
      /** One reminder of last week's sheet on a contract; resolves to how many were told (0: told before). */
      const remind = (engineerId: string, contract: string, body: Text | "", subject: string, dedupeKey: string) =>
        notifications.notify(db, {
          userIds: [engineerId],
          tenantId: null,
          kind: "timesheet.reminder",
          title: text("notice.timesheet.remind", { week: lastWeek, contract }),
          body,
          subject,
          dedupeKey,
        });
      let told = 0;
      for (const s of sheets) {
        const body = s.state === "rejected" ? text("notice.timesheet.remindRejected") : "";
        told += await remind(s.engineer_id, s.title, body, `timesheet:${s.id}`, `timesheet.reminder:${s.id}`);
      }
      // The week in Tokyo, as the instants assignments are stored in.
      const from = new Date(`${lastWeek}T00:00:00+09:00`).toISOString();
      const to = new Date(`${addDays(lastWeek, 7)}T00:00:00+09:00`).toISOString();
      const missing = await db
        .selectFrom("assignment")
        .innerJoin("work_package", "work_package.id", "assignment.package_id")
        .innerJoin("contract", "contract.id", "work_package.contract_id")
        .select(["assignment.engineer_id", "contract.id as contract_id", "contract.title", "contract.tenant_id"])
        .distinct()
        .where("assignment.started_at", "<", to)
        .where((eb) => eb.or([eb("assignment.ended_at", "is", null), eb("assignment.ended_at", ">=", from)]))
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom("timesheet")
                .select("timesheet.id")
                .whereRef("timesheet.engineer_id", "=", "assignment.engineer_id")
                .whereRef("timesheet.contract_id", "=", "contract.id")
                .where("timesheet.week_start", "=", lastWeek),
            ),
          ),
        )
        .execute();
      for (const m of missing) {
        const key = `timesheet.missing:${m.engineer_id}:${m.contract_id}:${lastWeek}`;
        const body = text("notice.timesheet.remindMissing");
        told += await remind(m.engineer_id, m.title, body, `contract:${m.contract_id}`, key);
      }
      return told;
    },

    /** Offers that expire within `hours` hours, to the engineer they were made to; resolves to how many were told now. */
    async offers(hours = 24): Promise<number> {
      const at = now();
      const rows = await db
        .selectFrom("offer")
        .innerJoin("work_package", "work_package.id", "offer.package_id")
        .select(["offer.id", "offer.engineer_id", "offer.expires_at", "work_package.wbs_id", "work_package.title"])
        .where("offer.state", "=", "pending")
        .where("offer.expires_at", ">", at.toISOString())
        .where("offer.expires_at", "<=", new Date(at.getTime() + hours * 3_600_000).toISOString())
        .execute();
      let told = 0;
      for (const o of rows) {
        told += await notifications.notify(db, {
          userIds: [o.engineer_id],
          tenantId: null,
          kind: "offer.expiring",
          title: text("notice.offer.expiring", { name: `${o.wbs_id} ${o.title}` }),
          body: text("notice.answerBy", { deadline: { moment: o.expires_at } }),
          subject: `offer:${o.id}`,
          dedupeKey: `offer.expiring:${o.id}`,
        });
      }
      return told;
    },

    /** Vetting records that run out within `days` days, to the engineer and the operators; resolves to how many notifications were written now. */
    async vetting(days = 30): Promise<number> {
      const today = tokyoDay(now().getTime());
      const rows = await db
        .selectFrom("vetting_record")
        .select(["id", "user_id", "kind", "expires_on"])
        .where("expired_at", "is", null)
        .where("expires_on", ">=", today)
        .where("expires_on", "<=", addDays(today, days))
        .execute();
      if (rows.length === 0) return 0;
      const operators = (await db.selectFrom("user").select("id").where("role", "=", "operator").execute()).map(
        (u) => u.id,
      );
      let told = 0;
      for (const r of rows) {
        told += await notifications.notify(db, {
          userIds: [r.user_id, ...operators],
          tenantId: null,
          kind: "vetting.expiring",
          title: text("notice.vetting.expiring", { kind: r.kind, date: r.expires_on }),
          body: text("notice.vetting.expiringBody"),
          subject: `engineer:${r.user_id}`,
          dedupeKey: `vetting.expiring:${r.id}`,
        });
      }
      return told;
    },

    /**
     * Life-guide sections last reviewed more than a year ago, to the operators of their office (every operator
     * when the office has none). Told once per review: reviewing the section again starts a new year.
     */
    async guides(): Promise<number> {
      if (!guides) return 0;
      const stale = await guides.stale();
      if (stale.length === 0) return 0;
      let told = 0;
      for (const s of stale) {
        told += await notifications.notify(db, {
          userIds: s.operators,
          tenantId: null,
          kind: "guide.stale",
          title: text("notice.guide.stale", { office: s.officeName, section: text(`notice.guide.${s.section}`) }),
          body: text("notice.guide.staleBody", { date: s.reviewedAt.slice(0, 10) }),
          subject: `office:${s.officeId}`,
          dedupeKey: `guide.stale:${s.officeId}:${s.section}:${s.reviewedAt}`,
        });
      }
      return told;
    },
  };
}

export type ReminderService = ReturnType<typeof createReminderService>;
