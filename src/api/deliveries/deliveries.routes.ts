// HTTP for 請負 delivery and inspection (検収), and the printable order document of an assignment.
import { createRoute, z } from "@hono/zod-openapi";
import type { DeliveryService } from "../../domain/delivery/delivery.service.ts";
import { ORDER_CSP, type OrderOf, type OrderTerms } from "../../domain/delivery/order-document.ts";
import { errorResponses } from "../../http/errors.ts";
import { actorOf, createRouter } from "../../http/router.ts";
import type { Actor } from "../../kernel/actor.ts";
import { IdParam, json } from "../schemas.ts";

const Delivery = z
  .object({
    id: z.string(),
    packageId: z.string(),
    engineerId: z.string(),
    note: z.string(),
    deliveredAt: z.string().describe("starts the payment clock"),
    paymentDueOn: z.string().describe("at most 60 days after delivery, counting the day of delivery"),
    decision: z.enum(["accepted", "rejected"]).nullable(),
    reasons: z.array(z.string()),
    acceptedAt: z.string().nullable().describe("検収"),
    decidedAt: z.string().nullable(),
    decidedBy: z.string().nullable(),
    paidOn: z.string().nullable().describe("the Tokyo day the contractor recorded the payment"),
  })
  .openapi("Delivery");

const AcceptedDelivery = Delivery.extend({
  wbsId: z.string(),
  title: z.string(),
  contractId: z.string(),
  contractTitle: z.string(),
  engineerName: z.string(),
}).openapi("AcceptedDelivery");

const one = { 200: { description: "The delivery", content: json(Delivery) }, ...errorResponses };

const deliver = createRoute({
  method: "post",
  path: "/packages/{id}/deliver",
  tags: ["deliveries"],
  summary: "Deliver a package in review (its engineer, 請負); the payment clock starts",
  request: {
    params: IdParam,
    body: { required: false, content: json(z.strictObject({ note: z.string().max(2000).optional() })) },
  },
  responses: { 201: { description: "Delivered", content: json(Delivery) }, ...errorResponses },
});

const accept = createRoute({
  method: "post",
  path: "/packages/{id}/accept-delivery",
  tags: ["deliveries"],
  summary: "Accept the delivery (検収; contractors of the tenant); the package is accepted",
  request: { params: IdParam },
  responses: one,
});

const reject = createRoute({
  method: "post",
  path: "/packages/{id}/reject-delivery",
  tags: ["deliveries"],
  summary: "Send the delivery back with reasons (contractors of the tenant); the package returns to in_progress",
  request: {
    params: IdParam,
    body: {
      required: true,
      content: json(
        z.strictObject({
          reasons: z.array(z.string().trim().min(1).max(2000)).min(1, "give at least one reason").max(50),
        }),
      ),
    },
  },
  responses: one,
});

const list = createRoute({
  method: "get",
  path: "/packages/{id}/deliveries",
  tags: ["deliveries"],
  summary: "A package's deliveries, newest first",
  request: { params: IdParam },
  responses: {
    200: { description: "Deliveries", content: json(z.object({ items: z.array(Delivery) })) },
    ...errorResponses,
  },
});

const accepted = createRoute({
  method: "get",
  path: "/deliveries/accepted",
  tags: ["deliveries"],
  summary: "Accepted deliveries (検収済み) of the contracts the caller sees, unpaid first by due day, then paid",
  responses: {
    200: { description: "Accepted deliveries", content: json(z.object({ items: z.array(AcceptedDelivery) })) },
    ...errorResponses,
  },
});

const paid = createRoute({
  method: "post",
  path: "/deliveries/{id}/paid",
  tags: ["deliveries"],
  summary: "Record the day an accepted delivery was paid (contractors of the tenant; once)",
  request: {
    params: IdParam,
    body: { required: true, content: json(z.strictObject({ paidOn: z.string().describe("YYYY-MM-DD, Tokyo") })) },
  },
  responses: one,
});

const order = createRoute({
  method: "get",
  path: "/assignments/{id}/order",
  tags: ["deliveries"],
  summary:
    "The order document (発注書) of an assignment, as printable HTML (its engineer, the contract's lead and contractors, operators)",
  request: { params: IdParam },
  responses: { 200: { description: "HTML", content: { "text/html": { schema: z.string() } } }, ...errorResponses },
});

export const deliveryRoutes = (deps: {
  deliveries: DeliveryService;
  orders: { terms(actor: Actor, of: OrderOf): Promise<OrderTerms>; render(t: OrderTerms): string };
}) =>
  createRouter()
    .openapi(deliver, async (c) => {
      const body = (c.req.header("content-type") ?? "").includes("json") ? c.req.valid("json") : {};
      return c.json(await deps.deliveries.deliver(actorOf(c), c.req.valid("param").id, body?.note ?? ""), 201);
    })
    .openapi(accept, async (c) => c.json(await deps.deliveries.accept(actorOf(c), c.req.valid("param").id), 200))
    .openapi(reject, async (c) =>
      c.json(await deps.deliveries.reject(actorOf(c), c.req.valid("param").id, c.req.valid("json").reasons), 200),
    )
    .openapi(list, async (c) => c.json({ items: await deps.deliveries.list(actorOf(c), c.req.valid("param").id) }, 200))
    .openapi(accepted, async (c) => c.json({ items: await deps.deliveries.accepted(actorOf(c)) }, 200))
    .openapi(paid, async (c) =>
      c.json(await deps.deliveries.markPaid(actorOf(c), c.req.valid("param").id, c.req.valid("json").paidOn), 200),
    )
    .openapi(order, async (c) => {
      const terms = await deps.orders.terms(actorOf(c), { assignmentId: c.req.valid("param").id });
      return c.html(deps.orders.render(terms), 200, { "content-security-policy": ORDER_CSP });
    });
