// HTTP for the e-mail outbox, for operators: what waits, what went, what failed and why, and a retry now.
import { createRoute, z } from "@hono/zod-openapi";
import { type Mailer, mailStates, requireOperator } from "../../domain/notifications/mail.ts";
import { errorResponses } from "../../http/errors.ts";
import { actorOf, createRouter } from "../../http/router.ts";
import { notFound } from "../../kernel/errors.ts";
import { IdParam, json } from "../schemas.ts";

const OutboxMail = z
  .object({
    id: z.string(),
    to: z.string(),
    subject: z.string(),
    kind: z.string(),
    state: z.enum(mailStates),
    attempts: z.number().int(),
    nextAttemptAt: z.string().nullable(),
    lastError: z.string().nullable(),
    createdAt: z.string(),
    sentAt: z.string().nullable(),
  })
  .openapi("OutboxMail");

const list = createRoute({
  method: "get",
  path: "/mail-outbox",
  tags: ["notifications"],
  summary: "The e-mail outbox, newest 200 first: recipient, subject, state, attempts, last error (operators)",
  request: { query: z.object({ state: z.enum(mailStates).optional() }) },
  responses: {
    200: {
      description: "`enabled` is false when no SMTP server is set",
      content: json(z.object({ enabled: z.boolean(), items: z.array(OutboxMail) })),
    },
    ...errorResponses,
  },
});

const retry = createRoute({
  method: "post",
  path: "/mail-outbox/{id}/retry",
  tags: ["notifications"],
  summary: "Send a waiting or failed message now (operators); answers with its state after the attempt",
  request: { params: IdParam },
  responses: { 200: { description: "The message", content: json(OutboxMail) }, ...errorResponses },
});

export const mailRoutes = (deps: { mailer?: Mailer | undefined }) =>
  createRouter()
    .openapi(list, async (c) => {
      const actor = actorOf(c);
      if (!deps.mailer) {
        requireOperator(actor);
        return c.json({ enabled: false, items: [] }, 200);
      }
      return c.json({ enabled: true, items: await deps.mailer.outbox(actor, c.req.valid("query").state) }, 200);
    })
    .openapi(retry, async (c) => {
      const actor = actorOf(c);
      if (!deps.mailer) {
        // The role first, as when e-mail is on: a non-operator learns nothing of the outbox.
        requireOperator(actor);
        throw notFound("mail");
      }
      return c.json(await deps.mailer.retry(actor, c.req.valid("param").id), 200);
    });
