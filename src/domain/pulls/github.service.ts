// Tenants who keep code on GitHub: their organization and token (a secret, never shown again), a repository
// per package made there, and the signed webhooks that bring its pull requests and reviews into Azusa.
import { randomBytes, randomUUID } from "node:crypto";
import { Webhooks } from "@octokit/webhooks";
import type { Kysely, Transaction } from "kysely";
import { isSealed, type Sealer, sealContext, tryOpen } from "../../auth/sealed.ts";
import type { Database, PullRequestTable } from "../../db/schema.ts";
import type { RepositoryInfo } from "../../git/forge.ts";
import { createGithubForge, type GithubApi, githubClient } from "../../git/github-forge.ts";
import type { Actor } from "../../kernel/actor.ts";
import { fail, forbidden, invalidField, notFound } from "../../kernel/errors.ts";
import { type Text, text } from "../../kernel/messages.ts";
import type { AuditService } from "../audit/audit.service.ts";
import { visiblePackage } from "../contracts/contracts.service.ts";
import { noStepNotices, type StepNotices } from "../notifications/step-notices.ts";
import type { PackageService } from "../packages/packages.service.ts";
import { dismissStaleApprovals, movePackageAlong, reviewPaths } from "./review-rules.ts";

/** A tenant's GitHub settings as anyone may see them: never the token or the webhook secret. */
export interface GithubSettings {
  organization: string;
  tokenSet: boolean;
  /** Where GitHub sends events; Azusa registers it on each repository it makes, with its secret. */
  webhookUrl: string;
}

export interface GithubRepository {
  packageId: string;
  forge: "github";
  name: string;
  defaultBranch: string;
  protection: { requiredApprovals: number } | null;
  engineers: string[];
}

/** The fields of GitHub's webhook payloads Azusa reads. */
interface PullPayload {
  action: string;
  number: number;
  repository: { full_name: string };
  pull_request: {
    number: number;
    title: string;
    body: string | null;
    merged?: boolean;
    merge_commit_sha?: string | null;
    head: { ref: string; sha: string };
    base: { ref: string };
    user?: { login: string } | null;
  };
  review?: { id: number; state: string; body: string | null; commit_id: string; user?: { login: string } | null };
  sender?: { login: string };
}

/** Options of the GitHub service. */
export interface GithubServiceOptions {
  db: Kysely<Database>;
  /** The token and the webhook secret are stored sealed. */
  sealer: Sealer;
  audit: AuditService;
  packages: PackageService;
  /** Who is told of a pull request's steps, as of the forge's own (leads of new work, the engineer of reviews). */
  notices?: StepNotices;
  /** Azusa's public URL: webhooks point back at it. */
  baseUrl: string;
  /** GitHub's REST API; GitHub Enterprise Server or a test's replay server otherwise. */
  apiUrl: string;
  /** Builds the client for a token; tests may replace it. */
  client?: (token: string) => GithubApi;
  now?: () => Date;
}

const invalid = (path: string, message: Text | string) => invalidField(path, message);

