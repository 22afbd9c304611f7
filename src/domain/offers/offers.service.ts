// Offers and assignments: a lead offers a package to an eligible engineer, who accepts or declines;
// eligibility and capacity are checked at both steps; offers expire; withdrawal frees the capacity.
import { randomUUID } from "node:crypto";
import type { Kysely, Transaction } from "kysely";
import type { Database, Executor, OfferTable } from "../../db/schema.ts";
import type { Actor } from "../../kernel/actor.ts";
import { fail, forbidden, notFound } from "../../kernel/errors.ts";
import { codeOf, stateCode, text } from "../../kernel/messages.ts";
import type { AuditService } from "../audit/audit.service.ts";
import { contractPackages, type OfficeRule } from "../contracts/contracts.service.ts";
import { tokyoDate } from "../dates.ts";
import { type EngineerService, lockEngineerProfile } from "../engineers/engineers.service.ts";
import {
  type Confidentiality,
  describeIneligibility,
  type Ineligibility,
  ineligibilities,
  ineligibilityText,
  type MatchOffices,
  type MatchPackage,
  requiredVetting,
  type Suggestion,
  suggest,
} from "../matching/matching.ts";
import { noStepNotices, type StepNotices } from "../notifications/step-notices.ts";
import type { PackageService } from "../packages/packages.service.ts";

export type OfferState = "pending" | "accepted" | "declined" | "expired" | "withdrawn";

/** Package states whose assignment a lead may withdraw: once delivered, acceptance or rejection decides. */
const withdrawable: readonly string[] = ["assigned", "in_progress", "changes_requested", "in_review"];

export interface Offer {
  id: string;
  packageId: string;
  engineerId: string;
  offeredBy: string;
  state: OfferState;
  reason: string | null;
  createdAt: string;
  expiresAt: string;
  respondedAt: string | null;
  /** The engineer's name, where the offer is listed (offer histories name who was asked). */
  engineerName?: string;
}

export interface Suggestions {
  packageId: string;
  weeklyHours: number;
  ranked: Suggestion[];
  /** `why` in words; `rules` the same reasons with their figures, for a page to say them in its own language. */
  ineligible: { engineerId: string; name: string; why: string[]; rules: Ineligibility[] }[];
}

const toOffer = (r: OfferTable): Offer => ({
  id: r.id,
  packageId: r.package_id,
  engineerId: r.engineer_id,
  offeredBy: r.offered_by,
  state: r.state as OfferState,
  reason: r.reason,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  respondedAt: r.responded_at,
});

const DAY_MS = 86_400_000;

/** The weekly load of a package: its hours spread over the weeks left in its contract (at least one). */
export function weeklyHoursOf(estimateHours: number, periodStart: string, periodEnd: string, today: string): number {
  const from = Date.parse(periodStart > today ? periodStart : today);
  const weeks = Math.max(1, Math.ceil((Date.parse(periodEnd) + DAY_MS - from) / (7 * DAY_MS)));
  return Math.round((estimateHours / weeks) * 100) / 100;
}

/** Why an assignment's pull requests were closed, as their audit events and GitHub comments say. */
const withdrawnBecause = (reason: string) => `assignment withdrawn: ${reason}`;
const cancelledBecause = (reason: string | null) => (reason ? `package cancelled: ${reason}` : "package cancelled");

