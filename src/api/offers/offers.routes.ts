// HTTP for suggestions, offers and their answers, and withdrawal.
import { createRoute, z } from "@hono/zod-openapi";
import type { OfferService } from "../../domain/offers/offers.service.ts";
import { errorResponses } from "../../http/errors.ts";
import { actorOf, createRouter } from "../../http/router.ts";
import { Id, IdParam, json } from "../schemas.ts";

const Offer = z
  .object({
    id: z.string(),
    packageId: z.string(),
    engineerId: z.string(),
    offeredBy: z.string(),
    state: z.enum(["pending", "accepted", "declined", "expired", "withdrawn"]),
    reason: z.string().nullable(),
    createdAt: z.string(),
    expiresAt: z.string(),
    respondedAt: z.string().nullable(),
    engineerName: z.string().optional().describe("the engineer's name, in lists"),
  })
  .openapi("Offer");

const Suggestions = z
  .object({
    packageId: z.string(),
    weeklyHours: z.number().describe("the package's hours spread over the weeks left in its contract"),
    ranked: z.array(
      z.object({
        engineerId: z.string(),
        name: z.string(),
        score: z.number(),
        reasons: z.object({
          preferredOffice: z.boolean().describe("belongs to an office the contract prefers: ranked above the rest"),
          skillMargin: z.number().describe("levels above what the package needs, summed"),
          spareHoursAfter: z.number().describe("weekly hours left after taking the package"),
          continuity: z.array(z.string()).describe("upstream packages of this contract the engineer worked on"),
        }),
        fit: z
          .object({
            neededHours: z.number().describe("the package's hours a week"),
            availableHours: z
              .number()
              .describe(
                "hours a week free for it: the engineer's capacity over the package's span (their stated windows less days away, where they stated windows) less what current assignments take",
              ),
            fromWindows: z.boolean().describe("the capacity comes from the engineer's stated weekly windows"),
            awayDays: z.number().describe("days away the engineer declared within the package's span"),
          })
          .describe("how the package fits the engineer's week: 'fits in 6 h of 12 h available a week'"),
      }),
    ),
    ineligible: z.array(
      z.object({
        engineerId: z.string(),
        name: z.string(),
        why: z.array(z.string()),
        rules: z
          .array(z.record(z.string(), z.unknown()))
          .describe("the same reasons with their figures: rule office, skill, vetting or capacity"),
      }),
    ),
  })
  .openapi("Suggestions");

const Reason = z.strictObject({ reason: z.string().trim().min(1, "say why").max(1000) });

const suggestions = createRoute({
  method: "get",
  path: "/packages/{id}/suggestions",
  tags: ["offers"],
  summary: "Eligible engineers ranked with their reasons, and why the others are not eligible",
  request: { params: IdParam },
  responses: { 200: { description: "Suggestions", content: json(Suggestions) }, ...errorResponses },
});
const offer = createRoute({
  method: "post",
  path: "/packages/{id}/offers",
  tags: ["offers"],
  summary: "Offer an open package to an eligible engineer (the contract's lead)",
  request: { params: IdParam, body: { required: true, content: json(z.strictObject({ engineerId: Id })) } },
  responses: { 201: { description: "The offer", content: json(Offer) }, ...errorResponses },
});
const withdraw = createRoute({
  method: "post",
  path: "/packages/{id}/withdraw",
  tags: ["offers"],
  summary: "Withdraw a pending offer or an assignment (the contract's lead); the package opens again",
  request: { params: IdParam, body: { required: true, content: json(Reason) } },
  responses: { 204: { description: "Withdrawn" }, ...errorResponses },
});
const list = createRoute({
  method: "get",
  path: "/offers",
  tags: ["offers"],
  summary: "Offers: an engineer's own, or those on packages the caller sees",
  request: { query: z.strictObject({ packageId: Id.optional() }) },
  responses: { 200: { description: "Offers", content: json(z.object({ items: z.array(Offer) })) }, ...errorResponses },
});
const accept = createRoute({
  method: "post",
  path: "/offers/{id}/accept",
  tags: ["offers"],
  summary: "Accept an offer (the engineer); eligibility and capacity are checked again",
  request: { params: IdParam },
  responses: {
    200: { description: "Accepted", content: json(z.object({ offer: Offer, assignmentId: z.string() })) },
    ...errorResponses,
  },
});
const decline = createRoute({
  method: "post",
  path: "/offers/{id}/decline",
  tags: ["offers"],
  summary: "Decline an offer with a reason (the engineer)",
  request: { params: IdParam, body: { required: true, content: json(Reason) } },
  responses: { 200: { description: "Declined", content: json(Offer) }, ...errorResponses },
});

export const offerRoutes = (deps: { offers: OfferService }) =>
  createRouter()
    .openapi(suggestions, async (c) => c.json(await deps.offers.suggestions(actorOf(c), c.req.valid("param").id), 200))
    .openapi(offer, async (c) =>
      c.json(await deps.offers.offer(actorOf(c), c.req.valid("param").id, c.req.valid("json").engineerId), 201),
    )
    .openapi(withdraw, async (c) => {
      await deps.offers.withdraw(actorOf(c), c.req.valid("param").id, c.req.valid("json").reason);
      return c.body(null, 204);
    })
    .openapi(list, async (c) => c.json({ items: await deps.offers.list(actorOf(c), c.req.valid("query")) }, 200))
    .openapi(accept, async (c) => c.json(await deps.offers.accept(actorOf(c), c.req.valid("param").id), 200))
    .openapi(decline, async (c) =>
      c.json(await deps.offers.decline(actorOf(c), c.req.valid("param").id, c.req.valid("json").reason), 200),
    );
