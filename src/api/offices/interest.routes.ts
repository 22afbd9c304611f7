// HTTP for interest registrations: the office's operators read them, invite one as an engineer, or delete one
// on the person's request. Registering happens on the office's public page, not here.
import { createRoute, z } from "@hono/zod-openapi";
import type { InterestService } from "../../domain/offices/interest.service.ts";
import { errorResponses } from "../../http/errors.ts";
import { actorOf, createRouter } from "../../http/router.ts";
import { IdParam, json } from "../schemas.ts";

const Registration = z
  .object({
    id: z.string(),
    officeId: z.string(),
    name: z.string(),
    email: z.string(),
    skills: z.array(z.object({ skill: z.string(), level: z.number().int() })),
    movingWhen: z.string().describe("when they might move, in their words"),
    consentText: z.string().describe("the consent text they agreed to, word for word"),
    createdAt: z.string(),
    deleteAfter: z.string().describe("when the retention period ends and it is deleted"),
    invitationId: z.string().nullable(),
    invitedAt: z.string().nullable(),
  })
  .openapi("InterestRegistration");

const list = createRoute({
  method: "get",
  path: "/offices/{id}/interests",
  tags: ["offices"],
  summary: "The office's interest registrations, newest first (its operators, office admins)",
  request: { params: IdParam },
  responses: {
    200: { description: "Registrations", content: json(z.object({ items: z.array(Registration) })) },
    ...errorResponses,
  },
});
const invite = createRoute({
  method: "post",
  path: "/interests/{id}/invitation",
  tags: ["offices"],
  summary: "Invite the person as an engineer, once (the office's operators, office admins)",
  request: { params: IdParam },
  responses: {
    201: {
      description: "The engineer invitation; `token` is shown only now",
      content: json(
        z
          .object({ id: z.string(), email: z.string(), expiresAt: z.string(), token: z.string() })
          .openapi("InterestInvitation"),
      ),
    },
    ...errorResponses,
  },
});
const remove = createRoute({
  method: "delete",
  path: "/interests/{id}",
  tags: ["offices"],
  summary: "Delete a registration at the person's request (audited by id)",
  request: { params: IdParam },
  responses: { 204: { description: "Deleted" }, ...errorResponses },
});

export const interestRoutes = (deps: { interests: InterestService }) =>
  createRouter()
    .openapi(list, async (c) => c.json({ items: await deps.interests.list(actorOf(c), c.req.valid("param").id) }, 200))
    .openapi(invite, async (c) => {
      const inv = await deps.interests.invite(actorOf(c), c.req.valid("param").id);
      return c.json({ id: inv.id, email: inv.email, expiresAt: inv.expiresAt, token: inv.token }, 201);
    })
    .openapi(remove, async (c) => {
      await deps.interests.remove(actorOf(c), c.req.valid("param").id);
      return c.body(null, 204);
    });
