// HTTP for work packages: read, edit, split, merge, and the moves a person may ask for.
import { createRoute, z } from "@hono/zod-openapi";
import { packageStates } from "../../domain/packages/lifecycle.ts";
import type { PackageService } from "../../domain/packages/packages.service.ts";
import { errorResponses } from "../../http/errors.ts";
import { actorOf, createRouter } from "../../http/router.ts";
import { NameText } from "../../kernel/text.ts";
import { Id, IdParam, json } from "../schemas.ts";

const Skill = z
  .strictObject({
    skill: NameText(64),
    level: z.number().int().min(1).max(7).describe("ITSS level 1–7"),
  })
  .openapi("Skill");

export const WorkPackage = z
  .object({
    id: z.string(),
    contractId: z.string(),
    wbsId: z.string(),
    title: z.string(),
    parentWbsId: z.string().nullable(),
    skills: z.array(Skill),
    estimateHours: z.number(),
    acceptanceCriteria: z.string(),
    template: z.string(),
    state: z.enum(packageStates),
    stateReason: z.string().nullable(),
    dependsOn: z.array(z.string()).describe("ids of packages that must finish first"),
    oversized: z.boolean().describe("above the contract's package size: split it"),
    sourceRow: z.number().nullable().describe("the WBS row it came from"),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("WorkPackage");

const Hours = z.number().positive().max(10000);

const PackageChanges = z
  .strictObject({
    title: NameText(200).optional(),
    skills: z.array(Skill).max(30).optional(),
    estimateHours: Hours.optional(),
    acceptanceCriteria: z.string().max(10000).optional(),
    template: z.string().trim().min(1).max(64).optional(),
    dependsOn: z.array(Id).max(200).optional(),
  })
  .openapi("PackageChanges");

const Split = z
  .strictObject({
    parts: z
      .array(
        z.strictObject({
          title: NameText(200),
          estimateHours: Hours,
          skills: z.array(Skill).max(30).optional(),
          acceptanceCriteria: z.string().max(10000).optional(),
        }),
      )
      .min(2)
      .max(50),
  })
  .openapi("PackageSplit");

const Merge = z
  .strictObject({ packageIds: z.array(Id).min(2).max(50), title: NameText(200).optional() })
  .openapi("PackageMerge");

const Move = z.strictObject({ reason: z.string().trim().max(1000).optional() }).openapi("PackageMove");

const one = json(WorkPackage);

const get = createRoute({
  method: "get",
  path: "/packages/{id}",
  tags: ["packages"],
  summary: "One work package",
  request: { params: IdParam },
  responses: { 200: { description: "The package", content: one }, ...errorResponses },
});

const update = createRoute({
  method: "patch",
  path: "/packages/{id}",
  tags: ["packages"],
  summary: "Edit a package while draft or open (the contract's lead)",
  request: { params: IdParam, body: { required: true, content: json(PackageChanges) } },
  responses: { 200: { description: "The package", content: one }, ...errorResponses },
});

const split = createRoute({
  method: "post",
  path: "/packages/{id}/split",
  tags: ["packages"],
  summary: "Split a package into parts; the original is cancelled and its dependents wait for every part",
  request: { params: IdParam, body: { required: true, content: json(Split) } },
  responses: {
    201: { description: "The parts", content: json(z.object({ items: z.array(WorkPackage) })) },
    ...errorResponses,
  },
});

const merge = createRoute({
  method: "post",
  path: "/packages/merge",
  tags: ["packages"],
  summary: "Merge packages of one contract into one; the originals are cancelled",
  request: { body: { required: true, content: json(Merge) } },
  responses: { 201: { description: "The merged package", content: one }, ...errorResponses },
});

const moveRoute = (action: "open" | "cancel", summary: string) =>
  createRoute({
    method: "post",
    path: `/packages/{id}/${action}`,
    tags: ["packages"],
    summary,
    request: { params: IdParam, body: { required: false, content: json(Move) } },
    responses: { 200: { description: "The package", content: one }, ...errorResponses },
  });

const open = moveRoute("open", "Open a draft package for offers (the contract's lead)");
const cancel = moveRoute("cancel", "Cancel a package (the contract's lead or contractor)");

export const packageRoutes = (deps: { packages: PackageService }) =>
  createRouter()
    .openapi(get, async (c) => c.json(await deps.packages.get(actorOf(c), c.req.valid("param").id), 200))
    .openapi(update, async (c) =>
      c.json(await deps.packages.update(actorOf(c), c.req.valid("param").id, c.req.valid("json")), 200),
    )
    .openapi(split, async (c) =>
      c.json({ items: await deps.packages.split(actorOf(c), c.req.valid("param").id, c.req.valid("json").parts) }, 201),
    )
    .openapi(merge, async (c) => {
      const body = c.req.valid("json");
      return c.json(await deps.packages.merge(actorOf(c), body.packageIds, { title: body.title }), 201);
    })
    .openapi(open, async (c) =>
      c.json(
        await deps.packages.request(actorOf(c), c.req.valid("param").id, "open", c.req.valid("json")?.reason),
        200,
      ),
    )
    .openapi(cancel, async (c) =>
      c.json(
        await deps.packages.request(actorOf(c), c.req.valid("param").id, "cancelled", c.req.valid("json")?.reason),
        200,
      ),
    );
