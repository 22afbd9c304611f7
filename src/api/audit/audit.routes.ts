// HTTP for the audit log: operators read all of it, contractors their tenant's part.
import { createRoute, z } from "@hono/zod-openapi";
import type { AuditService } from "../../domain/audit/audit.service.ts";
import { errorResponses } from "../../http/errors.ts";
import { actorOf, createRouter } from "../../http/router.ts";
import { forbidden } from "../../kernel/errors.ts";
import { text } from "../../kernel/messages.ts";
import { json } from "../schemas.ts";

const AuditEvent = z
  .object({
    seq: z.number(),
    at: z.string(),
    actorId: z.string().nullable(),
    actorRole: z.string().nullable(),
    tenantId: z.string().nullable(),
    action: z.string(),
    subject: z.string(),
    details: z.record(z.string(), z.unknown()),
    hash: z.string(),
  })
  .openapi("AuditEvent");

const list = createRoute({
  method: "get",
  path: "/audit-events",
  tags: ["audit"],
  summary: "Audit events, newest first",
  request: {
    query: z.strictObject({
      limit: z.coerce.number().int().min(1).max(1000).default(100),
      beforeSeq: z.coerce.number().int().min(1).optional(),
    }),
  },
  responses: {
    200: { description: "Events", content: json(z.object({ items: z.array(AuditEvent) })) },
    ...errorResponses,
  },
});

const verify = createRoute({
  method: "get",
  path: "/audit-events/verify",
  tags: ["audit"],
  summary: "Walk the hash chain (operators)",
  responses: {
    200: {
      description: "Result of the walk",
      content: json(
        z.object({
          ok: z.boolean(),
          checked: z.number(),
          firstBad: z.object({ seq: z.number(), problem: z.string() }).optional(),
        }),
      ),
    },
    ...errorResponses,
  },
});

export const auditRoutes = (deps: { audit: AuditService }) =>
  createRouter()
    .openapi(list, async (c) => {
      const actor = actorOf(c);
      const query = c.req.valid("query");
      if (actor.kind === "user" && actor.role !== "operator") {
        if (actor.role !== "contractor" || !actor.tenantId) throw forbidden(text("audit.whoReads"));
        return c.json({ items: await deps.audit.list({ ...query, tenantId: actor.tenantId }) }, 200);
      }
      return c.json({ items: await deps.audit.list(query) }, 200);
    })
    .openapi(verify, async (c) => {
      const actor = actorOf(c);
      if (actor.kind === "user" && actor.role !== "operator") throw forbidden(text("audit.whoVerifies"));
      return c.json(await deps.audit.verify(), 200);
    });
