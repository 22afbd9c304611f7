// HTTP for task batches: a contract's data-entry work, its field schema, and items imported from a CSV.
import { createRoute, z } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { ORDER_CSP, renderOrder } from "../../domain/delivery/order-document.ts";
import { vettingKinds } from "../../domain/matching/matching.ts";
import type { TaskDocumentService } from "../../domain/tasks/documents.service.ts";
import { TASK_DOCUMENT_LIMITS } from "../../domain/tasks/documents.ts";
import { taskFieldTypes } from "../../domain/tasks/field-values.ts";
import type { TaskService } from "../../domain/tasks/tasks.service.ts";
import { errorResponses } from "../../http/errors.ts";
import { actorOf, createRouter } from "../../http/router.ts";
import { fail } from "../../kernel/errors.ts";
import { text } from "../../kernel/messages.ts";
import { NameText } from "../../kernel/text.ts";
import { Id, IdParam, json } from "../schemas.ts";

const TaskField = z
  .strictObject({
    name: NameText(100),
    type: z.enum(taskFieldTypes),
    required: z.boolean().default(false),
    choices: z.array(NameText(200)).min(1).max(200).optional(),
    corporateOnly: z.boolean().optional().describe("invoice_number only: the 13 digits must be a corporate number"),
  })
  .openapi("TaskField");

const NewTaskBatch = z
  .strictObject({
    title: NameText(200),
    fields: z.array(TaskField).min(1).max(100),
    unitPriceYen: z.number().int().min(0).max(10_000_000).nullable().optional(),
    retentionUntil: z.iso.date().describe("YYYY-MM-DD: the last day documents and sensitive values are kept"),
    vetting: z
      .array(z.enum(vettingKinds))
      .max(vettingKinds.length)
      .optional()
      .describe("vetting every keyer and deciding lead must hold; my_number is added for individual-number fields"),
  })
  .openapi("NewTaskBatch");

const TaskBatch = z
  .object({
    id: z.string(),
    contractId: z.string(),
    title: z.string(),
    fields: z.array(TaskField),
    unitPriceYen: z.number().nullable(),
    retentionUntil: z.string(),
    vetting: z.array(z.enum(vettingKinds)),
    itemCount: z.number(),
    createdBy: z.string(),
    createdAt: z.string(),
  })
  .openapi("TaskBatch");

const TaskItem = z
  .object({ id: z.string(), seq: z.number(), source: z.record(z.string(), z.string()) })
  .openapi("TaskItem");

const create = createRoute({
  method: "post",
  path: "/contracts/{id}/task-batches",
  tags: ["tasks"],
  summary: "Create a task batch on a contract (its contractors)",
  request: { params: IdParam, body: { required: true, content: json(NewTaskBatch) } },
  responses: { 201: { description: "Created", content: json(TaskBatch) }, ...errorResponses },
});
const list = createRoute({
  method: "get",
  path: "/contracts/{id}/task-batches",
  tags: ["tasks"],
  summary: "The task batches of a contract",
  request: { params: IdParam },
  responses: {
    200: { description: "Batches", content: json(z.object({ items: z.array(TaskBatch) })) },
    ...errorResponses,
  },
});
const get = createRoute({
  method: "get",
  path: "/task-batches/{id}",
  tags: ["tasks"],
  summary: "One task batch",
  request: { params: IdParam },
  responses: { 200: { description: "The batch", content: json(TaskBatch) }, ...errorResponses },
});
const importItems = createRoute({
  method: "post",
  path: "/task-batches/{id}/items",
  tags: ["tasks"],
  summary: "Add items from a CSV whose header names the batch's fields (its contractors)",
  request: {
    params: IdParam,
    body: { required: true, content: json(z.strictObject({ csv: z.string().min(1) }).openapi("TaskItemsCsv")) },
  },
  responses: {
    201: { description: "Imported", content: json(z.object({ imported: z.number(), itemCount: z.number() })) },
    ...errorResponses,
  },
});
const items = createRoute({
  method: "get",
  path: "/task-batches/{id}/items",
  tags: ["tasks"],
  summary: "A batch's items in order, after position `after`",
  request: {
    params: IdParam,
    query: z.object({
      after: z.coerce.number().int().min(0).default(0),
      limit: z.coerce.number().int().min(1).max(500).default(100),
    }),
  },
  responses: {
    200: { description: "Items", content: json(z.object({ items: z.array(TaskItem) })) },
    ...errorResponses,
  },
});

