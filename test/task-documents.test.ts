// Document items on both databases: images and PDFs uploaded one by one or as a zip, read by their bytes (never
// their names), hostile files refused with nothing written, pages sealed at rest, shown only inline in the page
// of the keyer holding the item (and of the lead deciding it) under a watermark, every showing recorded, and
// destroyed with the batch's other values at its disposal.
import { existsSync, readFileSync } from "node:fs";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dialects } from "./support/databases.ts";
import { type Client, startTestAzusa, type TestAzusa } from "./support/harness.ts";
import { addKeyers, contractWithBatch, taskPeople } from "./support/task-batches.ts";
import { jpeg, markedPixels, pdf, png, shownPage } from "./support/task-documents.ts";
import { zip } from "./support/zip.ts";

type Who = "contractor" | "lead" | "otherContractor" | "sato" | "suzuki" | "kato";
const MARKER = "AZUSA-RECEIPT-MARKER-7f3a";
const RECEIPT = png(320, 200, { marker: MARKER });

describe.each(dialects)("task documents on %s", (dialect) => {
  let t: TestAzusa;
  let as: Record<Who, Client>;
  const ids: Partial<Record<Who, string>> = {};
  let batchId: string;
  const items: { id: string; seq: number; name: string; pages: number }[] = [];

  const upload = (client: Client, body: Buffer, name: string, type = "application/octet-stream") =>
    client.request("POST", `/api/v1/task-batches/${batchId}/documents?name=${encodeURIComponent(name)}`, body, {
      "content-type": type,
    });
  const itemCount = async () =>
    (await (await as.contractor.get(`/api/v1/task-batches/${batchId}`)).json()).itemCount as number;
  const auditActions = async () =>
    (await (await as.contractor.get("/api/v1/audit-events?limit=200")).json()).items as {
      action: string;
      subject: string;
      details: Record<string, unknown>;
      actorId?: string;
    }[];

  beforeAll(async () => {
    t = await startTestAzusa({ dialect });
    const people = await taskPeople(t, ["sato", "suzuki", "kato"] as const);
    as = people.as;
    Object.assign(ids, people.ids);
    const batch = {
      title: "領収書の入力",
      retentionUntil: "2027-12-31",
      fields: [
        { name: "取引先", type: "text", required: true },
        { name: "金額", type: "yen", required: true },
      ],
    };
    ({ batchId } = await contractWithBatch(as.contractor, batch, [ids.lead as string]));
    await addKeyers(as.contractor, batchId, [ids.sato, ids.suzuki] as string[]);
  });
  afterAll(async () => {
    await t?.stop();
  });

  it("makes one item per image, per PDF and per file of a zip, whatever the names say", async () => {
    const one = await upload(as.contractor, RECEIPT, "領収書-001.png", "image/png");
    expect(one.status).toBe(201);
    const first = await one.json();
    expect(first).toMatchObject({ itemCount: 1, items: [{ seq: 1, name: "領収書-001.png", pages: 1 }] });
    // A PDF (with a script that never reaches anyone) becomes its rendered pages.
    const two = await upload(
      as.contractor,
      pdf(["Invoice 2026-001", "Page two"], { script: "app.alert(1)" }),
      "請求書.pdf",
    );
    expect(two.status).toBe(201);
    const second = await two.json();
    expect(second.items).toMatchObject([{ seq: 2, pages: 2 }]);
    // A zip: its folders and macOS's copies passed over, its files in name order (numbers as numbers).
    const archive = await zip([
      { name: "scans/", content: "" },
      { name: "scans/receipt-10.jpg", content: jpeg("Receipt 10") },
      { name: "__MACOSX/scans/._receipt-2.png", content: "resource fork" },
      { name: "scans/receipt-2.txt.png", content: png(40, 30) },
    ]);
    const three = await upload(as.contractor, archive, "scans.zip", "application/zip");
    expect(three.status).toBe(201);
    const zipped = await three.json();
    expect(zipped.items.map((i: { name: string; seq: number }) => [i.seq, i.name])).toEqual([
      [3, "scans/receipt-2.txt.png"],
      [4, "scans/receipt-10.jpg"],
    ]);
    expect(zipped.itemCount).toBe(4);
    items.push(...first.items, ...second.items, ...zipped.items);
    const listed = (await (await as.contractor.get(`/api/v1/task-batches/${batchId}/items`)).json()).items;
    expect(listed.map((i: { seq: number }) => i.seq)).toEqual([1, 2, 3, 4]);
    const uploaded = (await auditActions()).filter((e) => e.action === "task_batch.documents_uploaded");
    expect(uploaded.map((e) => e.details)).toEqual(
      expect.arrayContaining([
        { items: 1, pages: 1 },
        { items: 1, pages: 2 },
        { items: 2, pages: 2 },
      ]),
    );
  });

  it("refuses active content, disguised files, bombs and oversize files, writing nothing", async () => {
    const before = await itemCount();
    const cases: [string, Buffer, number, string][] = [
      ["logo.svg", Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'), 415, "logo.svg"],
      ["scan.png", Buffer.from("<!doctype html><script>alert(1)</script>"), 415, "scan.png"],
      ["animation.gif", Buffer.from("GIF89a\x01\x00\x01\x00\x00\x00\x00;", "latin1"), 415, "animation.gif"],
      // A small file whose header asks for ten billion pixels.
      ["huge.png", png(8, 8, { claim: { width: 100_000, height: 100_000 } }), 413, "huge.png"],
      ["long.pdf", pdf(Array.from({ length: 21 }, (_, i) => `Page ${i + 1}`)), 413, "21"],
      ["broken.pdf", Buffer.from("%PDF-1.4\nnot really a pdf\n"), 400, "broken.pdf"],
    ];
    for (const [name, body, status, named] of cases) {
      const res = await upload(as.contractor, body, name);
      expect(res.status, name).toBe(status);
      const error = (await res.json()).error;
      expect(error.message, name).toContain(named);
      expect(error.requestId, name).toEqual(expect.any(String));
    }
    // A zip holding an SVG beside a good image: the whole zip is refused, the good image too.
    const mixed = await zip([
      { name: "ok.png", content: png(10, 10) },
      { name: "evil.svg", content: "<svg onload='alert(1)'/>" },
    ]);
    const refused = await upload(as.contractor, mixed, "mixed.zip");
    expect(refused.status).toBe(415);
    expect((await refused.json()).error.message).toContain("evil.svg");
    // A zip bomb: one entry that unpacks to 50 MiB from a few kilobytes stops at the file limit.
    const bomb = await zip([{ name: "a.png", content: { repeat: "A", times: 50 * 1024 * 1024 } }]);
    expect(bomb.length).toBeLessThan(200_000);
    const exploded = await upload(as.contractor, bomb, "bomb.zip");
    expect(exploded.status).toBe(413);
    expect((await exploded.json()).error.message).toContain("10 MiB");
    const crowd = await zip(Array.from({ length: 501 }, (_, i) => ({ name: `${i}.png`, content: "x", stored: true })));
    const crowded = await upload(as.contractor, crowd, "crowd.zip");
    expect(crowded.status).toBe(413);
    expect((await crowded.json()).error.message).toContain("501");
    expect(await itemCount()).toBe(before);
  });

  it("keeps uploads to the batch's contractors: another tenant and a keyer get 404, a lead 403", async () => {
    expect((await upload(as.otherContractor, RECEIPT, "x.png")).status).toBe(404);
    expect((await upload(as.sato, RECEIPT, "x.png")).status).toBe(404);
    expect((await upload(as.lead, RECEIPT, "x.png")).status).toBe(403);
    expect(await itemCount()).toBe(4);
  });

  it("keeps every page and file name sealed at rest", async () => {
    const db = t.running.azusa.db.kysely;
    const rows = await db.selectFrom("task_document").select(["name", "body"]).execute();
    expect(rows).toHaveLength(5);
    for (const r of rows) {
      expect(r.name.startsWith("sealed:v1:")).toBe(true);
      expect(r.body.startsWith("sealed:v1:")).toBe(true);
    }
    let stored = "";
    if (dialect === "sqlite") {
      const main = await sql<{ file: string }>`select file from pragma_database_list where name = 'main'`.execute(db);
      const file = main.rows[0]?.file as string;
      for (const part of [file, `${file}-wal`, `${file}-journal`]) {
        if (existsSync(part)) stored += readFileSync(part).toString("latin1");
      }
    } else {
      const all = await sql<{ row: string }>`select t::text as row from task_document t`.execute(db);
      stored = all.rows.map((r) => r.row).join("\n");
    }
    expect(stored).toContain("sealed:v1:");
    expect(stored).not.toContain(MARKER);
    expect(stored).not.toContain(RECEIPT.toString("base64").slice(0, 60));
    expect(stored).not.toContain("領収書-001.png");
  });

  it("shows a page only inline to the keyer holding the item, watermarked, never stored, each showing recorded", async () => {
    const res = await as.sato.get(`/tasks/${batchId}/entry`);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const html = await res.text();
    // The page sent is not the file uploaded: the same size, the watermark burned into its pixels, no text note.
    expect(html).not.toContain(RECEIPT.toString("base64").slice(0, 200));
    const shown = await shownPage(html);
    expect(shown.bytes.equals(RECEIPT)).toBe(false);
    expect([shown.width, shown.height]).toEqual([320, 200]);
    expect(shown.marked).toBeGreaterThan(320 * 200 * 0.01);
    expect(shown.bytes.toString("latin1")).not.toContain(MARKER);
    // The uploaded page alone has none of the watermark's colour.
    expect(await markedPixels(RECEIPT)).toBe(0);
    // The watermark's words are said beside it too: the keyer and the minute.
    expect(html).toMatch(/表示: sato \d{4}-\d{2}-\d{2} \d{2}:\d{2} JST/u);
    // No address the file could be fetched from again.
    expect(html).not.toMatch(/documents\//u);
    expect(html).not.toContain("領収書-001.png");
    const viewed = (await auditActions()).filter((e) => e.action === "task_document.viewed");
    expect(viewed).toHaveLength(1);
    expect(viewed[0]).toMatchObject({
      subject: `task_item:${items[0]?.id}`,
      actorId: ids.sato,
      details: { batchId, pages: 1, purpose: "entry" },
    });

    // kato keys nothing of this batch; the service shows none of its pages to anyone but the holder.
    expect((await as.kato.get(`/tasks/${batchId}/entry`)).status).toBe(404);
    const documents = t.running.azusa.taskDocuments;
    const engineer = (id: string) =>
      ({ kind: "user", userId: id, email: "", role: "engineer", tenantId: null, via: "session" }) as const;
    await expect(documents.forKeyer(engineer(ids.kato as string), items[0]?.id as string)).rejects.toMatchObject({
      code: "NOT_FOUND",
    });
    await expect(documents.forKeyer(engineer(ids.suzuki as string), items[0]?.id as string)).rejects.toMatchObject({
      code: "NOT_FOUND",
    });
    await expect(
      documents.forKeyer(
        { kind: "user", userId: "x", email: "", role: "contractor", tenantId: null, via: "session" },
        items[0]?.id as string,
      ),
    ).rejects.toMatchObject({ code: "NOT_FOUND" });

    // Once sent, the page is gone from the keyer's view: the next item is shown instead.
    const sent = await as.sato.put(`/api/v1/task-items/${items[0]?.id}/entry`, {
      values: { 取引先: "山田商店", 金額: "1200" },
    });
    expect(sent.status).toBe(200);
    await expect(documents.forKeyer(engineer(ids.sato as string), items[0]?.id as string)).rejects.toMatchObject({
      code: "NOT_FOUND",
    });
    const next = await (await as.sato.get(`/tasks/${batchId}/entry`)).text();
    expect(next).not.toContain(RECEIPT.toString("base64"));
    expect(next.match(/data:image\/png;base64,/gu)).toHaveLength(2);
  });

  it("shows the document to the lead deciding a dispute, watermarked with the lead's name", async () => {
    const take = await as.suzuki.post(`/api/v1/task-batches/${batchId}/take`, {});
    expect((await take.json()).item.id).toBe(items[0]?.id);
    const sent = await as.suzuki.put(`/api/v1/task-items/${items[0]?.id}/entry`, {
      values: { 取引先: "山田商店", 金額: "1300" },
    });
    expect((await sent.json()).state).toBe("disputed");
    const res = await as.lead.get(`/task-disputes/${batchId}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const html = await res.text();
    expect(html).not.toContain(RECEIPT.toString("base64").slice(0, 200));
    expect((await shownPage(html)).marked).toBeGreaterThan(320 * 200 * 0.01);
    expect(html).toMatch(/表示: lead \d{4}-\d{2}-\d{2} \d{2}:\d{2} JST/u);
    const viewed = (await auditActions()).filter(
      (e) => e.action === "task_document.viewed" && e.details.purpose === "adjudication",
    );
    expect(viewed).toEqual([expect.objectContaining({ actorId: ids.lead, subject: `task_item:${items[0]?.id}` })]);
  });

  it("destroys the pages at disposal and counts them in the record", async () => {
    const res = await as.contractor.post(`/api/v1/task-batches/${batchId}/disposal`, {});
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ items: 4, documents: 5 });
    const db = t.running.azusa.db.kysely;
    expect(await db.selectFrom("task_document").select("id").where("batch_id", "=", batchId).execute()).toEqual([]);
    const csv = Buffer.from(
      await (await as.contractor.get(`/api/v1/task-batches/${batchId}/disposal.csv`)).arrayBuffer(),
    );
    expect(csv.subarray(3).toString("utf8").split("\r\n")[1]).toMatch(new RegExp(`^${batchId},request,4,\\d+,0,5,`));
    expect((await upload(as.contractor, RECEIPT, "late.png")).status).toBe(409);
  });
});
