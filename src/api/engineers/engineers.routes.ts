// HTTP for the roster of engineers: profiles and vetting (operators), keys and capacity (the engineer).
import { createRoute, z } from "@hono/zod-openapi";
import type { EngineerService } from "../../domain/engineers/engineers.service.ts";
import { vettingKinds } from "../../domain/matching/matching.ts";
import { errorResponses } from "../../http/errors.ts";
import { actorOf, createRouter } from "../../http/router.ts";
import { NameText } from "../../kernel/text.ts";
import { Id, IdParam, json, TimeZone } from "../schemas.ts";

const Skill = z.strictObject({
  skill: NameText(64),
  level: z.number().int().min(1).max(7).describe("ITSS level 1–7"),
});
const Hours = z.number().min(0).max(80).describe("hours a week");
const Day = z.iso.date().describe("YYYY-MM-DD");

const SshKey = z
  .object({
    id: z.string(),
    type: z.string(),
    bits: z.number(),
    fingerprint: z.string().describe("as `ssh-keygen -lf` prints it"),
    comment: z.string(),
    publicKey: z.string(),
    createdAt: z.string(),
  })
  .openapi("SshKey");

const VettingOut = z
  .object({
    id: z.string(),
    kind: z.enum(vettingKinds),
    issuedOn: z.string(),
    expiresOn: z.string(),
    expiredAt: z.string().nullable(),
  })
  .openapi("VettingRecord");

const Engineer = z
  .object({
    id: z.string(),
    name: z.string(),
    email: z.string(),
    weeklyCapacityHours: z.number(),
    committedWeeklyHours: z.number(),
    timeZone: z.string(),
    invoiceNumber: z.string().nullable(),
    skills: z.array(z.object({ skill: z.string(), level: z.number() })),
    vetting: z.array(VettingOut),
    sshKeys: z.array(SshKey),
    updatedAt: z.string(),
  })
  .openapi("Engineer");

const Profile = z
  .strictObject({
    weeklyCapacityHours: Hours,
    timeZone: TimeZone.optional(),
    invoiceNumber: z
      .string()
      .regex(/^T\d{13}$/, "a qualified invoice registration number is T followed by 13 digits")
      .nullable()
      .optional(),
    skills: z.array(Skill).max(50),
  })
  .openapi("EngineerProfile");

const Vetting = z
  .strictObject({ kind: z.enum(vettingKinds), issuedOn: Day, expiresOn: Day })
  .openapi("VettingRecordInput");

const one = { 200: { description: "The engineer", content: json(Engineer) }, ...errorResponses };
const KeyParams = z.object({
  id: Id.openapi({ param: { name: "id", in: "path" } }),
  keyId: Id.openapi({ param: { name: "keyId", in: "path" } }),
});

const list = createRoute({
  method: "get",
  path: "/engineers",
  tags: ["engineers"],
  summary: "Every engineer (operators)",
  responses: {
    200: { description: "Engineers", content: json(z.object({ items: z.array(Engineer) })) },
    ...errorResponses,
  },
});
const get = createRoute({
  method: "get",
  path: "/engineers/{id}",
  tags: ["engineers"],
  summary: "One engineer (operators, or the engineer)",
  request: { params: IdParam },
  responses: one,
});
const putProfile = createRoute({
  method: "put",
  path: "/engineers/{id}",
  tags: ["engineers"],
  summary: "Record an engineer's profile and skills (operators)",
  request: { params: IdParam, body: { required: true, content: json(Profile) } },
  responses: one,
});
const capacity = createRoute({
  method: "put",
  path: "/engineers/{id}/capacity",
  tags: ["engineers"],
  summary: "Set the weekly capacity (the engineer, or operators)",
  request: { params: IdParam, body: { required: true, content: json(z.strictObject({ weeklyCapacityHours: Hours })) } },
  responses: one,
});
const vetting = createRoute({
  method: "post",
  path: "/engineers/{id}/vetting",
  tags: ["engineers"],
  summary: "Record a vetting: NDA, background check, security training, clearance for restricted work (operators)",
  request: { params: IdParam, body: { required: true, content: json(Vetting) } },
  responses: { 201: { description: "The engineer", content: json(Engineer) }, ...errorResponses },
});
const leadVetting = createRoute({
  method: "post",
  path: "/leads/{id}/vetting",
  tags: ["engineers"],
  summary: "Record a lead's my_number vetting, needed to decide task batches with individual numbers (operators)",
  request: { params: IdParam, body: { required: true, content: json(Vetting) } },
  responses: {
    201: { description: "The lead's vetting records", content: json(z.object({ items: z.array(VettingOut) })) },
    ...errorResponses,
  },
});
const addKey = createRoute({
  method: "post",
  path: "/engineers/{id}/ssh-keys",
  tags: ["engineers"],
  summary: "Add an SSH public key (ed25519, ECDSA or RSA of 3072 bits or more)",
  request: {
    params: IdParam,
    body: { required: true, content: json(z.strictObject({ publicKey: z.string().min(1).max(16384) })) },
  },
  responses: { 201: { description: "The key", content: json(SshKey) }, ...errorResponses },
});
const removeKey = createRoute({
  method: "delete",
  path: "/engineers/{id}/ssh-keys/{keyId}",
  tags: ["engineers"],
  summary: "Remove an SSH key",
  request: { params: KeyParams },
  responses: { 204: { description: "Removed" }, ...errorResponses },
});

export const engineerRoutes = (deps: { engineers: EngineerService }) =>
  createRouter()
    .openapi(list, async (c) => c.json({ items: await deps.engineers.list(actorOf(c)) }, 200))
    .openapi(get, async (c) => c.json(await deps.engineers.get(actorOf(c), c.req.valid("param").id), 200))
    .openapi(putProfile, async (c) =>
      c.json(await deps.engineers.putProfile(actorOf(c), c.req.valid("param").id, c.req.valid("json")), 200),
    )
    .openapi(capacity, async (c) =>
      c.json(
        await deps.engineers.setCapacity(actorOf(c), c.req.valid("param").id, c.req.valid("json").weeklyCapacityHours),
        200,
      ),
    )
    .openapi(vetting, async (c) =>
      c.json(await deps.engineers.addVetting(actorOf(c), c.req.valid("param").id, c.req.valid("json")), 201),
    )
    .openapi(leadVetting, async (c) =>
      c.json(
        { items: await deps.engineers.addLeadVetting(actorOf(c), c.req.valid("param").id, c.req.valid("json")) },
        201,
      ),
    )
    .openapi(addKey, async (c) =>
      c.json(await deps.engineers.addKey(actorOf(c), c.req.valid("param").id, c.req.valid("json").publicKey), 201),
    )
    .openapi(removeKey, async (c) => {
      const { id, keyId } = c.req.valid("param");
      await deps.engineers.removeKey(actorOf(c), id, keyId);
      return c.body(null, 204);
    });
