// Task items made of documents (scanned receipts, invoices, declaration forms): uploaded by a contractor one file
// at a time or as a zip, each file one item; every page kept sealed at rest like individual numbers. A page is
// shown only inside the page of the keyer holding the item (or the lead deciding it), never at a URL of its own,
// with the person's name and the minute burned into its pixels (watermark.ts), and every showing is an audit event
// naming the person, the item and the purpose.
import { randomUUID } from "node:crypto";
import type { Kysely, Transaction } from "kysely";
import type { Sealer } from "../../auth/sealed.ts";
import type { Database } from "../../db/schema.ts";
import type { Actor } from "../../kernel/actor.ts";
import { forbidden, notFound } from "../../kernel/errors.ts";
import { text } from "../../kernel/messages.ts";
import type { AuditService } from "../audit/audit.service.ts";
import { visibleContracts } from "../contracts/contracts.service.ts";
import { holdsAdjudicatorGrant } from "./adjudicators.service.ts";
import { readDocuments } from "./documents.ts";
import { lastItemPosition } from "./tasks.service.ts";
import { tokyoMinute, watermarkPage } from "./watermark.ts";

/** The places a document's sealed name and bytes are stored in, as the context their sealing is bound to. */
export const documentSealContext = {
  name: (id: string) => `task_document:${id}:name`,
  body: (id: string) => `task_document:${id}:body`,
};

/** One page as a page shows it: inline, base64, with its size, the watermark in its pixels. */
export interface ShownPage {
  page: number;
  mediaType: string;
  width: number;
  height: number;
  base64: string;
}

/** An item's pages as shown to one person: their name, the watermark's words, the marked pages. */
export interface Shown {
  viewer: string;
  /** `<name> <YYYY-MM-DD HH:MM> JST`, as burned into every page. */
  mark: string;
  pages: ShownPage[];
}

/** Deletes a batch's document pages (at its disposal), returning how many were destroyed. */
export async function deleteDocuments(trx: Transaction<Database>, batchId: string): Promise<number> {
  const gone = await trx.deleteFrom("task_document").where("batch_id", "=", batchId).executeTakeFirst();
  return Number(gone.numDeletedRows);
}

