// HTTP for invitations: the only way in besides `azusa admin create`.
import { createRoute, z } from "@hono/zod-openapi";
import type { AccountService } from "../../domain/accounts/accounts.service.ts";
import { errorResponses } from "../../http/errors.ts";
import { actorOf, createRouter } from "../../http/router.ts";
import { langs } from "../../kernel/messages.ts";
import { NameText } from "../../kernel/text.ts";
import { Email, Id, IdParam, json, RoleSchema } from "../schemas.ts";
import { User } from "../users/users.routes.ts";

const Invitation = z
  .object({
    id: z.string(),
    email: z.string(),
    role: RoleSchema,
    tenantId: z.string().nullable(),
    invitedBy: z.string(),
    createdAt: z.string(),
    expiresAt: z.string(),
    status: z.enum(["pending", "accepted", "revoked", "expired"]),
    language: z.enum(langs).openapi({ description: "The language of the e-mail, and of the account once accepted" }),
  })
  .openapi("Invitation");

const NewInvitation = z
  .strictObject({
    email: Email,
    role: RoleSchema,
    tenantId: Id.nullable().optional(),
    language: z.enum(langs).optional().openapi({
      description:
        "The language the invitation e-mail is written in, which becomes the new account's language (notices, e-mail, the SSH gateway's words); the inviter's own by default",
    }),
  })
  .openapi("NewInvitation");

const Acceptance = z
  .strictObject({
    token: z.string().min(20).max(200),
    name: NameText(200),
    password: z.string().min(12, "must be at least 12 characters").max(256),
  })
  .openapi("InvitationAcceptance");

const create = createRoute({
  method: "post",
  path: "/invitations",
  tags: ["invitations"],
  summary: "Invite someone (operators: operators, engineers, contractors; contractors: leads)",
  request: { body: { required: true, content: json(NewInvitation) } },
  responses: {
    201: {
      description: "Created; `token` is shown only now",
      content: json(Invitation.extend({ token: z.string() })),
    },
    ...errorResponses,
  },
});

const list = createRoute({
  method: "get",
  path: "/invitations",
  tags: ["invitations"],
  summary: "Invitations the caller manages",
  responses: {
    200: { description: "Invitations", content: json(z.object({ items: z.array(Invitation) })) },
    ...errorResponses,
  },
});

const revoke = createRoute({
  method: "delete",
  path: "/invitations/{id}",
  tags: ["invitations"],
  summary: "Revoke a pending invitation",
  request: { params: IdParam },
  responses: { 204: { description: "Revoked" }, ...errorResponses },
});

/** Public: the token is the credential. */
export const acceptInvitation = createRoute({
  method: "post",
  path: "/invitations/accept",
  tags: ["invitations"],
  summary: "Accept an invitation and create the account",
  security: [],
  request: { body: { required: true, content: json(Acceptance) } },
  responses: { 201: { description: "Account created", content: json(User) }, ...errorResponses },
});

export const invitationRoutes = (deps: { accounts: AccountService }) =>
  createRouter()
    .openapi(create, async (c) => c.json(await deps.accounts.invite(actorOf(c), c.req.valid("json")), 201))
    .openapi(list, async (c) => c.json({ items: await deps.accounts.listInvitations(actorOf(c)) }, 200))
    .openapi(revoke, async (c) => {
      await deps.accounts.revokeInvitation(actorOf(c), c.req.valid("param").id);
      return c.body(null, 204);
    })
    .openapi(acceptInvitation, async (c) => c.json(await deps.accounts.acceptInvitation(c.req.valid("json")), 201));
