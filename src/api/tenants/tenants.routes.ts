// HTTP for tenants (prime contractors).
import { createRoute, z } from "@hono/zod-openapi";
import type { TenantService } from "../../domain/tenants/tenants.service.ts";
import { errorResponses } from "../../http/errors.ts";
import { actorOf, createRouter } from "../../http/router.ts";
import { NameText } from "../../kernel/text.ts";
import { IdParam, json } from "../schemas.ts";

const Tenant = z.object({ id: z.string(), name: z.string(), createdAt: z.string() }).openapi("Tenant");
const NewTenant = z.strictObject({ name: NameText(200) }).openapi("NewTenant");

const create = createRoute({
  method: "post",
  path: "/tenants",
  tags: ["tenants"],
  summary: "Create a tenant (operators)",
  request: { body: { required: true, content: json(NewTenant) } },
  responses: { 201: { description: "Created", content: json(Tenant) }, ...errorResponses },
});

const list = createRoute({
  method: "get",
  path: "/tenants",
  tags: ["tenants"],
  summary: "Tenants visible to the caller",
  responses: {
    200: { description: "Tenants", content: json(z.object({ items: z.array(Tenant) })) },
    ...errorResponses,
  },
});

const get = createRoute({
  method: "get",
  path: "/tenants/{id}",
  tags: ["tenants"],
  summary: "One tenant",
  request: { params: IdParam },
  responses: { 200: { description: "The tenant", content: json(Tenant) }, ...errorResponses },
});

export const tenantRoutes = (deps: { tenants: TenantService }) =>
  createRouter()
    .openapi(create, async (c) => c.json(await deps.tenants.create(actorOf(c), c.req.valid("json")), 201))
    .openapi(list, async (c) => c.json({ items: await deps.tenants.list(actorOf(c)) }, 200))
    .openapi(get, async (c) => c.json(await deps.tenants.get(actorOf(c), c.req.valid("param").id), 200));
