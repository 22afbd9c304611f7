// HTTP for the engineers a lead lets decide disputed task items: granting the right for a batch or a contract's
// every batch, listing the grants, revoking one.
import { createRoute, z } from "@hono/zod-openapi";
import type { TaskAdjudicatorService } from "../../domain/tasks/adjudicators.service.ts";
import { errorResponses } from "../../http/errors.ts";
import { actorOf, createRouter } from "../../http/router.ts";
import { Id, IdParam, json } from "../schemas.ts";

const Grant = z
  .object({
    id: z.string(),
    contractId: z.string(),
    batchId: z.string().nullable().describe("the batch it is for; null for every batch of the contract"),
    userId: z.string(),
    name: z.string(),
    grantedBy: z.string(),
    grantedAt: z.string(),
    revokedBy: z.string().nullable(),
    revokedAt: z.string().nullable(),
  })
  .openapi("TaskAdjudicator");

const grant = createRoute({
  method: "post",
  path: "/contracts/{id}/task-adjudicators",
  tags: ["tasks"],
  summary: "Let an engineer decide the disputed items of one batch, or of every batch of the contract (its leads)",
  request: {
    params: IdParam,
    body: {
      required: true,
      content: json(
        z.strictObject({
          engineerId: Id,
          batchId: Id.optional().describe("one batch of the contract; omitted for every batch of it"),
        }),
      ),
    },
  },
  responses: { 201: { description: "The grant", content: json(Grant) }, ...errorResponses },
});
const list = createRoute({
  method: "get",
  path: "/contracts/{id}/task-adjudicators",
  tags: ["tasks"],
  summary: "The contract's grants to decide disputed task items, revoked ones too (its contractors and leads)",
  request: { params: IdParam },
  responses: {
    200: { description: "Grants", content: json(z.object({ items: z.array(Grant) })) },
    ...errorResponses,
  },
});
const revoke = createRoute({
  method: "delete",
  path: "/task-adjudicators/{id}",
  tags: ["tasks"],
  summary: "Revoke a grant (the contract's leads); the row stays, marked",
  request: { params: IdParam },
  responses: { 200: { description: "The grant, revoked", content: json(Grant) }, ...errorResponses },
});

export const taskAdjudicatorRoutes = (deps: { taskAdjudicators: TaskAdjudicatorService }) =>
  createRouter()
    .openapi(grant, async (c) =>
      c.json(await deps.taskAdjudicators.grant(actorOf(c), c.req.valid("param").id, c.req.valid("json")), 201),
    )
    .openapi(list, async (c) =>
      c.json({ items: await deps.taskAdjudicators.list(actorOf(c), c.req.valid("param").id) }, 200),
    )
    .openapi(revoke, async (c) => c.json(await deps.taskAdjudicators.revoke(actorOf(c), c.req.valid("param").id), 200));