export function createGithubService({
  db,
  audit,
  packages,
  baseUrl,
  apiUrl,
  client = (token) => githubClient(token, apiUrl),
  now = () => new Date(),
  sealer,
  notices = noStepNotices,
}: GithubServiceOptions) {
  const system: Actor = { kind: "system", name: "github" };

  /** The engineer assigned to the package now: the author of its GitHub pull requests, as Azusa knows them. */
  const assignee = async (trx: Transaction<Database>, packageId: string) =>
    (
      await trx
        .selectFrom("assignment")
        .select("engineer_id")
        .where("package_id", "=", packageId)
        .where("ended_at", "is", null)
        .executeTakeFirst()
    )?.engineer_id;

  /** Tells the engineer of a review's verdict or the merge, as a forge pull request's would. */
  async function tellAuthor(
    trx: Transaction<Database>,
    row: PullRequestTable,
    step: "changes_requested" | "approved" | "merged",
    key: string,
    body?: string,
  ) {
    const authorId = row.author_id ?? (await assignee(trx, row.package_id));
    if (!authorId) return;
    await notices.pullDecided(trx, {
      pullId: row.id,
      packageId: row.package_id,
      number: row.number,
      authorId,
      step,
      key,
      ...(body ? { body } : {}),
    });
  }
  const webhookUrl = (tenantId: string) => new URL(`/webhooks/github/${tenantId}`, baseUrl).toString();

  function requireContractorOf(actor: Actor, tenantId: string) {
    if (actor.kind !== "user" || actor.tenantId !== tenantId) throw notFound("tenant");
    if (actor.role !== "contractor") throw forbidden(text("github.contractorsOnly"));
  }

  const storedRow = (tenantId: string) =>
    db.selectFrom("tenant_github").selectAll().where("tenant_id", "=", tenantId).executeTakeFirst();

  /** The tenant's settings with the token and webhook secret opened (throws when one cannot be). */
  async function settingsRow(tenantId: string) {
    const row = await storedRow(tenantId);
    return (
      row && {
        ...row,
        token: sealer.open(row.token, sealContext.githubToken(tenantId)),
        webhook_secret: sealer.open(row.webhook_secret, sealContext.githubWebhookSecret(tenantId)),
      }
    );
  }

  const newWebhookSecret = (tenantId: string) =>
    sealer.seal(randomBytes(32).toString("base64url"), sealContext.githubWebhookSecret(tenantId));

  async function upsertPull(trx: Transaction<Database>, packageId: string, tenantId: string, p: PullPayload) {
    const pr = p.pull_request;
    const existing = await trx
      .selectFrom("pull_request")
      .selectAll()
      .where("package_id", "=", packageId)
      .where("external_id", "=", String(pr.number))
      .executeTakeFirst();
    if (existing) return { row: existing, created: false };
    const at = now().toISOString();
    const row: PullRequestTable = {
      id: randomUUID(),
      package_id: packageId,
      tenant_id: tenantId,
      number: pr.number,
      workspace_id: null,
      author_id: null,
      title: pr.title,
      description: pr.body ?? "",
      source_branch: pr.head.ref,
      target_branch: pr.base.ref,
      head_sha: pr.head.sha,
      state: "open",
      merge_sha: null,
      merged_by: null,
      merged_at: null,
      external_id: String(pr.number),
      created_at: at,
      updated_at: at,
    };
    await trx.insertInto("pull_request").values(row).execute();
    await audit.record(
      system,
      "pull_request.opened",
      `pull_request:${row.id}`,
      { packageId, number: pr.number, branch: pr.head.ref, head: pr.head.sha, login: pr.user?.login ?? null },
      { tenantId, trx },
    );
    await movePackageAlong(
      trx,
      packages,
      system,
      packageId,
      [...reviewPaths.opened],
      `pull request #${pr.number} opened`,
    );
    await notices.pullWaiting(trx, {
      pullId: row.id,
      packageId,
      number: pr.number,
      title: pr.title,
      head: pr.head.sha,
      opened: true,
    });
    return { row, created: true };
  }

  async function onPullRequest(trx: Transaction<Database>, packageId: string, tenantId: string, p: PullPayload) {
    const { row } = await upsertPull(trx, packageId, tenantId, p);
    const at = now().toISOString();
    const pr = p.pull_request;
    if (p.action === "synchronize" && pr.head.sha !== row.head_sha) {
      await trx
        .updateTable("pull_request")
        .set({ head_sha: pr.head.sha, updated_at: at })
        .where("id", "=", row.id)
        .execute();
      await audit.record(
        system,
        "pull_request.pushed",
        `pull_request:${row.id}`,
        { packageId, number: row.number, from: row.head_sha, to: pr.head.sha },
        { tenantId, trx },
      );
      await dismissStaleApprovals(trx, audit, system, row, pr.head.sha, at);
      await movePackageAlong(trx, packages, system, packageId, [...reviewPaths.pushed], "new commits pushed");
      await notices.pullWaiting(trx, {
        pullId: row.id,
        packageId,
        number: row.number,
        title: row.title,
        head: pr.head.sha,
        opened: false,
      });
    } else if (p.action === "closed" && row.state === "open") {
      const merged = Boolean(pr.merged);
      await trx
        .updateTable("pull_request")
        .set({
          state: merged ? "merged" : "closed",
          merge_sha: merged ? (pr.merge_commit_sha ?? null) : null,
          merged_at: merged ? at : null,
          updated_at: at,
        })
        .where("id", "=", row.id)
        .execute();
      await audit.record(
        system,
        merged ? "pull_request.merged" : "pull_request.closed",
        `pull_request:${row.id}`,
        { packageId, number: row.number, merge: pr.merge_commit_sha ?? null, login: p.sender?.login ?? null },
        { tenantId, trx },
      );
      if (merged) await tellAuthor(trx, row, "merged", row.id);
    } else if (p.action === "reopened" && row.state === "closed") {
      await trx.updateTable("pull_request").set({ state: "open", updated_at: at }).where("id", "=", row.id).execute();
      await audit.record(system, "pull_request.reopened", `pull_request:${row.id}`, { packageId }, { tenantId, trx });
    } else if (p.action === "edited") {
      await trx
        .updateTable("pull_request")
        .set({ title: pr.title, description: pr.body ?? "", updated_at: at })
        .where("id", "=", row.id)
        .execute();
    }
  }

  async function onReview(trx: Transaction<Database>, packageId: string, tenantId: string, p: PullPayload) {
    const review = p.review;
    if (!review) return;
    const { row } = await upsertPull(trx, packageId, tenantId, p);
    const known = await trx
      .selectFrom("pull_review")
      .select(["id", "dismissed_at"])
      .where("pull_request_id", "=", row.id)
      .where("external_id", "=", String(review.id))
      .executeTakeFirst();
    if (p.action === "dismissed") {
      if (known && !known.dismissed_at) {
        await trx
          .updateTable("pull_review")
          .set({
            dismissed_at: now().toISOString(),
            dismiss_reason: `dismissed on GitHub by ${p.sender?.login ?? "?"}`,
          })
          .where("id", "=", known.id)
          .execute();
        await audit.record(
          system,
          "review.dismissed",
          `review:${known.id}`,
          { pullRequestId: row.id },
          { tenantId, trx },
        );
      }
      return;
    }
    if (p.action !== "submitted" || known) return; // a redelivered event changes nothing
    const verdict =
      { approved: "approved", changes_requested: "changes_requested" }[review.state.toLowerCase()] ?? "commented";
    const id = randomUUID();
    await trx
      .insertInto("pull_review")
      .values({
        id,
        pull_request_id: row.id,
        reviewer_id: null,
        reviewer_login: review.user?.login ?? null,
        verdict,
        commit_sha: review.commit_id,
        body: review.body ?? "",
        dismissed_at: null,
        dismiss_reason: null,
        external_id: String(review.id),
        created_at: now().toISOString(),
      })
      .execute();
    await audit.record(
      system,
      `review.${verdict}`,
      `review:${id}`,
      { pullRequestId: row.id, number: row.number, commit: review.commit_id, login: review.user?.login ?? null },
      { tenantId, trx },
    );
    if (verdict === "changes_requested" || verdict === "approved")
      await tellAuthor(trx, row, verdict, id, review.body ?? "");
    if (verdict === "changes_requested")
      await movePackageAlong(
        trx,
        packages,
        system,
        packageId,
        [...reviewPaths.changesRequested],
        `changes requested on #${row.number}`,
      );
    if (verdict === "approved")
      await movePackageAlong(trx, packages, system, packageId, [...reviewPaths.approved], `#${row.number} approved`);
  }

  const service = {
    /** Seals every token and webhook secret stored before sealing existed (at start-up); returns how many. */
    async sealStoredSecrets(): Promise<number> {
      return db.transaction().execute(async (trx) => {
        let count = 0;
        const rows = await trx.selectFrom("tenant_github").select(["tenant_id", "token", "webhook_secret"]).execute();
        for (const gh of rows) {
          if (isSealed(gh.token) && isSealed(gh.webhook_secret)) continue;
          await trx
            .updateTable("tenant_github")
            .set({
              token: isSealed(gh.token) ? gh.token : sealer.seal(gh.token, sealContext.githubToken(gh.tenant_id)),
              webhook_secret: isSealed(gh.webhook_secret)
                ? gh.webhook_secret
                : sealer.seal(gh.webhook_secret, sealContext.githubWebhookSecret(gh.tenant_id)),
            })
            .where("tenant_id", "=", gh.tenant_id)
            .execute();
          count++;
        }
        return count;
      });
    },

    async settings(actor: Actor, tenantId: string): Promise<GithubSettings> {
      requireContractorOf(actor, tenantId);
      // Nothing sealed is opened to show these: they stay readable when AZUSA_SECRET has changed.
      const row = await storedRow(tenantId);
      if (!row) throw notFound("githubSettings");
      return { organization: row.organization, tokenSet: true, webhookUrl: webhookUrl(tenantId) };
    },

    /**
     * Sets the organization and token; the webhook secret is made once, so that earlier repositories' hooks
     * keep working, and made anew only when the stored one cannot be opened (AZUSA_SECRET changed): then
     * the audit event says so, and earlier repositories' hooks need the new secret.
     */
    async configure(
      actor: Actor,
      tenantId: string,
      input: { organization: string; token: string },
    ): Promise<GithubSettings> {
      requireContractorOf(actor, tenantId);
      const at = now().toISOString();
      await db.transaction().execute(async (trx) => {
        const had = await trx
          .selectFrom("tenant_github")
          .select("webhook_secret")
          .where("tenant_id", "=", tenantId)
          .executeTakeFirst();
        const values = {
          organization: input.organization,
          token: sealer.seal(input.token, sealContext.githubToken(tenantId)),
          updated_at: at,
        };
        const unreadable =
          had !== undefined &&
          tryOpen(sealer, had.webhook_secret, sealContext.githubWebhookSecret(tenantId)) === undefined;
        if (had)
          await trx
            .updateTable("tenant_github")
            .set(unreadable ? { ...values, webhook_secret: newWebhookSecret(tenantId) } : values)
            .where("tenant_id", "=", tenantId)
            .execute();
        else
          await trx
            .insertInto("tenant_github")
            .values({ tenant_id: tenantId, ...values, webhook_secret: newWebhookSecret(tenantId) })
            .execute();
        // The token and the secret stay out of the audit log.
        await audit.record(
          actor,
          "github.configured",
          `tenant:${tenantId}`,
          {
            organization: input.organization,
            ...(unreadable
              ? {
                  webhookSecretRegenerated:
                    "the stored webhook secret could not be opened (AZUSA_SECRET changed?): a new one was made; earlier repositories' hooks need it",
                }
              : {}),
          },
          { trx },
        );
      });
      return service.settings(actor, tenantId);
    },

    /**
     * The contract's lead puts the package's repository on GitHub: private, in the tenant's organization,
     * its default branch protected by the contract's required approvals, the engineer with push access.
     */
    async createRepository(
      actor: Actor,
      packageId: string,
      input: { engineerLogin: string },
    ): Promise<GithubRepository> {
      const pkg = await visiblePackage(db, actor, packageId, (q) =>
        q.select([
          "work_package.id",
          "work_package.tenant_id",
          "work_package.wbs_id",
          "work_package.title",
          "contract.required_approvals",
        ]),
      );
      if (actor.kind !== "user" || actor.role !== "lead") throw forbidden(text("github.leadSetsUp"));
      const settings = await settingsRow(pkg.tenant_id);
      if (!settings) throw fail("INVALID_STATE", text("github.noOrganization"));
      const existing = await db
        .selectFrom("repository")
        .select("forge")
        .where("package_id", "=", packageId)
        .executeTakeFirst();
      if (existing) throw fail("CONFLICT", text("github.hasRepository", { forge: existing.forge }));
      const forge = createGithubForge({
        organization: settings.organization,
        octokit: client(settings.token),
        webhook: { url: webhookUrl(pkg.tenant_id), secret: settings.webhook_secret },
      });
      const repo: RepositoryInfo = await forge.createRepository({
        tenantId: pkg.tenant_id,
        packageId,
        title: `${pkg.wbs_id} ${pkg.title}`,
      });
      const requiredApprovals = Number(pkg.required_approvals ?? 1);
      await forge.protectDefaultBranch(repo, { requiredApprovals });
      await forge.grantEngineer(repo, { login: input.engineerLogin });
      await db.transaction().execute(async (trx) => {
        await trx
          .insertInto("repository")
          .values({
            package_id: packageId,
            tenant_id: pkg.tenant_id,
            forge: "github",
            name: repo.name,
            default_branch: repo.defaultBranch,
            created_at: now().toISOString(),
          })
          .execute();
        await audit.record(
          actor,
          "repository.created",
          `package:${packageId}`,
          { forge: "github", name: repo.name, engineerLogin: input.engineerLogin, requiredApprovals },
          { trx },
        );
      });
      return {
        packageId,
        forge: "github",
        name: repo.name,
        defaultBranch: repo.defaultBranch,
        protection: { requiredApprovals },
        engineers: [input.engineerLogin],
      };
    },

    /**
     * Closes the package's open pull requests on GitHub, saying why in a comment there and in the audit log:
     * the work they carry is no longer the package's (its assignment ended, or it was cancelled). One GitHub
     * does not close is left open, with a `pull_request.close_failed` event saying why. Returns how many closed.
     */
    async closeOpen(actor: Actor, packageId: string, why: string): Promise<number> {
      const open = await db
        .selectFrom("pull_request")
        .select(["id", "number", "tenant_id", "external_id"])
        .where("package_id", "=", packageId)
        .where("state", "=", "open")
        .where("external_id", "is not", null)
        .execute();
      if (open.length === 0) return 0;
      const repo = await db
        .selectFrom("repository")
        .select(["name", "default_branch", "tenant_id"])
        .where("package_id", "=", packageId)
        .where("forge", "=", "github")
        .executeTakeFirst();
      const settings = repo && (await settingsRow(repo.tenant_id).catch(() => undefined));
      const forge =
        settings && createGithubForge({ organization: settings.organization, octokit: client(settings.token) });
      let closed = 0;
      for (const pr of open) {
        const subject = `pull_request:${pr.id}`;
        try {
          if (!repo || !forge) throw fail("INVALID_STATE", text("github.settingsUnreadable"));
          await forge.closePullRequest(
            { name: repo.name, defaultBranch: repo.default_branch },
            Number(pr.external_id),
            why,
          );
        } catch (err) {
          const error = err instanceof Error ? err.message : String(err);
          await audit.record(
            actor,
            "pull_request.close_failed",
            subject,
            { packageId, number: pr.number, reason: why, error },
            { tenantId: pr.tenant_id },
          );
          continue;
        }
        await db.transaction().execute(async (trx) => {
          const done = await trx
            .updateTable("pull_request")
            .set({ state: "closed", updated_at: now().toISOString() })
            .where("id", "=", pr.id)
            .where("state", "=", "open")
            .executeTakeFirst();
          // GitHub's own "closed" event may have been handled meanwhile, with its event
          if (Number(done.numUpdatedRows) !== 1) return;
          await audit.record(
            actor,
            "pull_request.closed",
            subject,
            { packageId, number: pr.number, reason: why, forge: "github" },
            { tenantId: pr.tenant_id, trx },
          );
          closed++;
        });
      }
      return closed;
    },

    /**
     * A webhook delivery: refused unless signed with the tenant's secret; `pull_request` and
     * `pull_request_review` events update pull requests, reviews and the package. Returns what it did.
     */
    async receive(
      tenantId: string,
      delivery: { event: string; signature: string; payload: string },
    ): Promise<{ handled: boolean }> {
      // A secret that cannot be opened (AZUSA_SECRET changed) verifies nothing, as a wrong signature.
      const settings = await settingsRow(tenantId).catch(() => undefined);
      const ok =
        settings !== undefined &&
        delivery.signature !== "" &&
        (await new Webhooks({ secret: settings.webhook_secret })
          .verify(delivery.payload, delivery.signature)
          .catch(() => false));
      if (!ok) throw fail("UNAUTHENTICATED", text("webhooks.badSignature"));
      if (delivery.event !== "pull_request" && delivery.event !== "pull_request_review") return { handled: false };
      let p: PullPayload;
      try {
        p = JSON.parse(delivery.payload) as PullPayload;
      } catch {
        throw invalid("body", "not JSON");
      }
      if (typeof p !== "object" || p === null || !p.repository?.full_name || !p.pull_request?.head)
        throw invalid("body", "not a pull request event");
      const repo = await db
        .selectFrom("repository")
        .select(["package_id", "tenant_id"])
        .where("forge", "=", "github")
        .where("tenant_id", "=", tenantId)
        .where("name", "=", p.repository.full_name)
        .executeTakeFirst();
      if (!repo) return { handled: false }; // a repository Azusa did not make
      await db
        .transaction()
        .execute((trx) =>
          delivery.event === "pull_request"
            ? onPullRequest(trx, repo.package_id, repo.tenant_id, p)
            : onReview(trx, repo.package_id, repo.tenant_id, p),
        );
      return { handled: true };
    },
  };
  return service;
}

export type GithubService = ReturnType<typeof createGithubService>;
