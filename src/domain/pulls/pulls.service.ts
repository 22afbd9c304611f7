// Repositories and pull requests on the built-in forge: the canonical repository of a package, the fork of
// each workspace, pull requests from a fork branch to main, reviews bound to the head they judged, and the
// merge after enough approvals. Every step is audited; the package moves in and out of review.

import { randomUUID } from "node:crypto";
import type { Kysely, Transaction } from "kysely";
import type { Database, PullRequestTable, PullReviewTable, RepositoryTable } from "../../db/schema.ts";
import type { BuiltinForge, ObjectStore } from "../../git/builtin-forge.ts";
import { checkBranch } from "../../git/builtin-forge.ts";
import type { Diff } from "../../git/diff.ts";
import type { RepositoryInfo } from "../../git/forge.ts";
import { type ForkTarget, seedFork, updateFork, withForkBundle } from "../../git/fork.ts";
import type { Actor } from "../../kernel/actor.ts";
import { AppError, fail, forbidden, invalidField, notFound } from "../../kernel/errors.ts";
import type { Leases } from "../../kernel/leases.ts";
import { codeOf, type MessageId, type Text, text } from "../../kernel/messages.ts";
import { noPause, type PausePoint } from "../../kernel/pause.ts";
import type { Logger } from "../../logger.ts";
import { STORE_FOLDER, type WorkspaceDriver, type WorkspaceRef } from "../../provisioner/driver.ts";
import type { AuditService } from "../audit/audit.service.ts";
import { visiblePackage } from "../contracts/contracts.service.ts";
import type { EngineerService } from "../engineers/engineers.service.ts";
import { noStepNotices, type StepNotices } from "../notifications/step-notices.ts";
import type { PackageService } from "../packages/packages.service.ts";
import { defaultHostId } from "../workspace-hosts/workspace-hosts.service.ts";
import { dismissStaleApprovals, movePackageAlong, reviewPaths } from "./review-rules.ts";

export type Verdict = "approved" | "changes_requested" | "commented";

export interface ReviewComment {
  path: string;
  line: number;
  body: string;
}

export interface Review {
  id: string;
  reviewerId: string | null;
  reviewerLogin: string | null;
  verdict: Verdict;
  /** The head commit the review judged. */
  commitSha: string;
  body: string;
  dismissedAt: string | null;
  dismissReason: string | null;
  comments: ReviewComment[];
  createdAt: string;
}

export interface PullRequest {
  id: string;
  packageId: string;
  number: number;
  title: string;
  description: string;
  sourceBranch: string;
  targetBranch: string;
  headSha: string;
  state: "open" | "merged" | "closed";
  authorId: string | null;
  mergeSha: string | null;
  mergedBy: string | null;
  mergedAt: string | null;
  requiredApprovals: number;
  /** Reviewers whose latest review approves the current head. */
  approvals: number;
  /** Open, approved enough, and nobody's latest review asks for changes. */
  mergeable: boolean;
  reviews: Review[];
  createdAt: string;
  updatedAt: string;
}

export interface NewPullRequest {
  branch: string;
  title: string;
  description?: string;
}

export interface NewReview {
  verdict: "approve" | "request_changes" | "comment";
  body?: string;
  comments?: ReviewComment[];
}

/** How many approvals count, and whether a change request stands, from reviews newest last. */
export function tally(
  reviews: Pick<Review, "reviewerId" | "reviewerLogin" | "verdict" | "commitSha" | "dismissedAt">[],
  head: string,
) {
  const latest = new Map<string, (typeof reviews)[number]>();
  for (const r of reviews) {
    if (r.dismissedAt || r.verdict === "commented") continue;
    latest.set(r.reviewerId ?? `login:${r.reviewerLogin}`, r);
  }
  let approvals = 0;
  let blocked = false;
  for (const r of latest.values()) {
    if (r.verdict === "approved" && r.commitSha === head) approvals++;
    if (r.verdict === "changes_requested") blocked = true;
  }
  return { approvals, blocked };
}

const invalid = (path: string, message: Text) => invalidField(path, message);

/** Options of the pull request service. */
export interface PullServiceOptions {
  db: Kysely<Database>;
  audit: AuditService;
  packages: PackageService;
  engineers: EngineerService;
  forge: BuiltinForge;
  driver: WorkspaceDriver;
  /** The workspace folder a template mounts its volume at (/workspace by default). */
  workspaceFolder: (template: string) => Promise<string>;
  logger: Logger;
  /** Where fork bundles are written while they are imported (under the data directory, never /tmp). */
  scratchDir: string;
  /**
   * Leases shared by the processes on one database: each merge holds `merge:<pull request id>` from its claim
   * until it is marked, so a claim whose lease no live process holds is a crashed merge's, settled at once.
   * Without them, a claim is taken for a crashed merge's once it is a minute old.
   */
  leases?: Leases;
  now?: () => Date;
  /** Test-only: where a test may hold the process to kill it (AZUSA_TEST_PAUSE_AT). */
  pause?: PausePoint;
  /** Tells the leads of a review waiting, and the author of changes requested, an approval, a merge. */
  notices?: StepNotices;
}

/**
 * The lock of one package's object store on one engine: a workspace's host (its row's `host_id`; none for the
 * default host, as the host router reads it), since each engine keeps a store of its own for the package.
 */
export const storeLock = (packageId: string, hostId: string | null): string =>
  `store:${packageId}@${hostId ?? defaultHostId}`;

