// Webhook payloads as GitHub sends them for pull requests and their reviews: whole payloads built from the
// examples GitHub publishes with its OpenAPI description (a pull request, a repository, a user, a review), with
// the fields Azusa reads set by the test. Each is checked against the description's `x-webhooks` schema when it
// is delivered (github-openapi.ts), so that a payload Azusa is tested with is one GitHub could send.
import { githubDescription } from "./github-openapi.ts";

type Json = Record<string, unknown>;

/** What a test says about a pull request; the rest of the payload is GitHub's example. */
export interface PullFields {
  /** `owner/name`. */
  repository: string;
  number: number;
  title: string;
  body: string;
  head: { ref: string; sha: string };
  base: { ref: string };
  /** Who opened it. */
  author: string;
  merged?: boolean;
  mergeCommitSha?: string | null;
}

const user = (login: string): Json => ({ ...githubDescription().example("simple-user"), login });

/** The repository of GitHub's example pull request, as `owner/name`, private (as Azusa makes them). */
function repository(fullName: string): Json {
  const [owner = "", name = ""] = fullName.split("/");
  const repo = (githubDescription().example("pull-request").base as Json).repo as Json;
  return {
    ...repo,
    name,
    full_name: fullName,
    private: true,
    visibility: "private",
    has_discussions: false,
    owner: { ...(repo.owner as Json), login: owner },
  };
}

/** GitHub's example pull request with the test's fields. */
function pullRequest(f: PullFields, closed = false): Json {
  const pr = githubDescription().example("pull-request");
  const repo = repository(f.repository);
  return {
    ...pr,
    number: f.number,
    title: f.title,
    body: f.body,
    state: closed || f.merged ? "closed" : "open",
    user: user(f.author),
    head: { ...(pr.head as Json), ref: f.head.ref, sha: f.head.sha, repo },
    base: { ...(pr.base as Json), ref: f.base.ref, repo },
    requested_teams: [],
    merged: f.merged ?? false,
    merge_commit_sha: f.mergeCommitSha ?? null,
  };
}

/**
 * A `pull_request` event (`opened`, `synchronize` from `before`, `closed`…) sent by the pull request's author.
 */
export function pullRequestEvent(action: string, f: PullFields, before?: string): Json {
  return {
    action,
    // a push to the pull request's branch says where it moved from and to
    ...(action === "synchronize" ? { before: before ?? f.head.sha, after: f.head.sha } : {}),
    number: f.number,
    pull_request: pullRequest(f, action === "closed"),
    repository: repository(f.repository),
    sender: user(f.author),
  };
}

/** A `pull_request_review` `submitted` event: `reviewer` judged `commit` (`approved`, `changes_requested`…). */
export function reviewEvent(
  f: PullFields,
  review: { id: number; state: string; body: string; commit: string; reviewer: string },
): Json {
  return {
    action: "submitted",
    pull_request: pullRequest(f),
    review: {
      ...githubDescription().example("pull-request-review"),
      id: review.id,
      state: review.state,
      body: review.body,
      commit_id: review.commit,
      user: user(review.reviewer),
    },
    repository: repository(f.repository),
    sender: user(review.reviewer),
  };
}