export function createOfferService({
  db,
  audit,
  engineers,
  packages,
  offerTtlHours,
  onAssigned = async () => {},
  onAssignmentEnding = async () => {},
  onAssignmentEnded = async () => {},
  onOffered = () => {},
  notices = noStepNotices,
  now = () => new Date(),
}: {
  db: Kysely<Database>;
  audit: AuditService;
  engineers: EngineerService;
  packages: PackageService;
  offerTtlHours: number;
  /** Tells the engineer of an offer made or taken back, and the leads of the answer. */
  notices?: StepNotices;
  /** Called after an acceptance has committed, with the new assignment (the workspace is made there). */
  onAssigned?: (assignmentId: string) => Promise<unknown>;
  /**
   * Called in the transaction that ends an assignment (a withdrawal, the package cancelled), with why: what
   * must end with it (the package's open pull requests on this machine) ends there too.
   */
  onAssignmentEnding?: (trx: Transaction<Database>, actor: Actor, packageId: string, why: string) => Promise<unknown>;
  /**
   * Called after an assignment's end (or a package's cancellation) has committed, with why: its workspace is
   * stopped there, and pull requests kept elsewhere (GitHub) closed. Must not throw.
   */
  onAssignmentEnded?: (actor: Actor, packageId: string, why: string) => Promise<unknown>;
  /** Called after an offer has committed, to get the package ready ahead of an acceptance; must not throw. */
  onOffered?: (packageId: string) => void;
  now?: () => Date;
}) {
  const system: Actor = { kind: "system", name: "offers" };

  /** A package as the matching engine sees it, read through the caller's visibility. */
  async function matchPackage(
    ex: Executor,
    packageId: string,
  ): Promise<MatchPackage & { state: string; tenantId: string; contractId: string }> {
    const row = await ex
      .selectFrom("work_package")
      .innerJoin("contract", "contract.id", "work_package.contract_id")
      .select([
        "work_package.id",
        "work_package.state",
        "work_package.skills",
        "work_package.estimate_hours",
        "work_package.contract_id",
        "work_package.tenant_id",
        "contract.confidentiality",
        "contract.period_start",
        "contract.period_end",
        "contract.office_rule",
      ])
      .where("work_package.id", "=", packageId)
      .executeTakeFirst();
    if (!row) throw notFound("package");
    // Upstream: every package this one waits for, directly or not.
    const edges = await ex
      .selectFrom("package_dependency")
      .innerJoin("work_package", "work_package.id", "package_dependency.package_id")
      .select(["package_dependency.package_id", "package_dependency.depends_on_id"])
      .where("work_package.contract_id", "=", row.contract_id)
      .execute();
    const deps = new Map<string, string[]>();
    for (const e of edges) deps.set(e.package_id, [...(deps.get(e.package_id) ?? []), e.depends_on_id]);
    const upstream = new Set<string>();
    const stack = [...(deps.get(packageId) ?? [])];
    while (stack.length) {
      const id = stack.pop() as string;
      if (upstream.has(id)) continue;
      upstream.add(id);
      stack.push(...(deps.get(id) ?? []));
    }
    const labels = upstream.size
      ? await ex
          .selectFrom("work_package")
          .select(["id", "wbs_id"])
          .where("id", "in", [...upstream])
          .execute()
      : [];
    const day = tokyoDate(now());
    return {
      id: row.id,
      state: row.state,
      tenantId: row.tenant_id,
      contractId: row.contract_id,
      requiredSkills: JSON.parse(row.skills) as { skill: string; level: number }[],
      requiredVetting: requiredVetting(row.confidentiality as Confidentiality),
      plannedEnd: row.period_end,
      // Dates as text: the later of the start and today.
      plannedStart: [row.period_start, day].sort()[1] as string,
      weeklyHours: weeklyHoursOf(Number(row.estimate_hours), row.period_start, row.period_end, day),
      estimateHours: Number(row.estimate_hours),
      upstream,
      upstreamLabels: new Map(labels.map((l) => [l.id, l.wbs_id])),
      ...(row.office_rule ? { offices: await matchOffices(ex, JSON.parse(row.office_rule) as OfficeRule) } : {}),
    };
  }

  /** A contract's office rule as matching sees it: the offices it names or that lie in its prefectures. */
  async function matchOffices(ex: Executor, rule: OfficeRule): Promise<MatchOffices> {
    const named = rule.officeIds.length
      ? await ex.selectFrom("office").select(["id", "name"]).where("id", "in", rule.officeIds).orderBy("name").execute()
      : [];
    const inPrefectures = rule.prefectures.length
      ? await ex.selectFrom("office").select("id").where("prefecture", "in", rule.prefectures).execute()
      : [];
    return {
      mode: rule.mode,
      ids: new Set([...named, ...inPrefectures].map((o) => o.id)),
      names: [...rule.prefectures, ...named.map((o) => o.name)],
    };
  }

  /** The caller must lead the package's contract (or be Azusa itself). */
  async function requireLead(actor: Actor, packageId: string) {
    const pkg = await packages.get(actor, packageId); // 404 for anyone who cannot see it
    if (actor.kind === "user" && actor.role !== "lead") throw forbidden(text("offers.leadOnly"));
    return pkg;
  }

  async function checkEligible(p: MatchPackage, engineerId: string, ex: Executor = db) {
    const [engineer] = await engineers.forMatching([engineerId], ex);
    if (!engineer) throw notFound("engineer");
    const why = ineligibilities(engineer, p);
    if (why.length) {
      throw fail("CONFLICT", text("offers.notEligible", { why: why.map(ineligibilityText) }), {
        why: why.map(describeIneligibility),
      });
    }
  }

  async function offerFor(actor: Actor, offerId: string) {
    const row = await db.selectFrom("offer").selectAll().where("id", "=", offerId).executeTakeFirst();
    if (!row || actor.kind !== "user" || actor.userId !== row.engineer_id) throw notFound("offer");
    if (row.state !== "pending")
      throw fail("INVALID_STATE", text("offers.state", { state: codeOf("offer", row.state) }), { current: row.state });
    if (row.expires_at <= now().toISOString())
      throw fail("INVALID_STATE", text("offers.state", { state: codeOf("offer", "expired") }), { current: "expired" });
    return row;
  }

  async function close(trx: Transaction<Database>, offer: OfferTable, state: OfferState, reason: string | null) {
    const done = await trx
      .updateTable("offer")
      .set({ state, reason, responded_at: now().toISOString() })
      .where("id", "=", offer.id)
      .where("state", "=", "pending")
      .executeTakeFirst();
    if (Number(done.numUpdatedRows) !== 1) throw fail("CONFLICT", text("offers.changedMeanwhile"));
  }

  // A cancelled package takes its pending offer and its assignment with it, freeing the engineer.
  packages.whenCancelled({
    async during(trx, actor, pkg, reason) {
      const at = now().toISOString();
      const offers = await trx
        .updateTable("offer")
        .set({ state: "withdrawn", reason: "package cancelled", responded_at: at })
        .where("package_id", "=", pkg.id)
        .where("state", "=", "pending")
        .returning(["id", "engineer_id"])
        .execute();
      const ended = await trx
        .updateTable("assignment")
        .set({ ended_at: at, end_reason: "cancelled" })
        .where("package_id", "=", pkg.id)
        .where("ended_at", "is", null)
        .returning(["id", "engineer_id"])
        .execute();
      for (const o of offers) {
        await audit.record(
          actor,
          "offer.withdrawn",
          `offer:${o.id}`,
          { packageId: pkg.id, engineerId: o.engineer_id, reason: "package cancelled" },
          { tenantId: pkg.tenantId, trx },
        );
      }
      for (const a of ended) {
        await audit.record(
          actor,
          "assignment.ended",
          `assignment:${a.id}`,
          { packageId: pkg.id, engineerId: a.engineer_id, reason: "package cancelled" },
          { tenantId: pkg.tenantId, trx },
        );
      }
      await onAssignmentEnding(trx, actor, pkg.id, cancelledBecause(reason));
    },
    after: (actor, packageId, reason) => onAssignmentEnded(actor, packageId, cancelledBecause(reason)),
  });

  const service = {
    /** Ranked eligible engineers with the reasons for each rank, and why the others are not eligible. */
    async suggestions(actor: Actor, packageId: string): Promise<Suggestions> {
      await packages.get(actor, packageId);
      if (actor.kind === "user" && actor.role !== "lead" && actor.role !== "contractor") throw notFound("package");
      const p = await matchPackage(db, packageId);
      const result = suggest(p, await engineers.forMatching());
      return {
        packageId,
        weeklyHours: p.weeklyHours,
        ranked: result.ranked,
        ineligible: result.ineligible.map((i) => ({
          engineerId: i.engineerId,
          name: i.name,
          why: i.why.map(describeIneligibility),
          rules: i.why,
        })),
      };
    },

    async offer(actor: Actor, packageId: string, engineerId: string): Promise<Offer> {
      await requireLead(actor, packageId);
      const p = await matchPackage(db, packageId);
      await checkEligible(p, engineerId);
      const at = now();
      const row: OfferTable = {
        id: randomUUID(),
        package_id: packageId,
        engineer_id: engineerId,
        offered_by: actor.kind === "user" ? actor.userId : `system:${actor.name}`,
        state: "pending",
        reason: null,
        created_at: at.toISOString(),
        expires_at: new Date(at.getTime() + offerTtlHours * 3_600_000).toISOString(),
        responded_at: null,
      };
      await db.transaction().execute(async (trx) => {
        await packages.transition(actor, packageId, "offered", { trx, reason: "offered" });
        await trx.insertInto("offer").values(row).execute();
        await audit.record(
          actor,
          "offer.created",
          `offer:${row.id}`,
          { packageId, engineerId, expiresAt: row.expires_at },
          { trx, tenantId: p.tenantId },
        );
        await notices.offerMade(trx, { offerId: row.id, packageId, engineerId, expiresAt: row.expires_at });
      });
      onOffered(packageId);
      return toOffer(row);
    },

    /** Offers the caller may see: an engineer's own, or those on packages of contracts the caller sees. */
    async list(actor: Actor, opts: { packageId?: string } = {}): Promise<Offer[]> {
      if (actor.kind === "user" && actor.role === "engineer") {
        const rows = await db
          .selectFrom("offer")
          .innerJoin("user", "user.id", "offer.engineer_id")
          .selectAll("offer")
          .select("user.name as engineer_name")
          .where("offer.engineer_id", "=", actor.userId)
          .orderBy("offer.created_at", "desc")
          .execute();
        return rows.map((r) => ({ ...toOffer(r), engineerName: r.engineer_name }));
      }
      let q = contractPackages(db, actor)
        .innerJoin("offer", "offer.package_id", "work_package.id")
        .innerJoin("user", "user.id", "offer.engineer_id")
        .selectAll("offer")
        .select("user.name as engineer_name")
        .orderBy("offer.created_at", "desc");
      if (opts.packageId) q = q.where("offer.package_id", "=", opts.packageId);
      return (await q.execute()).map((r) => ({ ...toOffer(r), engineerName: r.engineer_name }));
    },

    /** The engineer takes the package: eligibility and capacity are checked again, now. */
    async accept(actor: Actor, offerId: string): Promise<{ offer: Offer; assignmentId: string }> {
      const offer = await offerFor(actor, offerId);
      const assignmentId = randomUUID();
      await db.transaction().execute(async (trx) => {
        // Touching the engineer's row first serializes their acceptances (a row lock in PostgreSQL,
        // the write lock in SQLite), so two at once cannot both fit in the same spare hours.
        await lockEngineerProfile(trx, offer.engineer_id, now().toISOString());
        const p = await matchPackage(trx, offer.package_id);
        await checkEligible(p, offer.engineer_id, trx);
        await close(trx, offer, "accepted", null);
        await packages.transition(actor, offer.package_id, "assigned", {
          trx,
          reason: "offer accepted",
          from: "offered",
        });
        await trx
          .insertInto("assignment")
          .values({
            id: assignmentId,
            package_id: offer.package_id,
            engineer_id: offer.engineer_id,
            offer_id: offer.id,
            weekly_hours: p.weeklyHours,
            started_at: now().toISOString(),
            ended_at: null,
            end_reason: null,
          })
          .execute();
        await audit.record(
          actor,
          "offer.accepted",
          `offer:${offer.id}`,
          { packageId: offer.package_id, assignmentId, weeklyHours: p.weeklyHours },
          { trx, tenantId: p.tenantId },
        );
        const answer = { offerId: offer.id, packageId: offer.package_id, engineerId: offer.engineer_id };
        await notices.offerAnswered(trx, { ...answer, accepted: true });
      });
      await onAssigned(assignmentId);
      return { offer: toOffer({ ...offer, state: "accepted", responded_at: now().toISOString() }), assignmentId };
    },

    async decline(actor: Actor, offerId: string, reason: string): Promise<Offer> {
      const offer = await offerFor(actor, offerId);
      const p = await matchPackage(db, offer.package_id);
      await db.transaction().execute(async (trx) => {
        await close(trx, offer, "declined", reason);
        await packages.transition(actor, offer.package_id, "open", { trx, reason: "offer declined" });
        await audit.record(
          actor,
          "offer.declined",
          `offer:${offer.id}`,
          { packageId: offer.package_id, reason },
          { trx, tenantId: p.tenantId },
        );
        const answer = { offerId: offer.id, packageId: offer.package_id, engineerId: offer.engineer_id };
        await notices.offerAnswered(trx, { ...answer, accepted: false, reason });
      });
      return toOffer({ ...offer, state: "declined", reason, responded_at: now().toISOString() });
    },

    /** The schedule's work: pending offers past their time expire and their packages open again. */
    async expireOffers(): Promise<number> {
      const due = await db
        .selectFrom("offer")
        .innerJoin("work_package", "work_package.id", "offer.package_id")
        .selectAll("offer")
        .select("work_package.tenant_id")
        .where("offer.state", "=", "pending")
        .where("offer.expires_at", "<=", now().toISOString())
        .execute();
      for (const offer of due) {
        await db.transaction().execute(async (trx) => {
          await close(trx, offer, "expired", null);
          const pkg = await trx
            .selectFrom("work_package")
            .select("state")
            .where("id", "=", offer.package_id)
            .executeTakeFirst();
          if (pkg?.state === "offered")
            await packages.transition(system, offer.package_id, "open", { trx, reason: "offer expired" });
          await audit.record(
            system,
            "offer.expired",
            `offer:${offer.id}`,
            { packageId: offer.package_id, engineerId: offer.engineer_id },
            {
              trx,
              tenantId: offer.tenant_id,
            },
          );
        });
      }
      return due.length;
    },

    /**
     * The lead takes a package back: a pending offer is withdrawn, or the assignment ends and frees the
     * capacity, also after the engineer has started (until delivery). The package opens again; the ended
     * assignment's sessions end and its workspace stops, keeping its volume until someone destroys it.
     */
    async withdraw(actor: Actor, packageId: string, reason: string): Promise<void> {
      await requireLead(actor, packageId);
      const ended = await db.transaction().execute(async (trx) => {
        // The state is read inside the transaction and every write below is conditional on it, so a
        // withdrawal racing an acceptance fails whole instead of reopening an assigned package.
        const row = await trx.selectFrom("work_package").select("state").where("id", "=", packageId).executeTakeFirst();
        const from = row?.state;
        if (from === "offered") {
          const offer = await trx
            .selectFrom("offer")
            .selectAll()
            .where("package_id", "=", packageId)
            .where("state", "=", "pending")
            .executeTakeFirst();
          if (offer) {
            await close(trx, offer, "withdrawn", reason);
            await notices.withdrawn(trx, { packageId, engineerId: offer.engineer_id, reason, key: offer.id });
          }
        } else if (from && withdrawable.includes(from)) {
          const held = await trx
            .selectFrom("assignment")
            .select(["id", "engineer_id"])
            .where("package_id", "=", packageId)
            .where("ended_at", "is", null)
            .executeTakeFirst();
          if (held) await notices.withdrawn(trx, { packageId, engineerId: held.engineer_id, reason, key: held.id });
          await trx
            .updateTable("assignment")
            .set({ ended_at: now().toISOString(), end_reason: "withdrawn" })
            .where("package_id", "=", packageId)
            .where("ended_at", "is", null)
            .execute();
          await onAssignmentEnding(trx, actor, packageId, withdrawnBecause(reason));
        } else {
          throw fail("INVALID_STATE", text("offers.cannotWithdraw", { state: stateCode(String(from)) }), {
            current: from,
          });
        }
        await packages.transition(actor, packageId, "open", { trx, reason: `withdrawn: ${reason}`, from });
        await audit.record(actor, "offer.withdrawn", `package:${packageId}`, { from, reason }, { trx });
        return from;
      });
      if (ended !== "offered") await onAssignmentEnded(actor, packageId, withdrawnBecause(reason));
    },
  };
  return service;
}

export type OfferService = ReturnType<typeof createOfferService>;