export function createPullService({
  db,
  audit,
  packages,
  engineers,
  forge,
  driver,
  workspaceFolder,
  logger,
  scratchDir,
  leases,
  now = () => new Date(),
  pause = noPause,
  notices = noStepNotices,
}: PullServiceOptions) {
  const system: Actor = { kind: "system", name: "forge" };
  // Repositories being made ahead of their first workspace (prepareAhead).
  const ahead = new Set<Promise<void>>();
  // One git operation per package at a time: a refresh, a merge and a fork import must not interleave.
  const locks = new Map<string, Promise<unknown>>();
  function serial<T>(key: string, work: () => Promise<T>): Promise<T> {
    const prev = locks.get(key) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(work);
    locks.set(key, next);
    void next
      .finally(() => {
        if (locks.get(key) === next) locks.delete(key);
      })
      .catch(() => undefined);
    return next;
  }

  // Writes that follow an answer (a new pull request's pin, what was sent to a fork); `drain` waits for them.
  const following = new Set<Promise<void>>();
  /** Runs `work` next in the package's queue without anyone waiting for it; a failure is logged as `failed`. */
  function follow(packageId: string, work: () => Promise<void>, failed: string, about: Record<string, unknown>): void {
    const done: Promise<void> = serial(`repo:${packageId}`, work)
      .catch((err) => logger.warn({ ...about, err: err instanceof Error ? err.message : String(err) }, failed))
      .finally(() => following.delete(done));
    following.add(done);
  }

  /**
   * Pins a new pull request's head (`refs/azusa/pulls/<number>/head`) after the request is answered, in the
   * package's queue, so that it lands before any later read or import of the package. Until then the fork's
   * branch, just imported, holds the commit; should it fail (logged), git's maintenance keeps an unreferenced
   * object for two weeks and the next push noticed pins again. Diffs read the head by its commit, not the pin.
   */
  const pinLater = (repo: RepositoryInfo, packageId: string, number: number, sha: string) =>
    follow(packageId, () => forge.pin(repo, number, sha), "pinning the pull request's head failed", {
      package: packageId,
      number,
    });

  const infoOf = (r: RepositoryTable): RepositoryInfo => {
    if (r.forge !== forge.kind) throw fail("INVALID_STATE", text("pulls.onGitHub"), { current: r.forge });
    return { name: r.name, defaultBranch: r.default_branch };
  };

  const onGithub = async (packageId: string) =>
    (await db.selectFrom("repository").select("forge").where("package_id", "=", packageId).executeTakeFirst())
      ?.forge === "github";

  /**
   * Makes the package's repository in the forge (a no-op when it is already there) without recording it: the
   * row and its audit event are written when a workspace first needs it.
   */
  async function makeOnDisk(packageId: string) {
    const pkg = await db
      .selectFrom("work_package")
      .innerJoin("contract", "contract.id", "work_package.contract_id")
      .select([
        "work_package.id",
        "work_package.tenant_id",
        "work_package.wbs_id",
        "work_package.title",
        "contract.source_repository",
        "contract.required_approvals",
      ])
      .where("work_package.id", "=", packageId)
      .executeTakeFirst();
    if (!pkg) throw notFound("package");
    const info = await forge.createRepository({
      tenantId: pkg.tenant_id,
      packageId: pkg.id,
      title: `${pkg.wbs_id} ${pkg.title}`,
      seed: pkg.source_repository,
    });
    await forge.protectDefaultBranch(info, { requiredApprovals: Number(pkg.required_approvals) });
    return { pkg, info };
  }

  /**
   * Fills the package's object store on the engine of `ref` (see `WorkspaceDriver.fillStore`), one fill per
   * package and engine at a time here: a second workspace of the package on that engine finds it filled rather
   * than filling it again, while one on another engine (another store) fills its own without waiting.
   */
  async function fillStoreOf(packageId: string, ref: WorkspaceRef, store: ObjectStore, opts: { unless?: string } = {}) {
    const row = await db.selectFrom("workspace").select("host_id").where("id", "=", ref.id).executeTakeFirst();
    return serial(storeLock(packageId, row?.host_id ?? null), () =>
      driver.fillStore(ref, () => forge.storeFiles(store), opts),
    );
  }

  /** The package's canonical repository, made on first use from the contract's source or a first commit. */
  async function ensureRepository(packageId: string): Promise<RepositoryInfo> {
    const row = await db.selectFrom("repository").selectAll().where("package_id", "=", packageId).executeTakeFirst();
    if (row) return infoOf(row);
    return serial(`repo:${packageId}`, async () => {
      const again = await db
        .selectFrom("repository")
        .selectAll()
        .where("package_id", "=", packageId)
        .executeTakeFirst();
      if (again) return infoOf(again);
      const { pkg, info } = await makeOnDisk(packageId);
      await db.transaction().execute(async (trx) => {
        await trx
          .insertInto("repository")
          .values({
            package_id: pkg.id,
            tenant_id: pkg.tenant_id,
            forge: forge.kind,
            name: info.name,
            default_branch: info.defaultBranch,
            created_at: now().toISOString(),
          })
          .execute();
        await audit.record(
          system,
          "repository.created",
          `package:${pkg.id}`,
          { forge: forge.kind, seededFrom: pkg.source_repository ?? "first commit" },
          { tenantId: pkg.tenant_id, trx },
        );
      });
      return info;
    });
  }

  /** The package row if the actor may see its pull requests: the contract's people or its engineer. */
  async function packageFor(actor: Actor, packageId: string) {
    // The engineer sees it while it is theirs (see `engineers.access`); the contract's people through the contract.
    const engineer = actor.kind === "user" && actor.role === "engineer";
    if (engineer && !(await engineers.access(actor.userId, packageId)).ok) throw notFound("package");
    return visiblePackage(db, engineer ? system : actor, packageId, (q) =>
      q.select([
        "work_package.id",
        "work_package.tenant_id",
        "work_package.state",
        "contract.required_approvals",
        "contract.engineer_clone_allowed",
      ]),
    );
  }

  async function visiblePull(actor: Actor, id: string) {
    const pr = await db.selectFrom("pull_request").selectAll().where("id", "=", id).executeTakeFirst();
    if (!pr) throw notFound("pull");
    const pkg = await packageFor(actor, pr.package_id).catch((err) => {
      throw err instanceof AppError && err.code === "NOT_FOUND" ? notFound("pull") : err;
    });
    return { pr, pkg };
  }

  const requireLead = (actor: Actor, what: MessageId, pr: PullRequestTable) => {
    if (actor.kind === "user" && actor.role !== "lead") throw forbidden(text("pulls.leadOnly", { what: text(what) }));
    if (!pr.workspace_id)
      throw fail("INVALID_STATE", text("pulls.livesOnGitHub", { number: pr.number, what: text(what) }), {
        current: pr.state,
      });
  };

  /**
   * The fork a workspace holds, if the workspace is running (a stopped one cannot be read) and its
   * checkout has finished (before that there is no fork to read).
   */
  async function forkTarget(workspaceId: string): Promise<ForkTarget | null> {
    const ws = await db.selectFrom("workspace").selectAll().where("id", "=", workspaceId).executeTakeFirst();
    if (!ws?.container_id || !ws.volume || ws.state !== "running" || !ws.prepared_at) return null;
    const ref: WorkspaceRef = { id: ws.id, containerId: ws.container_id, volume: ws.volume };
    return { ref, folder: await workspaceFolder(ws.template) };
  }

  /**
   * Brings the fork's branches into the canonical repository's private refs and returns them; null when it
   * could not. One exec lists the fork's branches and bundles only the objects the canonical side lacks (none
   * when nothing moved). With `ahead` (a branch), also how many commits that branch has beyond the default
   * branch, counted while the import is checked (null when it was not counted).
   */
  async function importFork(
    repo: RepositoryInfo,
    packageId: string,
    workspaceId: string,
    ahead?: string,
    /** Runs with the fork's bundle taken and not yet imported (a fault test's pause point). */
    bundled: () => Promise<void> = async () => {},
  ): Promise<{ branches: Map<string, string>; ahead: number | null } | null> {
    const target = await forkTarget(workspaceId);
    if (!target) return null;
    return serial(`repo:${packageId}`, async () => {
      const state = await forge.forkState(repo, workspaceId);
      return withForkBundle(driver, target, state.known, scratchDir, async (heads, file) => {
        await bundled();
        const had = state.branches;
        if (!file && heads.size === had.size && [...heads].every(([branch, sha]) => had.get(branch) === sha))
          return { branches: had, ahead: null };
        return forge.importFork(repo, workspaceId, heads, file, state, { ahead });
      });
    });
  }

  /**
   * Brings the canonical branches and tags into a running workspace's fork (what moved since they were last
   * sent, with only the objects the fork lacks), so that `git fetch origin` in the workspace sees merged work.
   * A branch or tag the engineer moved elsewhere is kept, and logged. False when the fork cannot be reached.
   */
  async function syncFork(repo: RepositoryInfo, packageId: string, workspaceId: string): Promise<boolean> {
    const target = await forkTarget(workspaceId);
    if (!target) return false;
    await serial(`repo:${packageId}`, async () => {
      let out = await forge.publishedFor(repo, workspaceId);
      if (!out.refs.length) return;
      let result = await updateFork(driver, target, out.bundle, out.refs);
      if (!result.ok && result.reason === "no-fork") return;
      if (!result.ok) {
        // The fork lost commits it was sent (a branch deleted and pruned): send the whole history of what moved.
        out = await forge.publishedFor(repo, workspaceId, { full: true });
        result = await updateFork(driver, target, out.bundle, out.refs);
      }
      if (!result.ok) throw new Error("the workspace's fork refused a whole bundle");
      // Recorded next in the package's queue, without keeping the caller (a merge's answer) waiting: the refs
      // are in the fork now, and sending them again, should this be lost, changes nothing there.
      const sent = out.refs;
      follow(
        packageId,
        () => forge.markSent(repo, workspaceId, sent),
        "recording what was sent to the fork failed; the next sync sends it again",
        { workspace: workspaceId },
      );
      if (result.kept.length)
        logger.info(
          { workspace: workspaceId, refs: result.kept },
          "fork refs the engineer moved elsewhere were kept as they are",
        );
    });
    return true;
  }

  /**
   * syncFork for every running workspace of a package on the built-in forge (or only `workspaceId`, a workspace
   * just started); a failure is logged.
   */
  async function syncPackageForks(packageId: string, workspaceId?: string): Promise<void> {
    const row = await db.selectFrom("repository").selectAll().where("package_id", "=", packageId).executeTakeFirst();
    if (!row || row.forge !== forge.kind) return;
    const repo = infoOf(row);
    const workspaces = await db
      .selectFrom("workspace")
      .select("id")
      .where("package_id", "=", packageId)
      .where("state", "=", "running")
      .where("prepared_at", "is not", null)
      .$if(workspaceId !== undefined, (q) => q.where("id", "=", workspaceId as string))
      .execute();
    for (const ws of workspaces) {
      await syncFork(repo, packageId, ws.id).catch((err) =>
        logger.warn(
          { workspace: ws.id, err: err instanceof Error ? err.message : String(err) },
          "bringing the workspace's fork up to date failed; the next sync tries again",
        ),
      );
    }
  }

  /**
   * Notices a push to the fork: a new head pins the commit, dismisses approvals of the old one and sends
   * a package whose changes were requested back to work. Returns the row as it is now.
   */
  async function refresh(pr: PullRequestTable): Promise<PullRequestTable> {
    if (pr.state !== "open" || !pr.workspace_id) return pr;
    const repo = await ensureRepository(pr.package_id);
    let branches: Map<string, string> | null;
    try {
      branches = (await importFork(repo, pr.package_id, pr.workspace_id))?.branches ?? null;
    } catch (err) {
      logger.warn({ pull: pr.id, err: err instanceof Error ? err.message : String(err) }, "reading the fork failed");
      return pr;
    }
    if (!branches) return pr;
    const head = branches.get(pr.source_branch);
    if (!head || head === pr.head_sha) return pr;
    await forge.pin(repo, pr.number, head);
    const at = now().toISOString();
    await db.transaction().execute(async (trx) => {
      const moved = await trx
        .updateTable("pull_request")
        .set({ head_sha: head, updated_at: at })
        .where("id", "=", pr.id)
        .where("head_sha", "=", pr.head_sha)
        .executeTakeFirst();
      if (Number(moved.numUpdatedRows) !== 1) return; // another refresh got there first
      await audit.record(
        system,
        "pull_request.pushed",
        `pull_request:${pr.id}`,
        { packageId: pr.package_id, number: pr.number, from: pr.head_sha, to: head },
        { tenantId: pr.tenant_id, trx },
      );
      const waiting = { pullId: pr.id, packageId: pr.package_id, number: pr.number, title: pr.title, head };
      await notices.pullWaiting(trx, { ...waiting, opened: false });
      await dismissStaleApprovals(trx, audit, system, pr, head, at);
      await movePackageAlong(trx, packages, system, pr.package_id, [...reviewPaths.pushed], "new commits pushed");
    });
    return (await db.selectFrom("pull_request").selectAll().where("id", "=", pr.id).executeTakeFirst()) ?? pr;
  }

  /** Without leases, a claim older than this is a crashed merge's (a live merge holds it for a ref update). */
  const MERGE_CLAIM_MS = 60_000;
  /** Whether the open pull request's merge claim was left by a merge nobody runs any more (a crash). */
  async function claimAbandoned(pr: PullRequestTable): Promise<boolean> {
    if (!leases) return Date.parse(pr.updated_at) <= now().getTime() - MERGE_CLAIM_MS;
    return !(await leases.held(`merge:${pr.id}`)).has("");
  }

  /** Marks a claimed merge done, with its event; false when it was done already (or the claim is gone). */
  async function completeMerge(pr: PullRequestTable, sha: string, actor: Actor, recovered = false): Promise<boolean> {
    const at = now().toISOString();
    return db.transaction().execute(async (trx) => {
      const done = await trx
        .updateTable("pull_request")
        .set({ state: "merged", merged_at: at, updated_at: at })
        .where("id", "=", pr.id)
        .where("state", "=", "open")
        .where("merge_sha", "=", sha)
        .executeTakeFirst();
      if (Number(done.numUpdatedRows) !== 1) return false;
      await audit.record(
        actor,
        "pull_request.merged",
        `pull_request:${pr.id}`,
        {
          packageId: pr.package_id,
          number: pr.number,
          head: pr.head_sha,
          merge: sha,
          ...(recovered ? { recovered: true, mergedBy: pr.merged_by } : {}),
        },
        { tenantId: pr.tenant_id, trx },
      );
      if (pr.author_id) {
        const merged = { pullId: pr.id, packageId: pr.package_id, number: pr.number, authorId: pr.author_id };
        await notices.pullDecided(trx, { ...merged, step: "merged", key: pr.id });
      }
      return true;
    });
  }

  async function releaseClaim(id: string, sha: string): Promise<void> {
    await db
      .updateTable("pull_request")
      .set({ merge_sha: null, merged_by: null })
      .where("id", "=", id)
      .where("state", "=", "open")
      .where("merge_sha", "=", sha)
      .execute();
  }

  /**
   * Settles the claim a crashed merge left: the branch has the merge commit → the pull request is merged (its
   * event says it was recovered); it does not → the claim is released and the merge may be tried again.
   * Callers hold the package's lock.
   */
  async function settleClaim(repo: RepositoryInfo, pr: PullRequestTable): Promise<"merged" | "released"> {
    const sha = pr.merge_sha as string;
    if (await forge.contains(repo, sha)) {
      await completeMerge(pr, sha, system, true);
      return "merged";
    }
    await releaseClaim(pr.id, sha);
    return "released";
  }

  async function view(pr: PullRequestTable, requiredApprovals: number): Promise<PullRequest> {
    const reviews = await db
      .selectFrom("pull_review")
      .selectAll()
      .where("pull_request_id", "=", pr.id)
      .orderBy("created_at")
      .orderBy("id")
      .execute();
    const comments = reviews.length
      ? await db
          .selectFrom("review_comment")
          .selectAll()
          .where(
            "review_id",
            "in",
            reviews.map((r) => r.id),
          )
          .orderBy("path")
          .orderBy("line")
          .execute()
      : [];
    const out: Review[] = reviews.map((r: PullReviewTable) => ({
      id: r.id,
      reviewerId: r.reviewer_id,
      reviewerLogin: r.reviewer_login,
      verdict: r.verdict as Verdict,
      commitSha: r.commit_sha,
      body: r.body,
      dismissedAt: r.dismissed_at,
      dismissReason: r.dismiss_reason,
      comments: comments
        .filter((c) => c.review_id === r.id)
        .map((c) => ({ path: c.path, line: Number(c.line), body: c.body })),
      createdAt: r.created_at,
    }));
    const { approvals, blocked } = tally(out, pr.head_sha);
    return {
      id: pr.id,
      packageId: pr.package_id,
      number: Number(pr.number),
      title: pr.title,
      description: pr.description,
      sourceBranch: pr.source_branch,
      targetBranch: pr.target_branch,
      headSha: pr.head_sha,
      state: pr.state as PullRequest["state"],
      authorId: pr.author_id,
      mergeSha: pr.merge_sha,
      mergedBy: pr.merged_by,
      mergedAt: pr.merged_at,
      requiredApprovals,
      approvals,
      mergeable: pr.state === "open" && !blocked && approvals >= requiredApprovals,
      reviews: out,
      createdAt: pr.created_at,
      updatedAt: pr.updated_at,
    };
  }

  const service = {
    ensureRepository,

    /** The package's repository made ahead of its first workspace (nothing when it lives on GitHub). */
    async prepareRepository(packageId: string): Promise<void> {
      if (!(await onGithub(packageId))) await ensureRepository(packageId);
    },

    /**
     * Starts making the package's repository in the background once the package is offered, so that the
     * workspace of whoever accepts finds it made (a large source takes a while to clone). A tenant with a
     * GitHub organization is left alone: its lead may still put the repository there until someone accepts.
     * A failure is logged; provisioning tries again and reports it there. `drain` waits for these.
     */
    prepareAhead(packageId: string): void {
      const work: Promise<void> = (async () => {
        const github = await db
          .selectFrom("work_package")
          .innerJoin("tenant_github", "tenant_github.tenant_id", "work_package.tenant_id")
          .select("tenant_github.tenant_id")
          .where("work_package.id", "=", packageId)
          .executeTakeFirst();
        // Made, not recorded: until someone accepts, the tenant may still set up GitHub and its lead put the
        // repository there, which a recorded built-in repository would refuse.
        if (!github) await serial(`repo:${packageId}`, () => makeOnDisk(packageId));
      })()
        .catch((err) =>
          logger.warn(
            { package: packageId, err: err instanceof Error ? err.message : String(err) },
            "making the package's repository ahead of its workspace failed; provisioning tries again",
          ),
        )
        .finally(() => ahead.delete(work));
      ahead.add(work);
    },

    /**
     * Resolves once every repository being made ahead has been made or has failed, and every write that follows
     * an answer (a pull request's pin, what was sent to a fork) has landed (before shutting down).
     */
    async drain(): Promise<void> {
      await Promise.all([...ahead, ...following]);
    },

    /**
     * Provisioning hook, once the workspace's container is made and while it starts: fills the package's object
     * store on the workspace's engine unless it holds the pack already, so that the checkout finds it filled.
     * Nothing for a package on GitHub; a workspace without a store (the warm pool) is refused by the engine.
     * A failure is left to `prepareWorkspace`, which fills the store itself when its checkout finds it unfilled.
     */
    async fillStore(workspace: { packageId: string }, ref: WorkspaceRef): Promise<void> {
      if (await onGithub(workspace.packageId)) return;
      const repo = await ensureRepository(workspace.packageId);
      const store = await serial(`repo:${workspace.packageId}`, () => forge.store(repo));
      await fillStoreOf(workspace.packageId, ref, store, { unless: `ready-${store.pack}` });
    },

    /**
     * Provisioning hook: makes the workspace's fork from the canonical repository and checks it out
     * in the workspace folder with the fork as `origin`, in one exec. Images without git get no fork
     * (noted in the audit log). Run again on a workspace whose checkout was interrupted, it starts over.
     */
    async prepareWorkspace(
      workspace: { id: string; packageId: string; engineerId: string },
      ref: WorkspaceRef,
      folder: string,
    ): Promise<void> {
      const tenantId = await service.tenantOf(workspace.packageId);
      const skip = (reason: string) =>
        audit.record(
          system,
          "repository.fork_skipped",
          `workspace:${workspace.id}`,
          { packageId: workspace.packageId, reason },
          { tenantId },
        );
      if (await onGithub(workspace.packageId)) return void (await skip("the repository is on GitHub"));
      const repo = await ensureRepository(workspace.packageId);
      const user = await db
        .selectFrom("user")
        .select(["name", "email"])
        .where("id", "=", workspace.engineerId)
        .executeTakeFirst();
      const identity = { name: user?.name ?? "engineer", email: user?.email ?? "engineer@localhost" };
      const target = { ref, folder };
      // The fork borrows the package's read-only object store: only what the store lacks travels, and the
      // workspace indexes no history. The first workspace of the package on an engine fills the store.
      const store = await serial(`repo:${workspace.packageId}`, () => forge.store(repo));
      const { refs, bundle } = await forge.publishedBeyond(repo, store);
      const fromStore = { folder: STORE_FOLDER, pack: store.pack, refs };
      // Recorded on the host while the workspace checks out, not after it: a checkout that fails starts over and
      // records them again; for a fork never made (an image without git) they only spare it updates it cannot take.
      const recording = Promise.all([
        forge.markSent(repo, workspace.id, refs),
        forge.grantEngineer(repo, { login: workspace.engineerId }),
      ]);
      const seeding = (async () => {
        let seeded = await seedFork(driver, target, bundle, identity, fromStore);
        if (!seeded.seeded && seeded.store === "store-unfilled") {
          await fillStoreOf(workspace.packageId, ref, store);
          seeded = await seedFork(driver, target, bundle, identity, fromStore);
        }
        if (!seeded.seeded && seeded.store === "no-store") {
          // A workspace made before its package was known (the warm pool): the whole history, into its own volume.
          const whole = await forge.bundlePublished(repo);
          seeded = await seedFork(driver, target, whole.bundle, identity);
          await recording;
          // `refs` are recorded already: only a ref the whole history carries at another commit is recorded again
          const recorded = new Map(refs.map((r) => [r.ref, r.sha]));
          const moved = whole.refs.filter((r) => recorded.get(r.ref) !== r.sha);
          if (seeded.seeded) await forge.markSent(repo, workspace.id, moved);
        }
        return seeded;
      })();
      const [seeded] = await Promise.all([seeding, recording]);
      if (!seeded.seeded) return void (await skip(seeded.reason));
      await audit.record(
        system,
        "repository.fork_created",
        `workspace:${workspace.id}`,
        { packageId: workspace.packageId, head: seeded.head },
        { tenantId },
      );
    },

    /** The engineer opens a pull request from a branch of their workspace's fork to main. */
    async open(actor: Actor, packageId: string, input: NewPullRequest): Promise<PullRequest> {
      if (actor.kind !== "user" || actor.role !== "engineer") throw forbidden(text("pulls.engineerOpens"));
      const pkg = await packageFor(actor, packageId);
      checkBranch(input.branch);
      // The API's schema says so too; the pages call the service directly.
      const title = input.title.trim();
      if (title.length === 0 || title.length > 200) throw invalid("title", text("issue.between", { min: 1, max: 200 }));
      const ws = await db
        .selectFrom("workspace")
        .select(["id", "state", "prepared_at"])
        .where("package_id", "=", packageId)
        .where("engineer_id", "=", actor.userId)
        .where("state", "!=", "destroyed")
        .orderBy("created_at", "desc")
        .executeTakeFirst();
      if (!ws) throw fail("INVALID_STATE", text("pulls.noWorkspace"));
      const repo = await ensureRepository(packageId);
      // The engineer's commits on the host, in a bundle under the data directory: a crash here leaves it to the sweep.
      const imported = await importFork(repo, packageId, ws.id, input.branch, () => pause("pulls.opening.bundled"));
      if (!imported)
        throw fail(
          "INVALID_STATE",
          ws.state === "running" && !ws.prepared_at
            ? text("pulls.checkingOut")
            : text("pulls.workspaceStopped", { state: codeOf("workspace", ws.state) }),
        );
      const head = imported.branches.get(input.branch);
      if (!head) throw invalid("branch", text("pulls.noBranch", { branch: input.branch }));
      if ((imported.ahead ?? (await forge.ahead(repo, head))) === 0)
        throw invalid("branch", text("pulls.noNewCommits", { branch: input.branch, base: repo.defaultBranch }));
      const already = await db
        .selectFrom("pull_request")
        .select("number")
        .where("package_id", "=", packageId)
        .where("workspace_id", "=", ws.id)
        .where("source_branch", "=", input.branch)
        .where("state", "=", "open")
        .executeTakeFirst();
      if (already) throw fail("CONFLICT", text("pulls.alreadyOpen", { number: already.number }));
      const at = now().toISOString();
      const id = randomUUID();
      const number = await db.transaction().execute(async (trx) => {
        const last = await trx
          .selectFrom("pull_request")
          .select((eb) => eb.fn.max("number").as("n"))
          .where("package_id", "=", packageId)
          .executeTakeFirst();
        const n = Number(last?.n ?? 0) + 1;
        await trx
          .insertInto("pull_request")
          .values({
            id,
            package_id: packageId,
            tenant_id: pkg.tenant_id,
            number: n,
            workspace_id: ws.id,
            author_id: actor.userId,
            title,
            description: input.description ?? "",
            source_branch: input.branch,
            target_branch: repo.defaultBranch,
            head_sha: head,
            state: "open",
            merge_sha: null,
            merged_by: null,
            merged_at: null,
            external_id: null,
            created_at: at,
            updated_at: at,
          })
          .execute();
        // The row written and nothing else: a crash here must leave no pull request at all.
        await pause("pulls.opening.inserted");
        await audit.record(
          actor,
          "pull_request.opened",
          `pull_request:${id}`,
          { packageId, number: n, branch: input.branch, head },
          { tenantId: pkg.tenant_id, trx },
        );
        await notices.pullWaiting(trx, { pullId: id, packageId, number: n, title, head, opened: true });
        await movePackageAlong(trx, packages, actor, packageId, [...reviewPaths.opened], `pull request #${n} opened`);
        return n;
      });
      pinLater(repo, packageId, number, head);
      // The fork was read a moment ago: shown as opened, without reading it again.
      const row = await db.selectFrom("pull_request").selectAll().where("id", "=", id).executeTakeFirstOrThrow();
      return view(row, Number(pkg.required_approvals));
    },

    async list(actor: Actor, packageId: string): Promise<PullRequest[]> {
      const pkg = await packageFor(actor, packageId);
      const rows = await db
        .selectFrom("pull_request")
        .selectAll()
        .where("package_id", "=", packageId)
        .orderBy("number", "desc")
        .execute();
      return Promise.all(rows.map((r) => view(r, Number(pkg.required_approvals))));
    },

    /** A pull request as it is now: reading it notices new pushes to the fork. */
    async get(actor: Actor, id: string): Promise<PullRequest> {
      const { pr, pkg } = await visiblePull(actor, id);
      return view(await refresh(pr), Number(pkg.required_approvals));
    },

    async diff(actor: Actor, id: string): Promise<Diff & { headSha: string }> {
      const { pr } = await visiblePull(actor, id);
      const now = await refresh(pr);
      const repo = await ensureRepository(pr.package_id);
      // A merged pull request shows what it brought in: its head against the first parent of the merge.
      const diff = now.merge_sha
        ? await forge.diffBetween(repo, `${now.merge_sha}^1`, now.head_sha)
        : await forge.diff(repo, now.head_sha);
      return { ...diff, headSha: now.head_sha };
    },

    /** A lead approves, requests changes or comments, bound to the head commit it judged. */
    async review(actor: Actor, id: string, input: NewReview): Promise<PullRequest> {
      const { pr: before, pkg } = await visiblePull(actor, id);
      requireLead(actor, "pulls.toReview", before);
      const pr = await refresh(before);
      if (pr.state !== "open")
        throw fail("INVALID_STATE", text("pulls.state", { state: codeOf("pull", pr.state) }), { current: pr.state });
      const comments = input.comments ?? [];
      if (comments.length) {
        const repo = await ensureRepository(pr.package_id);
        const diff = await forge.diff(repo, pr.head_sha);
        comments.forEach((c, i) => {
          const file = diff.files.find((f) => f.path === c.path);
          if (!file) throw invalid(`comments.${i}.path`, text("pulls.pathUnchanged", { path: c.path }));
          const lines = new Set(file.hunks.flatMap((h) => h.lines.map((l) => l.newLine)));
          if (!lines.has(c.line))
            throw invalid(`comments.${i}.line`, text("pulls.lineNotInDiff", { line: c.line, path: c.path }));
        });
      }
      const verdict: Verdict =
        input.verdict === "approve"
          ? "approved"
          : input.verdict === "request_changes"
            ? "changes_requested"
            : "commented";
      if (verdict === "changes_requested" && !input.body?.trim() && comments.length === 0)
        throw invalid("body", text("pulls.sayWhat"));
      const reviewId = randomUUID();
      await db.transaction().execute(async (trx) => {
        await trx
          .insertInto("pull_review")
          .values({
            id: reviewId,
            pull_request_id: pr.id,
            reviewer_id: actor.kind === "user" ? actor.userId : null,
            reviewer_login: null,
            verdict,
            commit_sha: pr.head_sha,
            body: input.body ?? "",
            dismissed_at: null,
            dismiss_reason: null,
            external_id: null,
            created_at: now().toISOString(),
          })
          .execute();
        for (const c of comments) {
          await trx
            .insertInto("review_comment")
            .values({ id: randomUUID(), review_id: reviewId, ...c })
            .execute();
        }
        await audit.record(
          actor,
          `review.${verdict}`,
          `review:${reviewId}`,
          { pullRequestId: pr.id, number: pr.number, commit: pr.head_sha, comments: comments.length },
          { tenantId: pr.tenant_id, trx },
        );
        if (pr.author_id && (verdict === "changes_requested" || verdict === "approved")) {
          const decided = { pullId: pr.id, packageId: pr.package_id, number: pr.number, authorId: pr.author_id };
          await notices.pullDecided(trx, { ...decided, step: verdict, key: reviewId, body: input.body ?? "" });
        }
        if (verdict === "changes_requested")
          await movePackageAlong(
            trx,
            packages,
            actor,
            pr.package_id,
            [...reviewPaths.changesRequested],
            `changes requested on #${pr.number}`,
          );
        if (verdict === "approved")
          await movePackageAlong(
            trx,
            packages,
            actor,
            pr.package_id,
            [...reviewPaths.approved],
            `#${pr.number} approved`,
          );
      });
      return view(pr, Number(pkg.required_approvals));
    },

    /** Merges an approved pull request into main with a merge commit; a conflict is 409 naming the files. */
    async merge(actor: Actor, id: string): Promise<PullRequest> {
      const { pr: before, pkg } = await visiblePull(actor, id);
      requireLead(actor, "pulls.toMerge", before);
      const message = `Merge pull request #${before.number}: ${before.title}\n\nFrom ${before.source_branch}.`;
      // The merge commit of the head as it stands is made while the fork is read (an object nothing points at
      // yet); it is used below only if the head did not move and main is still what it was made on.
      const early =
        before.state === "open"
          ? ensureRepository(before.package_id)
              .then((r) => forge.mergeCommit(r, before.head_sha, message))
              .catch(() => null)
          : Promise.resolve(null);
      const pr = await refresh(before);
      const current = await view(pr, Number(pkg.required_approvals));
      if (pr.state !== "open")
        throw fail("INVALID_STATE", text("pulls.state", { state: codeOf("pull", pr.state) }), { current: pr.state });
      if (!current.mergeable) {
        throw fail(
          "INVALID_STATE",
          text("pulls.notMergeable", { required: current.requiredApprovals, approvals: current.approvals }),
          { current: "open", approvals: current.approvals, required: current.requiredApprovals },
        );
      }
      const repo = await ensureRepository(pr.package_id);
      await serial(`repo:${pr.package_id}`, async () => {
        // As the row is now, under the package's lock: a merge that finished meanwhile (or runs in another
        // process) wins, and this one adds nothing.
        let row = await db.selectFrom("pull_request").selectAll().where("id", "=", pr.id).executeTakeFirstOrThrow();
        if (row.state === "open" && row.merge_sha && (await claimAbandoned(row))) {
          await settleClaim(repo, row);
          row = await db.selectFrom("pull_request").selectAll().where("id", "=", pr.id).executeTakeFirstOrThrow();
        }
        if (row.state !== "open")
          throw fail("INVALID_STATE", text("pulls.state", { state: codeOf("pull", row.state) }), {
            current: row.state,
          });
        if (row.merge_sha) throw fail("CONFLICT", text("pulls.beingMerged"));
        if (row.head_sha !== pr.head_sha) throw fail("CONFLICT", text("pulls.headMoved"));
        const guess = pr.head_sha === before.head_sha ? await early : null;
        const made =
          guess && guess.base === (await forge.headOf(repo, repo.defaultBranch))
            ? guess
            : await forge.mergeCommit(repo, pr.head_sha, message);
        if (!made.ok) {
          await audit.record(
            actor,
            "pull_request.merge_conflict",
            `pull_request:${pr.id}`,
            { files: made.conflicts },
            { tenantId: pr.tenant_id },
          );
          throw fail("CONFLICT", text("pulls.conflict", { files: made.conflicts.join(", ") }), {
            files: made.conflicts,
          });
        }
        // The claim and the branch's move, under the merge's lease (when there are leases): a crash leaves the
        // claim with a lease no live process holds, and whoever comes next settles it.
        const claimAndAdvance = async () => {
          // The claim: the merge commit recorded on the open pull request, by one conditional update that exactly
          // one caller wins, before the branch moves. After a crash it tells reconcile what was under way.
          const claimed = await db
            .updateTable("pull_request")
            .set({
              merge_sha: made.sha,
              merged_by: actor.kind === "user" ? actor.userId : null,
              updated_at: now().toISOString(),
            })
            .where("id", "=", pr.id)
            .where("state", "=", "open")
            .where("merge_sha", "is", null)
            .executeTakeFirst();
          if (Number(claimed.numUpdatedRows) !== 1) {
            throw fail("CONFLICT", text("pulls.beingMerged"));
          }
          if (!(await forge.advance(repo, made.sha, made.base))) {
            await releaseClaim(pr.id, made.sha);
            throw fail("CONFLICT", text("pulls.baseMoved"));
          }
          // The worst moment to die: main has the merge commit, the pull request is still open (settleMerges).
          await pause("pulls.merge.advanced");
          await completeMerge(row, made.sha, actor);
        };
        if (leases && !(await leases.run(`merge:${pr.id}`, randomUUID(), claimAndAdvance))) {
          throw fail("CONFLICT", text("pulls.beingMerged"));
        }
        if (!leases) await claimAndAdvance();
      });
      // The merged main reaches the workspaces before the lead hears it is merged.
      await syncPackageForks(pr.package_id);
      return service.get(actor, id);
    },

    /**
     * Closes the package's open pull requests on this machine, in the caller's transaction, each with why in its
     * audit event: the work they carry is no longer the package's (its assignment ended, or it was cancelled).
     * A merge already claimed finishes; pull requests on GitHub are closed there (github.service).
     */
    async closeOpen(trx: Transaction<Database>, actor: Actor, packageId: string, why: string): Promise<number> {
      const open = await trx
        .selectFrom("pull_request")
        .select(["id", "number", "tenant_id"])
        .where("package_id", "=", packageId)
        .where("state", "=", "open")
        .where("merge_sha", "is", null)
        .where("external_id", "is", null)
        .execute();
      const at = now().toISOString();
      for (const pr of open) {
        await trx
          .updateTable("pull_request")
          .set({ state: "closed", updated_at: at })
          .where("id", "=", pr.id)
          .where("state", "=", "open")
          .where("merge_sha", "is", null)
          .execute();
        await audit.record(
          actor,
          "pull_request.closed",
          `pull_request:${pr.id}`,
          { packageId, number: pr.number, reason: why },
          { tenantId: pr.tenant_id, trx },
        );
      }
      return open.length;
    },

    /** 請負 work is delivered only once its pull request is merged into the canonical main. */
    async deliveryGate(packageId: string): Promise<{ allowed: true } | { allowed: false; reason: Text }> {
      const merged = await db
        .selectFrom("pull_request")
        .select("id")
        .where("package_id", "=", packageId)
        .where("state", "=", "merged")
        .executeTakeFirst();
      return merged ? { allowed: true } : { allowed: false, reason: text("deliveries.noMergedPull") };
    },

    async tenantOf(packageId: string): Promise<string | null> {
      const row = await db
        .selectFrom("work_package")
        .select("tenant_id")
        .where("id", "=", packageId)
        .executeTakeFirst();
      return row?.tenant_id ?? null;
    },

    /** Brings the forks of a package's running workspaces (or of one just started) up to date. */
    syncPackageForks,

    /**
     * The periodic pass over built-in repositories: brings every running workspace's fork up to date with its
     * canonical branches and tags (one that was stopped at a merge, say), and packs each repository with git's
     * own maintenance. Returns how many repositories were packed.
     */
    async maintainRepositories(): Promise<number> {
      const rows = await db.selectFrom("repository").selectAll().where("forge", "=", forge.kind).execute();
      let packed = 0;
      for (const row of rows) {
        await syncPackageForks(row.package_id);
        try {
          if (await serial(`repo:${row.package_id}`, () => forge.maintain(infoOf(row)))) packed++;
        } catch (err) {
          logger.warn(
            { package: row.package_id, err: err instanceof Error ? err.message : String(err) },
            "packing the package's repository failed; the next run tries again",
          );
        }
      }
      return packed;
    },

    /** Settles merges a crash interrupted (claims no live merge holds); returns how many were settled. */
    async settleMerges(): Promise<number> {
      const stale = await db
        .selectFrom("pull_request")
        .selectAll()
        .where("state", "=", "open")
        .where("merge_sha", "is not", null)
        .execute();
      let settled = 0;
      for (const pr of stale) {
        // One repository that cannot be read leaves the others to be settled (and start-up going).
        try {
          const repo = await ensureRepository(pr.package_id);
          await serial(`repo:${pr.package_id}`, async () => {
            const row = await db.selectFrom("pull_request").selectAll().where("id", "=", pr.id).executeTakeFirst();
            if (row?.state === "open" && row.merge_sha && (await claimAbandoned(row))) {
              logger.info({ pullRequest: pr.id, outcome: await settleClaim(repo, row) }, "interrupted merge settled");
              settled++;
            }
          });
        } catch (err) {
          logger.warn(
            { pullRequest: pr.id, err: err instanceof Error ? err.message : String(err) },
            "settling an interrupted merge failed; the next run tries again",
          );
        }
      }
      return settled;
    },

    /** The periodic check: notices pushes to the forks of every open pull request. */
    async refreshOpen(): Promise<number> {
      const open = await db.selectFrom("pull_request").selectAll().where("state", "=", "open").execute();
      let changed = 0;
      for (const pr of open) if ((await refresh(pr)).head_sha !== pr.head_sha) changed++;
      return changed;
    },

    /**
     * Who may read the canonical repository over HTTP: the tenant's contractors and the contract's leads,
     * and its engineer only where the contract allows cloning. Anyone else gets NOT_FOUND.
     */
    async readable(actor: Actor, packageId: string): Promise<RepositoryInfo> {
      const pkg = await packageFor(actor, packageId);
      if (actor.kind === "user" && actor.role === "engineer" && !Number(pkg.engineer_clone_allowed))
        throw notFound("repository");
      return ensureRepository(packageId);
    },
  };
  return service;
}

export type PullService = ReturnType<typeof createPullService>;
