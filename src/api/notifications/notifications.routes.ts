// HTTP for the caller's in-app notifications and the tenant's outgoing webhooks.
import { createRoute, z } from "@hono/zod-openapi";
import type { NotificationService } from "../../domain/notifications/notifications.service.ts";
import { errorResponses } from "../../http/errors.ts";
import { actorOf, createRouter } from "../../http/router.ts";
import { IdParam, json } from "../schemas.ts";

const Notification = z
  .object({
    id: z.string(),
    kind: z.string(),
    title: z.string(),
    body: z.string(),
    subject: z.string(),
    createdAt: z.string(),
    readAt: z.string().nullable(),
  })
  .openapi("Notification");

const Webhook = z
  .object({
    id: z.string(),
    url: z.string(),
    secretHint: z
      .string()
      .describe(
        "the secret's last four characters; the secret is never returned. `unreadable` when it cannot be opened (AZUSA_SECRET changed): set the webhook again",
      ),
    createdAt: z.string(),
  })
  .openapi("Webhook");

const WebhookDelivery = z
  .object({
    id: z.string(),
    event: z.string(),
    state: z.enum(["pending", "delivered", "failed"]),
    attempts: z.array(
      z.object({
        attempt: z.number(),
        at: z.string(),
        statusCode: z.number().nullable(),
        error: z.string().nullable(),
      }),
    ),
    nextAttemptAt: z.string().nullable(),
    createdAt: z.string(),
    deliveredAt: z.string().nullable(),
  })
  .openapi("WebhookDelivery");

const list = createRoute({
  method: "get",
  path: "/notifications",
  tags: ["notifications"],
  summary: "Your notifications, newest first",
  request: { query: z.strictObject({ unread: z.enum(["true", "false"]).optional() }) },
  responses: {
    200: { description: "Notifications", content: json(z.object({ items: z.array(Notification) })) },
    ...errorResponses,
  },
});

const read = createRoute({
  method: "post",
  path: "/notifications/{id}/read",
  tags: ["notifications"],
  summary: "Mark one of your notifications read",
  request: { params: IdParam },
  responses: { 200: { description: "The notification", content: json(Notification) }, ...errorResponses },
});

const createHook = createRoute({
  method: "post",
  path: "/webhooks",
  tags: ["notifications"],
  summary: "Add a webhook for the tenant (contractors)",
  description:
    'Each event is POSTed as JSON with `azusa-signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the secret>`, `azusa-event` and `azusa-delivery`. Failures are retried with exponential backoff; every attempt is recorded.',
  request: {
    body: {
      required: true,
      content: json(
        z.strictObject({
          url: z.string().max(2000).describe("https://, or http:// to this machine"),
          secret: z.string().min(32, "must be at least 32 characters").max(200),
        }),
      ),
    },
  },
  responses: { 201: { description: "Added", content: json(Webhook) }, ...errorResponses },
});

const listHooks = createRoute({
  method: "get",
  path: "/webhooks",
  tags: ["notifications"],
  summary: "The tenant's webhooks (contractors)",
  responses: {
    200: { description: "Webhooks", content: json(z.object({ items: z.array(Webhook) })) },
    ...errorResponses,
  },
});

const removeHook = createRoute({
  method: "delete",
  path: "/webhooks/{id}",
  tags: ["notifications"],
  summary: "Remove a webhook (contractors)",
  request: { params: IdParam },
  responses: { 204: { description: "Removed" }, ...errorResponses },
});

const deliveries = createRoute({
  method: "get",
  path: "/webhooks/{id}/deliveries",
  tags: ["notifications"],
  summary: "A webhook's deliveries with every attempt (contractors)",
  request: { params: IdParam },
  responses: {
    200: { description: "Deliveries", content: json(z.object({ items: z.array(WebhookDelivery) })) },
    ...errorResponses,
  },
});

export const notificationRoutes = (deps: { notifications: NotificationService }) =>
  createRouter()
    .openapi(list, async (c) =>
      c.json(
        { items: await deps.notifications.list(actorOf(c), { unread: c.req.valid("query").unread === "true" }) },
        200,
      ),
    )
    .openapi(read, async (c) => c.json(await deps.notifications.markRead(actorOf(c), c.req.valid("param").id), 200))
    .openapi(createHook, async (c) =>
      c.json(await deps.notifications.createWebhook(actorOf(c), c.req.valid("json")), 201),
    )
    .openapi(listHooks, async (c) => c.json({ items: await deps.notifications.listWebhooks(actorOf(c)) }, 200))
    .openapi(removeHook, async (c) => {
      await deps.notifications.removeWebhook(actorOf(c), c.req.valid("param").id);
      return c.body(null, 204);
    })
    .openapi(deliveries, async (c) =>
      c.json({ items: await deps.notifications.deliveries(actorOf(c), c.req.valid("param").id) }, 200),
    );
