// The GitHub forge: a private repository per package in the tenant's organization, its default branch
// protected by the lead's review, the engineer added with push access, and a webhook back to Azusa.
import { Octokit } from "@octokit/rest";
import { fail } from "../kernel/errors.ts";
import { text } from "../kernel/messages.ts";
import type { Forge, RepositoryInfo, RepositorySpec } from "./forge.ts";

/** The part of Octokit the forge uses; tests point a real Octokit at a replay server. */
export type GithubApi = Pick<Octokit, "rest">;

/** Options of the GitHub forge. */
export interface GithubForgeOptions {
  /** The tenant's organization, where repositories are made. */
  organization: string;
  /** An Octokit carrying the tenant's token; see githubClient. */
  octokit: GithubApi;
  /** Where GitHub sends `pull_request` and `pull_request_review` events, and the secret that signs them. */
  webhook?: { url: string; secret: string };
}

/** An Octokit for a tenant's token; `baseUrl` is GitHub's API unless a test replays it. */
export function githubClient(token: string, baseUrl = "https://api.github.com"): Octokit {
  // No logging of requests: the token travels in their headers.
  return new Octokit({
    auth: token,
    baseUrl,
    userAgent: "azusa",
    log: { debug() {}, info() {}, warn() {}, error() {} },
  });
}

const status = (err: unknown) => (err as { status?: number }).status;

/** Turns an API failure into an AppError whose message never carries the token or the raw request. */
function apiError(err: unknown, action: string): Error {
  const s = status(err);
  const message = (err as { message?: string }).message ?? "";
  if (s === 401 || s === 403) return fail("UNAVAILABLE", text("github.refused", { action, status: s }));
  if (s === 404) return fail("NOT_FOUND", text("github.notFound", { action }));
  if (s === 422) return fail("VALIDATION", text("github.invalid", { action, message: message.slice(0, 200) }));
  return fail("UNAVAILABLE", text("github.failed", { action, status: s ? ` (${s})` : "" }));
}

/** The repository name for a package: stable, and unique within the organization. */
export const githubRepoName = (packageId: string) => `azusa-${packageId}`;

export function createGithubForge({ organization, octokit, webhook }: GithubForgeOptions) {
  const split = (repo: RepositoryInfo) => {
    const [owner = "", name = ""] = repo.name.split("/");
    return { owner, repo: name };
  };

  const forge = {
    kind: "github" as const,

    async createRepository(spec: RepositorySpec): Promise<RepositoryInfo> {
      const name = githubRepoName(spec.packageId);
      let data: { full_name: string; default_branch: string };
      try {
        ({ data } = await octokit.rest.repos.createInOrg({
          org: organization,
          name,
          private: true,
          description: spec.title,
          auto_init: true, // a first commit on the default branch, so that it can be protected at once
          has_wiki: false,
        }));
      } catch (err) {
        // 422: the repository exists already (an earlier attempt); it is ours by name.
        if (status(err) !== 422) throw apiError(err, "creating the repository");
        try {
          ({ data } = await octokit.rest.repos.get({ owner: organization, repo: name }));
        } catch (again) {
          throw apiError(again, "reading the repository");
        }
      }
      const info = { name: data.full_name, defaultBranch: data.default_branch };
      if (webhook) {
        try {
          await octokit.rest.repos.createWebhook({
            ...split(info),
            events: ["pull_request", "pull_request_review"],
            config: { url: webhook.url, content_type: "json", secret: webhook.secret, insecure_ssl: "0" },
          });
        } catch (err) {
          // 422: the same hook exists already.
          if (status(err) !== 422) throw apiError(err, "adding the webhook");
        }
      }
      return info;
    },

    async headOf(repo: RepositoryInfo, branch: string): Promise<string | null> {
      try {
        const { data } = await octokit.rest.repos.getBranch({ ...split(repo), branch });
        return data.commit.sha;
      } catch (err) {
        if (status(err) === 404) return null;
        throw apiError(err, "reading the branch");
      }
    },

    async protectDefaultBranch(repo: RepositoryInfo, rule: { requiredApprovals: number }): Promise<void> {
      try {
        await octokit.rest.repos.updateBranchProtection({
          ...split(repo),
          branch: repo.defaultBranch,
          required_status_checks: null,
          // Admins too: nobody reaches the default branch without the lead's review.
          enforce_admins: true,
          required_pull_request_reviews: {
            required_approving_review_count: rule.requiredApprovals,
            dismiss_stale_reviews: true,
            require_code_owner_reviews: false,
          },
          restrictions: null,
          allow_force_pushes: false,
          allow_deletions: false,
        });
      } catch (err) {
        throw apiError(err, "protecting the default branch");
      }
    },

    async protection(repo: RepositoryInfo): Promise<{ requiredApprovals: number } | null> {
      try {
        const { data } = await octokit.rest.repos.getBranchProtection({ ...split(repo), branch: repo.defaultBranch });
        const count = data.required_pull_request_reviews?.required_approving_review_count;
        return count === undefined ? null : { requiredApprovals: count };
      } catch (err) {
        if (status(err) === 404) return null;
        throw apiError(err, "reading the branch protection");
      }
    },

    async grantEngineer(repo: RepositoryInfo, engineer: { login: string }): Promise<void> {
      try {
        // push: the least role that can push branches and open pull requests; protection keeps main shut.
        await octokit.rest.repos.addCollaborator({ ...split(repo), username: engineer.login, permission: "push" });
      } catch (err) {
        throw apiError(err, "adding the engineer");
      }
    },

    async engineers(repo: RepositoryInfo): Promise<string[]> {
      try {
        const [{ data: people }, { data: invited }] = await Promise.all([
          octokit.rest.repos.listCollaborators({ ...split(repo), affiliation: "direct", per_page: 100 }),
          octokit.rest.repos.listInvitations({ ...split(repo), per_page: 100 }),
        ]);
        const pushers = people.filter((p) => p.permissions?.push && !p.permissions.admin).map((p) => p.login);
        const pending = invited.filter((i) => i.permissions === "write").map((i) => i.invitee?.login ?? "");
        return [...new Set([...pushers, ...pending].filter(Boolean))].sort();
      } catch (err) {
        throw apiError(err, "listing collaborators");
      }
    },
  } satisfies Forge;
  return {
    ...forge,

    /** Closes a pull request, saying why in a comment on it first; one closed already stays closed. */
    async closePullRequest(repo: RepositoryInfo, number: number, why: string): Promise<void> {
      try {
        await octokit.rest.issues.createComment({ ...split(repo), issue_number: number, body: why });
        await octokit.rest.pulls.update({ ...split(repo), pull_number: number, state: "closed" });
      } catch (err) {
        throw apiError(err, `closing pull request #${number}`);
      }
    },
  };
}

export type GithubForge = ReturnType<typeof createGithubForge>;
