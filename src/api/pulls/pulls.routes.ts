// HTTP for pull requests: opened by the package's engineer from a fork branch, reviewed and merged by the lead.
import { createRoute, z } from "@hono/zod-openapi";
import type { PullService } from "../../domain/pulls/pulls.service.ts";
import { errorResponses } from "../../http/errors.ts";
import { actorOf, createRouter } from "../../http/router.ts";
import { NameText } from "../../kernel/text.ts";
import { IdParam, json } from "../schemas.ts";

const Comment = z.strictObject({
  path: z.string().min(1).max(1000),
  line: z.number().int().positive().describe("line number on the new side of the diff"),
  body: z.string().trim().min(1).max(10_000),
});

const Review = z.object({
  id: z.string(),
  reviewerId: z.string().nullable(),
  reviewerLogin: z.string().nullable().describe("the GitHub login, for reviews made there"),
  verdict: z.enum(["approved", "changes_requested", "commented"]),
  commitSha: z.string().describe("the head commit the review judged"),
  body: z.string(),
  dismissedAt: z.string().nullable(),
  dismissReason: z.string().nullable(),
  comments: z.array(Comment),
  createdAt: z.string(),
});

const PullRequest = z
  .object({
    id: z.string(),
    packageId: z.string(),
    number: z.number(),
    title: z.string(),
    description: z.string(),
    sourceBranch: z.string(),
    targetBranch: z.string(),
    headSha: z.string(),
    state: z.enum(["open", "merged", "closed"]),
    authorId: z.string().nullable(),
    mergeSha: z.string().nullable(),
    mergedBy: z.string().nullable(),
    mergedAt: z.string().nullable(),
    requiredApprovals: z.number(),
    approvals: z.number().describe("reviewers whose latest review approves the current head"),
    mergeable: z.boolean(),
    reviews: z.array(Review),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("PullRequest");

const DiffLine = z.object({
  kind: z.enum(["context", "add", "delete"]),
  text: z.string(),
  oldLine: z.number().nullable(),
  newLine: z.number().nullable(),
});
const Diff = z
  .object({
    headSha: z.string(),
    files: z.array(
      z.object({
        path: z.string(),
        oldPath: z.string(),
        status: z.enum(["added", "deleted", "modified", "renamed"]),
        binary: z.boolean(),
        additions: z.number(),
        deletions: z.number(),
        hunks: z.array(
          z.object({
            header: z.string(),
            oldStart: z.number(),
            oldLines: z.number(),
            newStart: z.number(),
            newLines: z.number(),
            lines: z.array(DiffLine),
          }),
        ),
      }),
    ),
    stats: z.object({ files: z.number(), additions: z.number(), deletions: z.number() }),
  })
  .openapi("PullRequestDiff");

const one = { 200: { description: "The pull request", content: json(PullRequest) }, ...errorResponses };

const open = createRoute({
  method: "post",
  path: "/packages/{id}/pulls",
  tags: ["pull requests"],
  summary: "Open a pull request from a branch of the workspace's fork to main (the package's engineer)",
  request: {
    params: IdParam,
    body: {
      required: true,
      content: json(
        z.strictObject({
          branch: z.string().min(1).max(200).describe("a branch pushed to the workspace's origin"),
          title: NameText(200),
          description: z.string().max(20_000).optional(),
        }),
      ),
    },
  },
  responses: { 201: { description: "Opened", content: json(PullRequest) }, ...errorResponses },
});

const list = createRoute({
  method: "get",
  path: "/packages/{id}/pulls",
  tags: ["pull requests"],
  summary: "The package's pull requests, newest first",
  request: { params: IdParam },
  responses: {
    200: { description: "Pull requests", content: json(z.object({ items: z.array(PullRequest) })) },
    ...errorResponses,
  },
});

const get = createRoute({
  method: "get",
  path: "/pulls/{id}",
  tags: ["pull requests"],
  summary: "A pull request with its reviews; reading it notices new pushes to the fork",
  request: { params: IdParam },
  responses: one,
});

const diff = createRoute({
  method: "get",
  path: "/pulls/{id}/diff",
  tags: ["pull requests"],
  summary: "What the pull request changes: files, hunks and line numbers, with totals",
  request: { params: IdParam },
  responses: { 200: { description: "The diff", content: json(Diff) }, ...errorResponses },
});

const review = createRoute({
  method: "post",
  path: "/pulls/{id}/reviews",
  tags: ["pull requests"],
  summary: "Approve, request changes or comment, with comments on lines (the contract's lead)",
  request: {
    params: IdParam,
    body: {
      required: true,
      content: json(
        z.strictObject({
          verdict: z.enum(["approve", "request_changes", "comment"]),
          body: z.string().max(20_000).optional(),
          comments: z.array(Comment).max(200).optional(),
        }),
      ),
    },
  },
  responses: { 201: { description: "Reviewed", content: json(PullRequest) }, ...errorResponses },
});

const merge = createRoute({
  method: "post",
  path: "/pulls/{id}/merge",
  tags: ["pull requests"],
  summary: "Merge an approved pull request into main (the contract's lead); 409 naming the files on a conflict",
  request: { params: IdParam },
  responses: one,
});

export const pullRoutes = (deps: { pulls: PullService }) =>
  createRouter()
    .openapi(open, async (c) =>
      c.json(await deps.pulls.open(actorOf(c), c.req.valid("param").id, c.req.valid("json")), 201),
    )
    .openapi(list, async (c) => c.json({ items: await deps.pulls.list(actorOf(c), c.req.valid("param").id) }, 200))
    .openapi(get, async (c) => c.json(await deps.pulls.get(actorOf(c), c.req.valid("param").id), 200))
    .openapi(diff, async (c) => c.json(await deps.pulls.diff(actorOf(c), c.req.valid("param").id), 200))
    .openapi(review, async (c) =>
      c.json(await deps.pulls.review(actorOf(c), c.req.valid("param").id, c.req.valid("json")), 201),
    )
    .openapi(merge, async (c) => c.json(await deps.pulls.merge(actorOf(c), c.req.valid("param").id), 200));
