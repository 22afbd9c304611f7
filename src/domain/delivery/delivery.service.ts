// 請負 delivery and inspection (検収): the engineer delivers a reviewed package, which starts the
// payment clock (at most 60 days, Subcontract Act); the contractor accepts it or sends it back with reasons.
import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import type { Database, DeliveryTable } from "../../db/schema.ts";
import type { Actor } from "../../kernel/actor.ts";
import { fail, forbidden, invalidField, notFound } from "../../kernel/errors.ts";
import { stateCode, type Text, text } from "../../kernel/messages.ts";
import type { AuditService } from "../audit/audit.service.ts";
import { visibleContracts, visiblePackage } from "../contracts/contracts.service.ts";
import type { NotificationService } from "../notifications/notifications.service.ts";
import type { PackageService } from "../packages/packages.service.ts";
import { addDays, tokyoDay } from "../timesheets/time.ts";

/** The Subcontract Act's limit: payment within 60 days of receiving the deliverable. */
export const MAX_PAYMENT_DAYS = 60;

/**
 * The last day payment may be made for a delivery at `deliveredAt`: the contract's terms, never more
 * than 60 days. The day of receipt counts as the first day (起算), as the Fair Trade Commission reads it.
 */
export function paymentDueOn(deliveredAt: Date, termsDays: number | null | undefined): string {
  const days = Math.min(termsDays ?? MAX_PAYMENT_DAYS, MAX_PAYMENT_DAYS);
  return addDays(tokyoDay(deliveredAt.getTime()), days - 1);
}

/** Whether a package may be delivered now; the forge will require its pull request to be merged. */
export type DeliveryGate = (packageId: string) => Promise<{ allowed: true } | { allowed: false; reason: Text }>;

/** Until the forge lands every reviewed package may be delivered; it will pass a gate that checks the merge. */
export const allowAllDeliveries: DeliveryGate = async () => ({ allowed: true });

export interface Delivery {
  id: string;
  packageId: string;
  engineerId: string;
  note: string;
  deliveredAt: string;
  paymentDueOn: string;
  decision: "accepted" | "rejected" | null;
  reasons: string[];
  /** 検収: when the contractor accepted it. */
  acceptedAt: string | null;
  decidedAt: string | null;
  decidedBy: string | null;
  /** The Tokyo day the contractor recorded the payment; null until paid. */
  paidOn: string | null;
}

/** An accepted delivery as the contractor's list of payments shows it: what, under which contract, by whom. */
export interface AcceptedDelivery extends Delivery {
  wbsId: string;
  title: string;
  contractId: string;
  contractTitle: string;
  engineerName: string;
}

const toDelivery = (r: DeliveryTable): Delivery => ({
  id: r.id,
  packageId: r.package_id,
  engineerId: r.engineer_id,
  note: r.note,
  deliveredAt: r.delivered_at,
  paymentDueOn: r.payment_due_on,
  decision: r.decision as Delivery["decision"],
  reasons: r.reasons ? (JSON.parse(r.reasons) as string[]) : [],
  acceptedAt: r.decision === "accepted" ? r.decided_at : null,
  decidedAt: r.decided_at,
  decidedBy: r.decided_by,
  paidOn: r.paid_on ?? null,
});

