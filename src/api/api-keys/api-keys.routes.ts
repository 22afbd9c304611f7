// HTTP for a contractor's API keys.
import { createRoute, z } from "@hono/zod-openapi";
import type { ApiKeyService } from "../../domain/accounts/api-keys.service.ts";
import { errorResponses } from "../../http/errors.ts";
import { actorOf, createRouter } from "../../http/router.ts";
import { NameText } from "../../kernel/text.ts";
import { IdParam, json } from "../schemas.ts";

const ApiKey = z
  .object({
    id: z.string(),
    name: z.string().nullable(),
    start: z.string().nullable().describe("the first characters, to recognise the key"),
    createdAt: z.string(),
    expiresAt: z.string().nullable(),
  })
  .openapi("ApiKey");

const NewApiKey = z
  .strictObject({
    name: NameText(64),
    expiresInDays: z.number().int().min(1).max(366).nullable().optional(),
  })
  .openapi("NewApiKey");

const create = createRoute({
  method: "post",
  path: "/api-keys",
  tags: ["api-keys"],
  summary: "Create an API key (contractors); send it as `x-api-key`",
  request: { body: { required: true, content: json(NewApiKey) } },
  responses: {
    201: { description: "Created; `key` is shown only now", content: json(ApiKey.extend({ key: z.string() })) },
    ...errorResponses,
  },
});

const list = createRoute({
  method: "get",
  path: "/api-keys",
  tags: ["api-keys"],
  summary: "Your API keys",
  responses: { 200: { description: "Keys", content: json(z.object({ items: z.array(ApiKey) })) }, ...errorResponses },
});

const revoke = createRoute({
  method: "delete",
  path: "/api-keys/{id}",
  tags: ["api-keys"],
  summary: "Revoke an API key",
  request: { params: IdParam },
  responses: { 204: { description: "Revoked" }, ...errorResponses },
});

export const apiKeyRoutes = (deps: { apiKeys: ApiKeyService }) =>
  createRouter()
    .openapi(create, async (c) => c.json(await deps.apiKeys.create(actorOf(c), c.req.valid("json")), 201))
    .openapi(list, async (c) => c.json({ items: await deps.apiKeys.list(actorOf(c)) }, 200))
    .openapi(revoke, async (c) => {
      await deps.apiKeys.revoke(actorOf(c), c.req.valid("param").id);
      return c.body(null, 204);
    });
