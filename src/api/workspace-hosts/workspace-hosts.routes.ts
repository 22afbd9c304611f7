// HTTP for workspace hosts (operators): register an engine, label it, state its capacity, drain it, mark it
// down, activate it, remove it once empty; each answer carries the host's health as the engine gave it now.
import { createRoute, z } from "@hono/zod-openapi";
import { HostLabel as Label } from "../../domain/workspace-hosts/host-label.ts";
import type { WorkspaceHostService } from "../../domain/workspace-hosts/workspace-hosts.service.ts";
import { errorResponses } from "../../http/errors.ts";
import { actorOf, createRouter } from "../../http/router.ts";
import { IdParam, json } from "../schemas.ts";

const Labels = z
  .object({
    office: z.string().nullable().describe("an office's id or name, as placement requirements name it"),
    tenant: z.string().nullable().describe("the tenant this host is set aside for (`restricted` contracts)"),
    zone: z.string().nullable(),
  })
  .openapi("WorkspaceHostLabels");

const LabelsInput = z
  .strictObject({ office: Label.nullable(), tenant: Label.nullable(), zone: Label.nullable() })
  .partial()
  .openapi("WorkspaceHostLabelsInput");

const Capacity = z
  .strictObject({
    cpus: z.number().min(0).max(4096),
    memoryMiB: z.number().int().min(0),
    diskMiB: z.number().int().min(0),
    workspaces: z.number().int().min(1).max(100_000).describe("how many workspaces may be placed on it"),
  })
  .openapi("WorkspaceHostCapacity");

const Pem = (what: string) => z.string().max(20_000).describe(`PEM: ${what}`);

const Endpoint = z
  .discriminatedUnion("kind", [
    z.strictObject({
      kind: z.literal("tls"),
      url: z.string().max(300).describe("tcp://host:port of an engine started with --tlsverify"),
      ca: Pem("the CA that signed the engine's certificate"),
      cert: Pem("the client certificate the engine trusts"),
      key: Pem("the client certificate's key; stored sealed, never shown again"),
    }),
    z.strictObject({ kind: z.literal("socket"), path: z.string().max(300).describe("a unix socket on this machine") }),
  ])
  .openapi("WorkspaceHostEndpoint");

const Hardening = z.object({ ok: z.boolean(), inspected: z.number(), problems: z.array(z.string()) });

const Host = z
  .object({
    id: z.string(),
    name: z.string(),
    kind: z.enum(["default", "socket", "tls"]),
    address: z.string(),
    labels: Labels,
    capacity: Capacity,
    unlimitedVolumes: z.boolean(),
    state: z.enum(["active", "draining", "down"]),
    stateReason: z.string(),
    workspaces: z.number().describe("workspaces placed on it, destroyed ones aside"),
    createdAt: z.string(),
    updatedAt: z.string(),
    health: z.object({
      reachable: z.boolean(),
      error: z.string().nullable(),
      engineVersion: z.string().nullable(),
      running: z.number().nullable(),
      load: z.number().describe("placed workspaces over capacity.workspaces"),
      hardening: Hardening.nullable(),
      checkedAt: z.string(),
    }),
  })
  .openapi("WorkspaceHost");

const UnlimitedVolumes = z
  .boolean()
  .describe(
    "an engine over TLS cannot limit a volume's size: true lets it take workspaces of the default size all the same, their volumes taking what its disk has (default false: it takes none); ignored where volumes are limited",
  );

const HostInput = z
  .strictObject({
    name: Label,
    endpoint: Endpoint,
    labels: LabelsInput.optional(),
    capacity: Capacity,
    unlimitedVolumes: UnlimitedVolumes.optional(),
  })
  .openapi("WorkspaceHostInput");

const HostChange = z
  .strictObject({ name: Label, labels: LabelsInput, capacity: Capacity, unlimitedVolumes: UnlimitedVolumes })
  .partial()
  .openapi("WorkspaceHostChange");

const Reason = z.strictObject({ reason: z.string().trim().min(1).max(500) }).partial();

const one = { 200: { description: "The host and its health", content: json(Host) }, ...errorResponses };
const tags = ["workspace-hosts"];

const list = createRoute({
  method: "get",
  path: "/workspace-hosts",
  tags,
  summary: "Every workspace host with its health (operators)",
  responses: { 200: { description: "Hosts", content: json(z.object({ items: z.array(Host) })) }, ...errorResponses },
});
const register = createRoute({
  method: "post",
  path: "/workspace-hosts",
  tags,
  summary: "Register a Docker engine as a workspace host (operators); it must answer now",
  request: { body: { required: true, content: json(HostInput) } },
  responses: { 201: { description: "Registered", content: json(Host) }, ...errorResponses },
});
const get = createRoute({
  method: "get",
  path: "/workspace-hosts/{id}",
  tags,
  summary: "One workspace host with its health (operators)",
  request: { params: IdParam },
  responses: one,
});
const update = createRoute({
  method: "patch",
  path: "/workspace-hosts/{id}",
  tags,
  summary: "Change a host's name, labels or capacity (operators)",
  request: { params: IdParam, body: { required: true, content: json(HostChange) } },
  responses: one,
});
const stateRoute = (name: string, summary: string) =>
  createRoute({
    method: "post",
    path: `/workspace-hosts/{id}/${name}`,
    tags,
    summary,
    request: { params: IdParam, body: { required: false, content: json(Reason) } },
    responses: one,
  });
const drain = stateRoute("drain", "Place no new workspace on the host; those there keep running (operators)");
const down = stateRoute("down", "Mark the host down: no new workspace, its workspaces shown unavailable (operators)");
const activate = stateRoute("activate", "Let the host take new workspaces again (operators)");
const remove = createRoute({
  method: "delete",
  path: "/workspace-hosts/{id}",
  tags,
  summary: "Remove a host with no workspace left (operators)",
  request: { params: IdParam },
  responses: { 204: { description: "Removed" }, ...errorResponses },
});

/** The optional body's reason: a state change may be posted with no body at all. */
const reasonOf = (c: {
  req: { header(name: string): string | undefined; valid(target: "json"): { reason?: string } };
}) => ((c.req.header("content-type") ?? "").includes("json") ? c.req.valid("json").reason : undefined);

export const workspaceHostRoutes = (deps: { workspaceHosts: WorkspaceHostService }) =>
  createRouter()
    .openapi(list, async (c) => c.json({ items: await deps.workspaceHosts.list(actorOf(c)) }, 200))
    .openapi(register, async (c) => c.json(await deps.workspaceHosts.register(actorOf(c), c.req.valid("json")), 201))
    .openapi(get, async (c) => c.json(await deps.workspaceHosts.get(actorOf(c), c.req.valid("param").id), 200))
    .openapi(update, async (c) =>
      c.json(await deps.workspaceHosts.update(actorOf(c), c.req.valid("param").id, c.req.valid("json")), 200),
    )
    .openapi(drain, async (c) =>
      c.json(await deps.workspaceHosts.drain(actorOf(c), c.req.valid("param").id, reasonOf(c)), 200),
    )
    .openapi(down, async (c) =>
      c.json(await deps.workspaceHosts.markDown(actorOf(c), c.req.valid("param").id, reasonOf(c)), 200),
    )
    .openapi(activate, async (c) =>
      c.json(await deps.workspaceHosts.activate(actorOf(c), c.req.valid("param").id, reasonOf(c)), 200),
    )
    .openapi(remove, async (c) => {
      await deps.workspaceHosts.remove(actorOf(c), c.req.valid("param").id);
      return c.body(null, 204);
    });
