// HTTP for users: who am I, who is in my tenant, and role changes by operators.
import { createRoute, z } from "@hono/zod-openapi";
import type { AccountService } from "../../domain/accounts/accounts.service.ts";
import type { PreferenceService } from "../../domain/accounts/preferences.service.ts";
import { errorResponses } from "../../http/errors.ts";
import { actorOf, createRouter } from "../../http/router.ts";
import { english, langs, text } from "../../kernel/messages.ts";
import { Id, IdParam, json, RoleSchema } from "../schemas.ts";

export const User = z
  .object({
    id: z.string(),
    email: z.string(),
    name: z.string(),
    role: RoleSchema,
    tenantId: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi("User");

const RoleChange = z.strictObject({ role: RoleSchema, tenantId: Id.nullable().optional() }).openapi("RoleChange");

const Settings = z
  .object({
    language: z.enum(langs).openapi({ description: "The language of your notices and e-mail" }),
    emailNotices: z.boolean().openapi({
      description: "Whether notices that can wait are e-mailed; invitations, security and payment notices always are",
    }),
  })
  .openapi("Settings");

const SettingsChange = Settings.partial()
  .strict()
  .refine((s) => s.language !== undefined || s.emailNotices !== undefined, {
    message: english(text("preferences.nothing")),
    params: { text: text("preferences.nothing") },
    path: ["language"],
  })
  .openapi("SettingsChange");

const getSettings = createRoute({
  method: "get",
  path: "/me/settings",
  tags: ["users"],
  summary: "Your own settings: the language of notices and e-mail, and whether notices are e-mailed",
  responses: { 200: { description: "Your settings", content: json(Settings) }, ...errorResponses },
});

const putSettings = createRoute({
  method: "put",
  path: "/me/settings",
  tags: ["users"],
  summary: "Change your own settings; what is left out stays as it was",
  request: { body: { required: true, content: json(SettingsChange) } },
  responses: { 200: { description: "Your settings", content: json(Settings) }, ...errorResponses },
});

const me = createRoute({
  method: "get",
  path: "/me",
  tags: ["users"],
  summary: "The signed-in user",
  responses: {
    200: { description: "You", content: json(User.extend({ via: z.enum(["session", "api_key"]) })) },
    ...errorResponses,
  },
});

const list = createRoute({
  method: "get",
  path: "/users",
  tags: ["users"],
  summary: "Users visible to the caller",
  responses: { 200: { description: "Users", content: json(z.object({ items: z.array(User) })) }, ...errorResponses },
});

const get = createRoute({
  method: "get",
  path: "/users/{id}",
  tags: ["users"],
  summary: "One user",
  request: { params: IdParam },
  responses: { 200: { description: "The user", content: json(User) }, ...errorResponses },
});

const changeRole = createRoute({
  method: "put",
  path: "/users/{id}/role",
  tags: ["users"],
  summary: "Change a user's role (operators); the user's sessions end",
  request: { params: IdParam, body: { required: true, content: json(RoleChange) } },
  responses: { 200: { description: "The user", content: json(User) }, ...errorResponses },
});

export const userRoutes = (deps: { accounts: AccountService; preferences: PreferenceService }) =>
  createRouter()
    .openapi(getSettings, async (c) => c.json(await deps.preferences.get(actorOf(c)), 200))
    .openapi(putSettings, async (c) => c.json(await deps.preferences.update(actorOf(c), c.req.valid("json")), 200))
    // The profile read with the credential, as better-auth's get-session answers: fresh within the credential
    // store's memory (5 s), and at once after a role change or revocation in any process on the database.
    .openapi(me, (c) => {
      const p = c.get("principal");
      const actor = actorOf(c);
      if (!p || actor.kind !== "user") throw new Error("a system actor has no profile");
      return c.json(
        {
          id: p.userId,
          email: p.email,
          name: p.name,
          role: p.role,
          tenantId: p.tenantId,
          createdAt: p.createdAt,
          via: actor.via,
        },
        200,
      );
    })
    .openapi(list, async (c) => c.json({ items: await deps.accounts.list(actorOf(c)) }, 200))
    .openapi(get, async (c) => c.json(await deps.accounts.get(actorOf(c), c.req.valid("param").id), 200))
    .openapi(changeRole, async (c) =>
      c.json(await deps.accounts.changeRole(actorOf(c), c.req.valid("param").id, c.req.valid("json")), 200),
    );
