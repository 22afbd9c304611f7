// HTTP for workspaces: the one of a package, and starting, stopping, moving and destroying it.
import { createRoute, z } from "@hono/zod-openapi";
import type { WorkspaceService } from "../../domain/workspaces/workspaces.service.ts";
import { errorResponses } from "../../http/errors.ts";
import { actorOf, createRouter } from "../../http/router.ts";
import { IdParam, json } from "../schemas.ts";

const Workspace = z
  .object({
    id: z.string(),
    packageId: z.string(),
    engineerId: z.string(),
    template: z.string(),
    state: z
      .enum(["pending", "provisioning", "running", "stopped", "destroyed", "failed"])
      .describe("pending: no workspace host fits it now (see reason); it is provisioned when one does"),
    reason: z.string().describe("why it is in this state"),
    hostId: z.string().nullable().describe("the workspace host it runs on; null until it is placed"),
    lastActivityAt: z.string().nullable().describe("when something last showed it in use"),
    lastActivity: z.string().nullable().describe("what that was, e.g. an SSH shell"),
    checkout: z
      .enum(["pending", "done", "failed"])
      .describe(
        "whether the package's code is checked out: pending while it is (the workspace may already be running), done, or failed (see reason)",
      ),
    checkedOutAt: z.string().nullable().describe("when the checkout finished"),
    checkoutMs: z
      .number()
      .int()
      .nullable()
      .describe("milliseconds from the workspace's creation (the offer accepted) to its code checked out"),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("Workspace");

const WorkspaceWithServices = Workspace.extend({
  services: z
    .array(
      z.object({
        name: z.string().describe("the process's name as `ps -o comm` shows it: one of the template's services"),
        pid: z.number().int().describe("its process id inside the workspace"),
        since: z.string().describe("when it started"),
        sessionId: z.string().describe("the session that started it"),
      }),
    )
    .nullable()
    .describe(
      "processes sessions started that the template lets run on after them (customizations.azusa.services); empty when the workspace is not running, null when its engine could not be asked",
    ),
  unavailable: z
    .object({
      hostId: z.string(),
      hostName: z.string(),
      why: z
        .enum(["down", "unreachable"])
        .describe("down: an operator marked the host down; unreachable: its engine does not answer"),
      detail: z.string().describe("the operator's reason, or the engine's error"),
    })
    .nullable()
    .describe("why the workspace (running or stopped) cannot be reached now because of its host; null when it can"),
}).openapi("WorkspaceWithServices");

const one = { 200: { description: "The workspace", content: json(Workspace) }, ...errorResponses };
const action = (verb: "start" | "stop", summary: string) =>
  createRoute({
    method: "post",
    path: `/workspaces/{id}/${verb}`,
    tags: ["workspaces"],
    summary,
    request: { params: IdParam },
    responses: one,
  });

const ofPackage = createRoute({
  method: "get",
  path: "/packages/{id}/workspace",
  tags: ["workspaces"],
  summary:
    "The package's workspace and the services its sessions left running (its engineer, the contract's people, operators)",
  request: { params: IdParam },
  responses: {
    200: { description: "The workspace", content: json(WorkspaceWithServices) },
    ...errorResponses,
  },
});
const start = action("start", "Start a stopped workspace");
const stop = action("stop", "Stop a running workspace");
const destroy = createRoute({
  method: "post",
  path: "/workspaces/{id}/destroy",
  tags: ["workspaces"],
  summary: "Destroy the workspace and its volume (operators, the contract's lead); audited as disposal",
  request: {
    params: IdParam,
    body: { required: true, content: json(z.strictObject({ reason: z.string().trim().min(1, "say why").max(1000) })) },
  },
  responses: one,
});

const move = createRoute({
  method: "post",
  path: "/workspaces/{id}/move",
  tags: ["workspaces"],
  summary:
    "Move a stopped workspace to another workspace host, its volume's files carried through Azusa (operators); audited as workspace.moved",
  request: {
    params: IdParam,
    body: {
      required: true,
      content: json(
        z.strictObject({
          hostId: z.string().trim().min(1, "name the workspace host").max(100).describe("the host to move it to"),
          reason: z.string().trim().min(1, "say why").max(1000),
        }),
      ),
    },
  },
  responses: one,
});

export const workspaceRoutes = (deps: { workspaces: WorkspaceService }) =>
  createRouter()
    .openapi(ofPackage, async (c) =>
      c.json(await deps.workspaces.withServices(actorOf(c), c.req.valid("param").id), 200),
    )
    .openapi(start, async (c) => c.json(await deps.workspaces.start(actorOf(c), c.req.valid("param").id), 200))
    .openapi(stop, async (c) => c.json(await deps.workspaces.stop(actorOf(c), c.req.valid("param").id), 200))
    .openapi(move, async (c) =>
      c.json(await deps.workspaces.move(actorOf(c), c.req.valid("param").id, c.req.valid("json")), 200),
    )
    .openapi(destroy, async (c) =>
      c.json(await deps.workspaces.destroy(actorOf(c), c.req.valid("param").id, c.req.valid("json").reason), 200),
    );