const documentFile = { schema: z.string().openapi({ format: "binary" }) };
const uploadDocuments = createRoute({
  method: "post",
  path: "/task-batches/{id}/documents",
  tags: ["tasks"],
  summary: "Add document items: a PNG, JPEG or PDF, or a zip of them, one item per file (its contractors)",
  description:
    "Send the file as the body. Its kind is read from its first bytes, whatever its name or content type: PNG, JPEG and PDF are taken, anything else (SVG, HTML, GIF, office files…) is refused with 415. A PDF is rendered to PNG pages and only the pages are kept. A zip is unpacked with each file and the whole bounded; every file in it must be a document. All or none: a refused file writes nothing. Pages are stored sealed and are never served at a URL: they are shown only inside the entry page of the keyer holding the item, and to the lead deciding it.",
  request: {
    params: IdParam,
    query: z.strictObject({
      name: NameText(200).optional().describe("the file's name, kept sealed with its pages (default: the kind)"),
    }),
    body: {
      required: true,
      content: {
        "application/octet-stream": documentFile,
        "application/zip": documentFile,
        "application/pdf": documentFile,
        "image/png": documentFile,
        "image/jpeg": documentFile,
      },
    },
  },
  responses: {
    201: {
      description: "The items made",
      content: json(
        z.object({
          items: z.array(z.object({ id: z.string(), seq: z.number(), name: z.string(), pages: z.number() })),
          itemCount: z.number(),
        }),
      ),
    },
    ...errorResponses,
  },
});

const order = createRoute({
  method: "get",
  path: "/task-batches/{id}/keyers/{userId}/order",
  tags: ["tasks"],
  summary:
    "The order document (発注書) of a keyer's work on a batch with a unit price, as printable HTML (the keyer, the contract's leads and contractors, operators)",
  request: { params: IdParam.extend({ userId: Id.openapi({ param: { name: "userId", in: "path" } }) }) },
  responses: { 200: { description: "HTML", content: { "text/html": { schema: z.string() } } }, ...errorResponses },
});

/** The path of a document upload, which has a larger body limit of its own (src/http/app.ts passes it over). */
export const taskDocumentUpload = /^(\/api\/v1)?\/task-batches\/[^/]+\/documents$/;

export const taskRoutes = (deps: { tasks: TaskService; taskDocuments: TaskDocumentService }) => {
  const router = createRouter();
  // Documents are larger than any other body; this limit replaces the general one on this route.
  router.use(
    "/task-batches/:id/documents",
    bodyLimit({
      maxSize: TASK_DOCUMENT_LIMITS.uploadBytes,
      onError: () => {
        throw fail(
          "PAYLOAD_TOO_LARGE",
          text("taskDocs.uploadTooLarge", { max: `${TASK_DOCUMENT_LIMITS.uploadBytes / 1024 / 1024} MiB` }),
        );
      },
    }),
  );
  return router
    .openapi(uploadDocuments, async (c) => {
      const bytes = Buffer.from(await c.req.raw.arrayBuffer());
      const name = c.req.valid("query").name;
      const result = await deps.taskDocuments.upload(actorOf(c), c.req.valid("param").id, {
        name: name ?? "document",
        bytes,
      });
      return c.json(result, 201);
    })
    .openapi(create, async (c) =>
      c.json(await deps.tasks.create(actorOf(c), c.req.valid("param").id, c.req.valid("json")), 201),
    )
    .openapi(list, async (c) => c.json({ items: await deps.tasks.list(actorOf(c), c.req.valid("param").id) }, 200))
    .openapi(get, async (c) => c.json(await deps.tasks.get(actorOf(c), c.req.valid("param").id), 200))
    .openapi(order, async (c) => {
      const { id, userId } = c.req.valid("param");
      const terms = await deps.tasks.order(actorOf(c), id, userId);
      return c.html(renderOrder(terms), 200, { "content-security-policy": ORDER_CSP });
    })
    .openapi(importItems, async (c) =>
      c.json(await deps.tasks.importCsv(actorOf(c), c.req.valid("param").id, c.req.valid("json").csv), 201),
    )
    .openapi(items, async (c) => {
      const { after, limit } = c.req.valid("query");
      return c.json(
        { items: await deps.tasks.items(actorOf(c), c.req.valid("param").id, { offset: after, limit }) },
        200,
      );
    });
};
