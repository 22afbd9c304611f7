// HTTP for satellite offices: their details, who belongs to each, and who manages them all.
import { createRoute, z } from "@hono/zod-openapi";
import type { OfficeService } from "../../domain/offices/offices.service.ts";
import { errorResponses } from "../../http/errors.ts";
import { actorOf, createRouter } from "../../http/router.ts";
import { NameText } from "../../kernel/text.ts";
import { Id, IdParam, json, TimeZone } from "../schemas.ts";

const Office = z
  .object({
    id: z.string(),
    name: z.string(),
    prefecture: z.string().describe("e.g. 長野県"),
    town: z.string(),
    address: z.string(),
    timeZone: z.string().describe("IANA time zone"),
    contact: z.string().describe("how people reach the office: e-mail or telephone"),
    description: z.string().describe("public description, shown to people thinking of working there"),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("Office");

const OfficeInput = z
  .strictObject({
    name: NameText(200),
    prefecture: NameText(20),
    town: NameText(100),
    address: NameText(300),
    timeZone: TimeZone,
    contact: NameText(300),
    description: z.string().trim().max(4000),
  })
  .openapi("OfficeInput");

const Member = z
  .object({ userId: z.string(), email: z.string(), name: z.string(), role: z.string(), since: z.string() })
  .openapi("OfficeMember");

const MemberParams = z.object({
  id: Id.openapi({ param: { name: "id", in: "path" } }),
  userId: Id.openapi({ param: { name: "userId", in: "path" } }),
});

const one = { 200: { description: "The office", content: json(Office) }, ...errorResponses };

const create = createRoute({
  method: "post",
  path: "/offices",
  tags: ["offices"],
  summary: "Create an office (office admins)",
  request: { body: { required: true, content: json(OfficeInput) } },
  responses: { 201: { description: "Created", content: json(Office) }, ...errorResponses },
});
const list = createRoute({
  method: "get",
  path: "/offices",
  tags: ["offices"],
  summary: "Every office",
  responses: {
    200: { description: "Offices", content: json(z.object({ items: z.array(Office) })) },
    ...errorResponses,
  },
});
const mine = createRoute({
  method: "get",
  path: "/offices/mine",
  tags: ["offices"],
  summary: "The caller's office and what they may do with offices",
  responses: {
    200: {
      description: "The caller's office, null when they belong to none",
      content: json(z.object({ office: Office.nullable(), managesAll: z.boolean() })),
    },
    ...errorResponses,
  },
});
const get = createRoute({
  method: "get",
  path: "/offices/{id}",
  tags: ["offices"],
  summary: "One office",
  request: { params: IdParam },
  responses: one,
});
const update = createRoute({
  method: "put",
  path: "/offices/{id}",
  tags: ["offices"],
  summary: "Change an office's details (its operators, office admins)",
  request: { params: IdParam, body: { required: true, content: json(OfficeInput) } },
  responses: one,
});
const members = createRoute({
  method: "get",
  path: "/offices/{id}/members",
  tags: ["offices"],
  summary: "The operators and engineers of an office (its operators, office admins)",
  request: { params: IdParam },
  responses: {
    200: { description: "Members", content: json(z.object({ items: z.array(Member) })) },
    ...errorResponses,
  },
});
const addMember = createRoute({
  method: "put",
  path: "/offices/{id}/members/{userId}",
  tags: ["offices"],
  summary: "Place an operator or an engineer in the office (moving from another office takes an office admin)",
  request: { params: MemberParams },
  responses: { 200: { description: "The member", content: json(Member) }, ...errorResponses },
});
const removeMember = createRoute({
  method: "delete",
  path: "/offices/{id}/members/{userId}",
  tags: ["offices"],
  summary: "Take someone out of the office",
  request: { params: MemberParams },
  responses: { 204: { description: "Removed" }, ...errorResponses },
});
const grantAdmin = createRoute({
  method: "put",
  path: "/office-admins/{id}",
  tags: ["offices"],
  summary: "Let an operator manage every office (office admins)",
  request: { params: IdParam },
  responses: { 204: { description: "Granted" }, ...errorResponses },
});

export const officeRoutes = (deps: { offices: OfficeService }) =>
  createRouter()
    .openapi(create, async (c) => c.json(await deps.offices.create(actorOf(c), c.req.valid("json")), 201))
    .openapi(list, async (c) => c.json({ items: await deps.offices.list(actorOf(c)) }, 200))
    .openapi(mine, async (c) => {
      const actor = actorOf(c);
      const [office, rights] = await Promise.all([deps.offices.mine(actor), deps.offices.rights(actor)]);
      return c.json({ office, managesAll: rights.managesAll }, 200);
    })
    .openapi(get, async (c) => c.json(await deps.offices.get(actorOf(c), c.req.valid("param").id), 200))
    .openapi(update, async (c) =>
      c.json(await deps.offices.update(actorOf(c), c.req.valid("param").id, c.req.valid("json")), 200),
    )
    .openapi(members, async (c) =>
      c.json({ items: await deps.offices.members(actorOf(c), c.req.valid("param").id) }, 200),
    )
    .openapi(addMember, async (c) => {
      const { id, userId } = c.req.valid("param");
      return c.json(await deps.offices.addMember(actorOf(c), id, userId), 200);
    })
    .openapi(removeMember, async (c) => {
      const { id, userId } = c.req.valid("param");
      await deps.offices.removeMember(actorOf(c), id, userId);
      return c.body(null, 204);
    })
    .openapi(grantAdmin, async (c) => {
      await deps.offices.grantAdmin(actorOf(c), c.req.valid("param").id);
      return c.body(null, 204);
    });
