// HTTP for an office's life guide (移住・生活情報): its sections in Markdown, written by the office's operators.
import { createRoute, z } from "@hono/zod-openapi";
import { GUIDE_MAX_CHARS, type GuideService, guideSections } from "../../domain/offices/guide.service.ts";
import { errorResponses } from "../../http/errors.ts";
import { actorOf, createRouter } from "../../http/router.ts";
import { Id, IdParam, json } from "../schemas.ts";

const Section = z
  .object({
    section: z.enum(guideSections),
    bodyJa: z.string().describe("Markdown, in Japanese"),
    bodyEn: z.string().nullable().describe("Markdown, in English; null when there is no English version"),
    reviewedAt: z.string().describe("when an operator last wrote or confirmed the section"),
    updatedAt: z.string(),
    stale: z.boolean().describe("last reviewed more than a year ago"),
  })
  .openapi("GuideSection");

const SectionInput = z
  .strictObject({
    bodyJa: z.string().trim().min(1).max(GUIDE_MAX_CHARS),
    bodyEn: z.string().trim().max(GUIDE_MAX_CHARS).nullable().optional(),
  })
  .openapi("GuideSectionInput");

const SectionParams = z.object({
  id: Id.openapi({ param: { name: "id", in: "path" } }),
  section: z.enum(guideSections).openapi({ param: { name: "section", in: "path" } }),
});

const one = { 200: { description: "The section", content: json(Section) }, ...errorResponses };

const read = createRoute({
  method: "get",
  path: "/offices/{id}/guide",
  tags: ["offices"],
  summary: "The office's life guide, section by section (public on the office's page too)",
  request: { params: IdParam },
  responses: {
    200: { description: "The written sections", content: json(z.object({ items: z.array(Section) })) },
    ...errorResponses,
  },
});
const put = createRoute({
  method: "put",
  path: "/offices/{id}/guide/{section}",
  tags: ["offices"],
  summary: "Write a section of the guide; writing it reviews it (its office's operators, office admins)",
  request: { params: SectionParams, body: { required: true, content: json(SectionInput) } },
  responses: one,
});
const reviewed = createRoute({
  method: "post",
  path: "/offices/{id}/guide/{section}/reviewed",
  tags: ["offices"],
  summary: "Confirm a section is still right, starting its year again",
  request: { params: SectionParams },
  responses: one,
});
const remove = createRoute({
  method: "delete",
  path: "/offices/{id}/guide/{section}",
  tags: ["offices"],
  summary: "Take a section out of the guide",
  request: { params: SectionParams },
  responses: { 204: { description: "Removed" }, ...errorResponses },
});

export const guideRoutes = (deps: { guides: GuideService }) =>
  createRouter()
    .openapi(read, async (c) => c.json({ items: await deps.guides.guide(c.req.valid("param").id) }, 200))
    .openapi(put, async (c) => {
      const { id, section } = c.req.valid("param");
      const body = c.req.valid("json");
      return c.json(
        await deps.guides.put(actorOf(c), id, section, { bodyJa: body.bodyJa, bodyEn: body.bodyEn ?? null }),
        200,
      );
    })
    .openapi(reviewed, async (c) => {
      const { id, section } = c.req.valid("param");
      return c.json(await deps.guides.reviewed(actorOf(c), id, section), 200);
    })
    .openapi(remove, async (c) => {
      const { id, section } = c.req.valid("param");
      await deps.guides.remove(actorOf(c), id, section);
      return c.body(null, 204);
    });
