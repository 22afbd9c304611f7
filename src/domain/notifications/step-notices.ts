// Who waits on a step of an offer or a pull request, and what they are told: each notice is written in the
// transaction of the step it tells of, so a step that fails tells nobody and one that lands always tells.
import type { Executor } from "../../db/schema.ts";
import { text } from "../../kernel/messages.ts";
import type { Notice } from "./notifications.service.ts";

/** What the notices need of the notification service. */
export interface Notify {
  notify(ex: Executor, notice: Notice): Promise<number>;
}

/** The package a notice names, with its contract's leads: the people who wait on an engineer's step. */
async function packageOf(ex: Executor, packageId: string) {
  const pkg = await ex
    .selectFrom("work_package")
    .innerJoin("contract", "contract.id", "work_package.contract_id")
    .select([
      "work_package.wbs_id",
      "work_package.title",
      "work_package.tenant_id",
      "work_package.contract_id",
      "contract.title as contract_title",
    ])
    .where("work_package.id", "=", packageId)
    .executeTakeFirstOrThrow();
  const leads = await ex
    .selectFrom("contract_lead")
    .select("user_id")
    .where("contract_id", "=", pkg.contract_id)
    .execute();
  return { ...pkg, name: `${pkg.wbs_id} ${pkg.title}`, leads: leads.map((l) => l.user_id) };
}

const nameOf = async (ex: Executor, userId: string) =>
  (await ex.selectFrom("user").select("name").where("id", "=", userId).executeTakeFirst())?.name ?? userId;

/** The notices of the steps that wait on someone: offers (engineer, lead) and reviews (lead, engineer). */
export function createStepNotices(notifications: Notify | null) {
  const tell = (ex: Executor, notice: Omit<Notice, "tenantId"> & { tenantId: string }) =>
    notifications ? notifications.notify(ex, notice) : 0;

  return {
    /** An offer made: the engineer has until it expires to answer. */
    async offerMade(ex: Executor, o: { offerId: string; packageId: string; engineerId: string; expiresAt: string }) {
      if (!notifications) return 0;
      const p = await packageOf(ex, o.packageId);
      return tell(ex, {
        userIds: [o.engineerId],
        tenantId: p.tenant_id,
        kind: "offer.created",
        title: text("notice.offer.created", { name: p.name, contract: p.contract_title }),
        body: text("notice.answerBy", { deadline: { moment: o.expiresAt } }),
        subject: `offer:${o.offerId}`,
        dedupeKey: `offer.created:${o.offerId}`,
      });
    },

    /** An offer or an assignment taken back by the lead: the engineer stops waiting or working on it. */
    async withdrawn(ex: Executor, w: { packageId: string; engineerId: string; reason: string; key: string }) {
      if (!notifications) return 0;
      const p = await packageOf(ex, w.packageId);
      return tell(ex, {
        userIds: [w.engineerId],
        tenantId: p.tenant_id,
        kind: "offer.withdrawn",
        title: text("notice.offer.withdrawn", { name: p.name }),
        body: text("notice.reason", { reason: w.reason }),
        subject: `package:${w.packageId}`,
        dedupeKey: `offer.withdrawn:${w.key}`,
      });
    },

    /** The engineer's answer to an offer, to the contract's leads. */
    async offerAnswered(
      ex: Executor,
      a: { offerId: string; packageId: string; engineerId: string; accepted: boolean; reason?: string },
    ) {
      if (!notifications) return 0;
      const p = await packageOf(ex, a.packageId);
      const who = await nameOf(ex, a.engineerId);
      return tell(ex, {
        userIds: p.leads,
        tenantId: p.tenant_id,
        kind: a.accepted ? "offer.accepted" : "offer.declined",
        title: text(a.accepted ? "notice.offer.accepted" : "notice.offer.declined", { who, name: p.name }),
        body: a.reason ? text("notice.reason", { reason: a.reason }) : "",
        subject: `package:${a.packageId}`,
        dedupeKey: `offer.answered:${a.offerId}`,
      });
    },

    /** A pull request opened, or new commits on one: the leads have a review waiting. */
    async pullWaiting(
      ex: Executor,
      r: { pullId: string; packageId: string; number: number; title: string; head: string; opened: boolean },
    ) {
      if (!notifications) return 0;
      const p = await packageOf(ex, r.packageId);
      return tell(ex, {
        userIds: p.leads,
        tenantId: p.tenant_id,
        kind: r.opened ? "pull_request.opened" : "pull_request.pushed",
        title: text(r.opened ? "notice.pull.opened" : "notice.pull.pushed", { name: p.name, number: r.number }),
        body: r.title,
        subject: `pull_request:${r.pullId}`,
        dedupeKey: `pull_request.waiting:${r.pullId}:${r.head}`,
      });
    },

    /** A review asking for changes or approving, or the merge: the author's next step. */
    async pullDecided(
      ex: Executor,
      d: {
        pullId: string;
        packageId: string;
        number: number;
        authorId: string;
        step: "changes_requested" | "approved" | "merged";
        key: string;
        body?: string;
      },
    ) {
      if (!notifications) return 0;
      const p = await packageOf(ex, d.packageId);
      return tell(ex, {
        userIds: [d.authorId],
        tenantId: p.tenant_id,
        kind: d.step === "merged" ? "pull_request.merged" : `review.${d.step}`,
        title: text(`notice.pull.${d.step}`, { name: p.name, number: d.number }),
        body: d.body ?? "",
        subject: `pull_request:${d.pullId}`,
        dedupeKey: `pull_request.${d.step}:${d.key}`,
      });
    },
  };
}

export type StepNotices = ReturnType<typeof createStepNotices>;

/** Notices that tell nobody: for services built without notifications (some tests). */
export const noStepNotices: StepNotices = createStepNotices(null);
