// HTTP for GitHub: a tenant's organization and token, a package's repository there, and the signed
// webhook GitHub calls (mounted outside /api/v1: its signature, not a session, says who it is).
import { createRoute, z } from "@hono/zod-openapi";
import { Hono } from "hono";
import type { GithubService } from "../../domain/pulls/github.service.ts";
import { errorResponses } from "../../http/errors.ts";
import { type AppEnv, actorOf, createRouter } from "../../http/router.ts";
import { IdParam, json } from "../schemas.ts";

const Settings = z
  .object({
    organization: z.string(),
    tokenSet: z.boolean().describe("the token itself is never shown again"),
    webhookUrl: z.string(),
  })
  .openapi("GithubSettings");

const Repository = z
  .object({
    packageId: z.string(),
    forge: z.literal("github"),
    name: z.string().describe("organization/repository"),
    defaultBranch: z.string(),
    protection: z.object({ requiredApprovals: z.number() }).nullable(),
    engineers: z.array(z.string()).describe("GitHub logins with push access"),
  })
  .openapi("GithubRepository");

const login = z.string().regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/, "must be a GitHub login");

const getSettings = createRoute({
  method: "get",
  path: "/tenants/{id}/github",
  tags: ["github"],
  summary: "The tenant's GitHub organization (its contractors)",
  request: { params: IdParam },
  responses: { 200: { description: "Settings", content: json(Settings) }, ...errorResponses },
});

const putSettings = createRoute({
  method: "put",
  path: "/tenants/{id}/github",
  tags: ["github"],
  summary: "Set the tenant's GitHub organization and token (its contractors); the token is never shown again",
  request: {
    params: IdParam,
    body: {
      required: true,
      content: json(
        z.strictObject({
          organization: login.describe("the organization's login"),
          token: z.string().min(20).max(255).describe("a token that may create repositories in the organization"),
        }),
      ),
    },
  },
  responses: { 200: { description: "Settings", content: json(Settings) }, ...errorResponses },
});

const createRepository = createRoute({
  method: "post",
  path: "/packages/{id}/github-repository",
  tags: ["github"],
  summary: "Make the package's private repository on GitHub, protected, with the engineer (the contract's lead)",
  request: {
    params: IdParam,
    body: { required: true, content: json(z.strictObject({ engineerLogin: login })) },
  },
  responses: { 201: { description: "Created", content: json(Repository) }, ...errorResponses },
});

export const githubRoutes = (deps: { github: GithubService }) =>
  createRouter()
    .openapi(getSettings, async (c) => c.json(await deps.github.settings(actorOf(c), c.req.valid("param").id), 200))
    .openapi(putSettings, async (c) =>
      c.json(await deps.github.configure(actorOf(c), c.req.valid("param").id, c.req.valid("json")), 200),
    )
    .openapi(createRepository, async (c) =>
      c.json(await deps.github.createRepository(actorOf(c), c.req.valid("param").id, c.req.valid("json")), 201),
    );

/** `POST /webhooks/github/<tenant>`: GitHub's deliveries, verified against the tenant's secret. */
export function githubWebhookRoutes(deps: { github: GithubService }) {
  return new Hono<AppEnv>().post("/:tenantId", async (c) => {
    const result = await deps.github.receive(c.req.param("tenantId"), {
      event: c.req.header("x-github-event") ?? "",
      signature: c.req.header("x-hub-signature-256") ?? "",
      payload: await c.req.text(),
    });
    return c.json(result, 200);
  });
}
