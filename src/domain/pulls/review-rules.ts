// Rules both forges' pull requests follow: a new head dismisses approvals of older heads, and the package
// moves in and out of review along legal paths only.
import type { Transaction } from "kysely";
import type { Database } from "../../db/schema.ts";
import type { Actor } from "../../kernel/actor.ts";
import type { AuditService } from "../audit/audit.service.ts";
import type { PackageState } from "../packages/lifecycle.ts";
import type { PackageService } from "../packages/packages.service.ts";

/** Dismisses approvals of any head but `head`, one audit event each. */
export async function dismissStaleApprovals(
  trx: Transaction<Database>,
  audit: AuditService,
  actor: Actor,
  pr: { id: string; tenant_id: string },
  head: string,
  at: string,
): Promise<number> {
  const stale = await trx
    .updateTable("pull_review")
    .set({ dismissed_at: at, dismiss_reason: `new commits pushed (${head.slice(0, 12)})` })
    .where("pull_request_id", "=", pr.id)
    .where("verdict", "=", "approved")
    .where("dismissed_at", "is", null)
    .where("commit_sha", "!=", head)
    .returning(["id", "reviewer_id", "reviewer_login", "commit_sha"])
    .execute();
  for (const r of stale) {
    await audit.record(
      actor,
      "review.dismissed",
      `review:${r.id}`,
      { pullRequestId: pr.id, reviewer: r.reviewer_id ?? r.reviewer_login, approved: r.commit_sha, head },
      { tenantId: pr.tenant_id, trx },
    );
  }
  return stale.length;
}

/** Walks `path` as far as the package's current state allows; moves that do not apply are skipped. */
export async function movePackageAlong(
  trx: Transaction<Database>,
  packages: PackageService,
  actor: Actor,
  packageId: string,
  path: [PackageState, PackageState][],
  reason: string,
): Promise<void> {
  for (const [from, to] of path) {
    const row = await trx.selectFrom("work_package").select("state").where("id", "=", packageId).executeTakeFirst();
    if (row?.state === from) await packages.transition(actor, packageId, to, { trx, reason, from });
  }
}

/** The moves each pull request event makes. */
export const reviewPaths = {
  opened: [
    ["assigned", "in_progress"],
    ["changes_requested", "in_progress"],
    ["in_progress", "in_review"],
  ],
  pushed: [["changes_requested", "in_progress"]],
  changesRequested: [["in_review", "changes_requested"]],
  approved: [["in_progress", "in_review"]],
} as const satisfies Record<string, [PackageState, PackageState][]>;