export function createTaskDocumentService({
  db,
  audit,
  sealer,
}: {
  db: Kysely<Database>;
  audit: AuditService;
  sealer: Sealer;
}) {
  /** The name a watermark shows of the person looking. */
  async function nameOf(userId: string): Promise<string> {
    const row = await db.selectFrom("user").select("name").where("id", "=", userId).executeTakeFirst();
    return row?.name ?? userId;
  }

  /**
   * The pages of an item, opened and marked with who is looking and when, and the showing recorded when there are
   * any.
   */
  async function show(
    actor: Extract<Actor, { kind: "user" }>,
    itemId: string,
    of: { batch_id: string; tenant_id: string },
    purpose: "entry" | "adjudication",
  ): Promise<Shown> {
    const viewer = await nameOf(actor.userId);
    const mark = `${viewer} ${tokyoMinute(new Date())}`;
    const pages = await pagesOf(itemId, mark);
    if (pages.length) {
      await audit.record(
        actor,
        "task_document.viewed",
        `task_item:${itemId}`,
        { batchId: of.batch_id, pages: pages.length, purpose },
        { tenantId: of.tenant_id },
      );
    }
    return { viewer, mark, pages };
  }

  async function pagesOf(itemId: string, mark: string): Promise<ShownPage[]> {
    const rows = await db
      .selectFrom("task_document")
      .select(["id", "page", "media_type", "width", "height", "body"])
      .where("item_id", "=", itemId)
      .orderBy("page")
      .execute();
    const out: ShownPage[] = [];
    for (const r of rows) {
      const page = { mediaType: r.media_type, width: Number(r.width), height: Number(r.height) };
      const bytes = Buffer.from(sealer.open(r.body, documentSealContext.body(r.id)), "base64");
      const marked = await watermarkPage({ ...page, bytes }, mark);
      out.push({ page: Number(r.page), ...page, mediaType: marked.mediaType, base64: marked.bytes.toString("base64") });
    }
    return out;
  }

  return {
    /**
     * Adds one item per document of the upload (a PNG, JPEG or PDF, or a zip of them), after the batch's items.
     * All or none: a file refused anywhere in a zip writes nothing. The batch's contractors only.
     */
    async upload(
      actor: Actor,
      batchId: string,
      upload: { name: string; bytes: Buffer },
    ): Promise<{ items: { id: string; seq: number; name: string; pages: number }[]; itemCount: number }> {
      const batch = await visibleContracts(db, actor)
        .innerJoin("task_batch", "task_batch.contract_id", "contract.id")
        .select(["task_batch.id", "task_batch.tenant_id"])
        .where("task_batch.id", "=", batchId)
        .executeTakeFirst();
      if (!batch) throw notFound("taskBatch");
      if (actor.kind !== "user" || actor.role !== "contractor") throw forbidden(text("tasks.contractorOnly"));
      const documents = await readDocuments(upload.name, upload.bytes);
      const now = new Date().toISOString();
      return db.transaction().execute(async (trx) => {
        const start = await lastItemPosition(trx, batchId, now);
        const items: { id: string; seq: number; name: string; pages: number }[] = [];
        for (const [i, doc] of documents.entries()) {
          const item = { id: randomUUID(), seq: start + i + 1, name: doc.name, pages: doc.pages.length };
          await trx
            .insertInto("task_item")
            .values({ id: item.id, batch_id: batchId, seq: item.seq, source: "{}", created_at: now })
            .execute();
          for (const [p, page] of doc.pages.entries()) {
            const id = randomUUID();
            await trx
              .insertInto("task_document")
              .values({
                id,
                batch_id: batchId,
                item_id: item.id,
                page: p + 1,
                media_type: page.mediaType,
                width: page.width,
                height: page.height,
                name: sealer.seal(doc.name, documentSealContext.name(id)),
                body: sealer.seal(page.bytes.toString("base64"), documentSealContext.body(id)),
                created_at: now,
              })
              .execute();
          }
          items.push(item);
        }
        await audit.record(
          actor,
          "task_batch.documents_uploaded",
          `task_batch:${batchId}`,
          { items: items.length, pages: items.reduce((n, i) => n + i.pages, 0) },
          { trx, tenantId: batch.tenant_id },
        );
        return { items, itemCount: start + items.length };
      });
    },

    /**
     * The pages of an item for the keyer holding it (taken, not yet sent, not given back); none for anyone else
     * (NOT_FOUND, as for a foreign id). An item without documents has no pages and no showing is recorded.
     */
    async forKeyer(actor: Actor, itemId: string): Promise<Shown> {
      if (actor.kind !== "user" || actor.role !== "engineer") throw notFound("taskItem");
      const held = await db
        .selectFrom("task_entry")
        .innerJoin("task_batch", "task_batch.id", "task_entry.batch_id")
        .select(["task_entry.batch_id", "task_batch.tenant_id"])
        .where("task_entry.item_id", "=", itemId)
        .where("task_entry.user_id", "=", actor.userId)
        .where("task_entry.submitted_at", "is", null)
        .where("task_entry.reclaimed_at", "is", null)
        .executeTakeFirst();
      if (!held) throw notFound("taskItem");
      return show(actor, itemId, held, "entry");
    },

    /**
     * The pages of a disputed item for the one deciding it — a lead named on its contract, or an engineer granted
     * its batch who did not key it (the caller has checked their vetting); NOT_FOUND for anyone else.
     */
    async forDecision(actor: Actor, itemId: string): Promise<Shown> {
      if (actor.kind !== "user" || (actor.role !== "lead" && actor.role !== "engineer")) throw notFound("taskItem");
      if (actor.role === "engineer") {
        const item = await db
          .selectFrom("task_item")
          .innerJoin("task_batch", "task_batch.id", "task_item.batch_id")
          .select(["task_item.batch_id", "task_batch.tenant_id", "task_batch.contract_id"])
          .where("task_item.id", "=", itemId)
          .where("task_item.state", "=", "disputed")
          .where((eb) =>
            eb.not(
              eb.exists(
                eb
                  .selectFrom("task_entry")
                  .select("task_entry.id")
                  .where("task_entry.item_id", "=", itemId)
                  .where("task_entry.user_id", "=", actor.userId),
              ),
            ),
          )
          .executeTakeFirst();
        if (!item || !(await holdsAdjudicatorGrant(db, actor.userId, { ...item, id: item.batch_id }))) {
          throw notFound("taskItem");
        }
        return show(actor, itemId, item, "adjudication");
      }
      const item = await visibleContracts(db, actor)
        .innerJoin("task_batch", "task_batch.contract_id", "contract.id")
        .innerJoin("task_item", "task_item.batch_id", "task_batch.id")
        .select(["task_item.batch_id", "task_batch.tenant_id"])
        .where("task_item.id", "=", itemId)
        .where("task_item.state", "=", "disputed")
        .executeTakeFirst();
      if (!item) throw notFound("taskItem");
      return show(actor, itemId, item, "adjudication");
    },
  };
}

export type TaskDocumentService = ReturnType<typeof createTaskDocumentService>;