export function createDeliveryService({
  db,
  audit,
  packages,
  notifications,
  deliveryGate = allowAllDeliveries,
  now = () => new Date(),
}: {
  db: Kysely<Database>;
  audit: AuditService;
  packages: PackageService;
  notifications: NotificationService;
  /** Consulted before every delivery; see `DeliveryGate`. */
  deliveryGate?: DeliveryGate;
  now?: () => Date;
}) {
  const system: Actor = { kind: "system", name: "deliveries" };

  /** The package with its contract's terms, if `actor` sees its contract; else NOT_FOUND. */
  function packageRow(actor: Actor, packageId: string) {
    return visiblePackage(db, actor, packageId, (q) =>
      q.select([
        "work_package.id",
        "work_package.state",
        "work_package.tenant_id",
        "work_package.contract_id",
        "work_package.wbs_id",
        "work_package.title",
        "contract.type",
        "contract.payment_terms_days",
      ]),
    );
  }

  /** The package for a contractor of its tenant; others get NOT_FOUND or FORBIDDEN. */
  async function forContractor(actor: Actor, packageId: string) {
    const pkg = await packageRow(actor, packageId);
    if (actor.kind === "user" && actor.role !== "contractor") throw forbidden(text("deliveries.contractorInspects"));
    return pkg;
  }

  async function contractStaff(contractId: string, tenantId: string): Promise<string[]> {
    const leads = await db
      .selectFrom("contract_lead")
      .select("user_id")
      .where("contract_id", "=", contractId)
      .execute();
    const contractors = await db
      .selectFrom("user")
      .select("id")
      .where("tenantId", "=", tenantId)
      .where("role", "=", "contractor")
      .execute();
    return [...leads.map((l) => l.user_id), ...contractors.map((c) => c.id)];
  }

  async function decide(
    actor: Actor,
    packageId: string,
    decision: "accepted" | "rejected",
    reasons: string[],
  ): Promise<Delivery> {
    const pkg = await forContractor(actor, packageId);
    if (pkg.state !== "delivered") {
      throw fail("INVALID_STATE", text("deliveries.notDelivered", { state: stateCode(pkg.state) }), {
        current: pkg.state,
      });
    }
    const delivery = await db.transaction().execute(async (trx) => {
      const open = await trx
        .selectFrom("delivery")
        .selectAll()
        .where("package_id", "=", packageId)
        .where("decision", "is", null)
        .orderBy("delivered_at", "desc")
        .executeTakeFirst();
      if (!open) throw fail("INVALID_STATE", text("deliveries.noneAwaiting"));
      const at = now().toISOString();
      const by = actor.kind === "user" ? actor.userId : `system:${actor.name}`;
      await trx
        .updateTable("delivery")
        .set({ decision, reasons: reasons.length ? JSON.stringify(reasons) : null, decided_at: at, decided_by: by })
        .where("id", "=", open.id)
        .execute();
      // Rework goes back to in_progress (lifecycle: delivered → in_progress); acceptance is final.
      const to = decision === "accepted" ? "accepted" : "in_progress";
      await packages.transition(actor, packageId, to, {
        trx,
        from: "delivered",
        reason: decision === "accepted" ? "検収済み" : `差戻し: ${reasons.join("; ")}`,
      });
      await audit.record(
        actor,
        decision === "accepted" ? "delivery.accepted" : "delivery.rejected",
        `package:${packageId}`,
        { deliveryId: open.id, reasons, paymentDueOn: open.payment_due_on },
        { trx, tenantId: pkg.tenant_id },
      );
      await notifications.notify(trx, {
        userIds: [open.engineer_id],
        tenantId: pkg.tenant_id,
        kind: `delivery.${decision}`,
        title: text(`notice.delivery.${decision}`, { name: `${pkg.wbs_id} ${pkg.title}` }),
        body: reasons.map((r) => `・${r}`).join("\n"),
        subject: `package:${packageId}`,
        dedupeKey: `delivery.${decision}:${open.id}`,
        webhook: { event: `delivery.${decision}`, data: { packageId, deliveryId: open.id, reasons } },
      });
      return toDelivery({ ...open, decision, reasons: JSON.stringify(reasons), decided_at: at, decided_by: by });
    });
    void notifications.dispatch();
    return delivery;
  }

  const service = {
    /** The assigned engineer delivers a package in review (請負 only); the payment clock starts now. */
    async deliver(actor: Actor, packageId: string, note = ""): Promise<Delivery> {
      if (actor.kind !== "user" || actor.role !== "engineer") throw forbidden(text("deliveries.engineerDelivers"));
      const assignment = await db
        .selectFrom("assignment")
        .select("id")
        .where("package_id", "=", packageId)
        .where("engineer_id", "=", actor.userId)
        .where("ended_at", "is", null)
        .executeTakeFirst();
      if (!assignment) throw notFound("package");
      const pkg = await packageRow(system, packageId);
      if (pkg.type !== "ukeoi") throw fail("INVALID_STATE", text("deliveries.juninin"));
      if (pkg.state !== "in_review") {
        throw fail("INVALID_STATE", text("deliveries.notInReview", { state: stateCode(pkg.state) }), {
          current: pkg.state,
        });
      }
      const gate = await deliveryGate(packageId);
      if (!gate.allowed)
        throw fail("INVALID_STATE", text("deliveries.notYet", { reason: gate.reason }), { current: pkg.state });
      const at = now();
      const row: DeliveryTable = {
        id: randomUUID(),
        package_id: packageId,
        contract_id: pkg.contract_id,
        tenant_id: pkg.tenant_id,
        engineer_id: actor.userId,
        note,
        delivered_at: at.toISOString(),
        payment_due_on: paymentDueOn(at, pkg.payment_terms_days),
        decision: null,
        reasons: null,
        decided_at: null,
        decided_by: null,
      };
      const staff = await contractStaff(pkg.contract_id, pkg.tenant_id);
      await db.transaction().execute(async (trx) => {
        await packages.transition(actor, packageId, "delivered", { trx, from: "in_review", reason: "納品" });
        await trx.insertInto("delivery").values(row).execute();
        await audit.record(
          actor,
          "delivery.delivered",
          `package:${packageId}`,
          { deliveryId: row.id, deliveredAt: row.delivered_at, paymentDueOn: row.payment_due_on },
          { trx, tenantId: pkg.tenant_id },
        );
        await notifications.notify(trx, {
          userIds: staff,
          tenantId: pkg.tenant_id,
          kind: "delivery.delivered",
          title: text("notice.delivery.delivered", { name: `${pkg.wbs_id} ${pkg.title}` }),
          body: text("notice.paymentDue", { date: row.payment_due_on }),
          subject: `package:${packageId}`,
          dedupeKey: `delivery.delivered:${row.id}`,
          webhook: {
            event: "delivery.delivered",
            data: { packageId, deliveryId: row.id, paymentDueOn: row.payment_due_on },
          },
        });
      });
      void notifications.dispatch();
      return toDelivery(row);
    },

    /** 検収: the contractor accepts the delivery; the package is accepted. */
    accept: (actor: Actor, packageId: string) => decide(actor, packageId, "accepted", []),

    /** The contractor sends the delivery back with reasons; the package returns to in_progress. */
    reject: (actor: Actor, packageId: string, reasons: string[]) => decide(actor, packageId, "rejected", reasons),

    /** A package's deliveries, newest first: for its engineer and the people who see its contract. */
    async list(actor: Actor, packageId: string): Promise<Delivery[]> {
      if (actor.kind === "user" && actor.role === "engineer") {
        const mine = await db
          .selectFrom("assignment")
          .select("id")
          .where("package_id", "=", packageId)
          .where("engineer_id", "=", actor.userId)
          .executeTakeFirst();
        if (!mine) throw notFound("package");
      } else await packageRow(actor, packageId);
      const rows = await db
        .selectFrom("delivery")
        .selectAll()
        .where("package_id", "=", packageId)
        .orderBy("delivered_at", "desc")
        .execute();
      return rows.map(toDelivery);
    },

    /**
     * The accepted deliveries (検収済み) of the contracts the caller sees, with their payment dates: those not
     * yet paid first, by the day they fall due, then the paid ones, latest payment first.
     */
    async accepted(actor: Actor): Promise<AcceptedDelivery[]> {
      const rows = await visibleContracts(db, actor)
        .innerJoin("delivery", "delivery.contract_id", "contract.id")
        .innerJoin("work_package", "work_package.id", "delivery.package_id")
        .innerJoin("user", "user.id", "delivery.engineer_id")
        .selectAll("delivery")
        .select([
          "work_package.wbs_id",
          "work_package.title",
          "contract.title as contract_title",
          "user.name as engineer_name",
        ])
        .where("delivery.decision", "=", "accepted")
        .execute();
      const list = rows.map((r) => ({
        ...toDelivery(r),
        wbsId: r.wbs_id,
        title: r.title,
        contractId: r.contract_id,
        contractTitle: r.contract_title,
        engineerName: r.engineer_name,
      }));
      const unpaid = list.filter((d) => d.paidOn === null).sort((a, b) => a.paymentDueOn.localeCompare(b.paymentDueOn));
      const paid = list.filter((d) => d.paidOn !== null).sort((a, b) => (b.paidOn ?? "").localeCompare(a.paidOn ?? ""));
      return [...unpaid, ...paid];
    },

    /** A contractor records the day an accepted delivery was paid (a Tokyo day, not in the future). */
    async markPaid(actor: Actor, deliveryId: string, paidOn: string): Promise<Delivery> {
      const row = await db.selectFrom("delivery").selectAll().where("id", "=", deliveryId).executeTakeFirst();
      if (!row) throw notFound("delivery");
      await forContractor(actor, row.package_id);
      if (!/^\d{4}-\d{2}-\d{2}$/.test(paidOn) || Number.isNaN(Date.parse(`${paidOn}T00:00:00Z`))) {
        throw invalidField("paidOn", text("deliveries.paidOnDate"));
      }
      if (paidOn > tokyoDay(now().getTime())) throw invalidField("paidOn", text("deliveries.paidOnFuture"));
      if (paidOn < tokyoDay(Date.parse(row.delivered_at))) {
        throw invalidField("paidOn", text("deliveries.paidOnBeforeDelivery"));
      }
      if (row.decision !== "accepted") throw fail("INVALID_STATE", text("deliveries.paidNotAccepted"));
      if (row.paid_on) throw fail("INVALID_STATE", text("deliveries.alreadyPaid", { day: row.paid_on }));
      const by = actor.kind === "user" ? actor.userId : `system:${actor.name}`;
      await db.transaction().execute(async (trx) => {
        const updated = await trx
          .updateTable("delivery")
          .set({ paid_on: paidOn, paid_by: by })
          .where("id", "=", deliveryId)
          .where("paid_on", "is", null)
          .executeTakeFirst();
        if (Number(updated.numUpdatedRows) !== 1) {
          throw fail("INVALID_STATE", text("deliveries.alreadyPaid", { day: paidOn }));
        }
        await audit.record(
          actor,
          "delivery.paid",
          `package:${row.package_id}`,
          { deliveryId, paidOn, paymentDueOn: row.payment_due_on, late: paidOn > row.payment_due_on },
          { trx, tenantId: row.tenant_id },
        );
      });
      return toDelivery({ ...row, paid_on: paidOn, paid_by: by });
    },

    /** Deliveries whose payment falls due within `days` days, for the reminder schedule. */
    async dueSoon(days: number) {
      const today = tokyoDay(now().getTime());
      return db
        .selectFrom("delivery")
        .innerJoin("work_package", "work_package.id", "delivery.package_id")
        .selectAll("delivery")
        .select(["work_package.wbs_id", "work_package.title"])
        .where("delivery.payment_due_on", ">=", today)
        .where("delivery.payment_due_on", "<=", addDays(today, days))
        .where((eb) => eb.or([eb("delivery.decision", "is", null), eb("delivery.decision", "=", "accepted")]))
        .where("delivery.paid_on", "is", null)
        .execute();
    },

    /** Tells the tenant's contractors of payments due within `days` days (once per delivery). */
    async remindPayments(days = 7): Promise<number> {
      const due = await service.dueSoon(days);
      for (const d of due) {
        const staff = await contractStaff(d.contract_id, d.tenant_id);
        await db.transaction().execute((trx) =>
          notifications.notify(trx, {
            userIds: staff,
            tenantId: d.tenant_id,
            kind: "payment.due_soon",
            title: text("notice.payment.dueSoon", { name: `${d.wbs_id} ${d.title}`, date: d.payment_due_on }),
            body: text("notice.payment.dueSoonBody"),
            subject: `package:${d.package_id}`,
            dedupeKey: `payment.due_soon:${d.id}`,
            webhook: {
              event: "payment.due_soon",
              data: { packageId: d.package_id, deliveryId: d.id, paymentDueOn: d.payment_due_on },
            },
          }),
        );
      }
      void notifications.dispatch();
      return due.length;
    },
  };
  return service;
}

export type DeliveryService = ReturnType<typeof createDeliveryService>;
