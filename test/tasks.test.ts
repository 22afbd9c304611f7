// Task batches over HTTP: the field schema, CSV items, and who may see a batch (its tenant only, 404 elsewhere).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dialects } from "./support/databases.ts";
import { type Client, startTestAzusa, type TestAzusa } from "./support/harness.ts";
import { contractWithBatch } from "./support/task-batches.ts";

const batch = {
  title: "2027年1月分 経費精算の入力",
  retentionUntil: "2027-12-31",
  unitPriceYen: 30,
  fields: [
    { name: "日付", type: "date", required: true },
    { name: "金額", type: "yen", required: true },
    { name: "登録番号", type: "invoice_number" },
    { name: "区分", type: "choice", choices: ["交通費", "会議費"] },
    { name: "個人番号", type: "individual_number" },
  ],
};

describe.each(dialects)("task batches on %s", (dialect) => {
  let t: TestAzusa;
  let as: Record<"contractor" | "otherContractor" | "engineer", Client>;
  let contractId: string;
  let batchId: string;

  beforeAll(async () => {
    t = await startTestAzusa({ dialect });
    const tenant = await t.createTenant("東京システムインテグレーション");
    const other = await t.createTenant("大阪データサービス");
    await t.createUser("contractor", "buyer@tokyo-si.example", tenant.id);
    await t.createUser("contractor", "buyer@osaka-ds.example", other.id);
    await t.createUser("engineer", "sato@north.example");
    as = {
      contractor: await t.signIn("buyer@tokyo-si.example"),
      otherContractor: await t.signIn("buyer@osaka-ds.example"),
      engineer: await t.signIn("sato@north.example"),
    };
    ({ contractId, batchId } = await contractWithBatch(as.contractor, batch));
  });
  afterAll(() => t?.stop());

  it("creates a batch with its schema, lists it on the contract and records it", async () => {
    const res = await as.contractor.get(`/api/v1/task-batches/${batchId}`);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ contractId, title: batch.title, unitPriceYen: 30, itemCount: 0 });
    expect(body.fields[0]).toEqual({ name: "日付", type: "date", required: true });
    expect(body.fields[2]).toEqual({ name: "登録番号", type: "invoice_number", required: false });
    const list = await (await as.contractor.get(`/api/v1/contracts/${contractId}/task-batches`)).json();
    expect(list.items.map((b: { id: string }) => b.id)).toContain(batchId);
    const audit = await (await as.contractor.get("/api/v1/audit-events?limit=5")).json();
    expect(audit.items.map((e: { action: string }) => e.action)).toContain("task_batch.created");
  });

  it("names the wrong field of a schema and writes nothing", async () => {
    const cases: [unknown, string][] = [
      [{ ...batch, fields: [{ name: "区分", type: "choice" }] }, "fields.0.choices"],
      [
        {
          ...batch,
          fields: [
            { name: "A", type: "text" },
            { name: "Ａ", type: "date" },
          ],
        },
        "fields.1.name",
      ],
      [{ ...batch, fields: [{ name: "a", type: "number" }] }, "fields.0.type"],
      [{ ...batch, retentionUntil: "2027-02-30" }, "retentionUntil"],
    ];
    for (const [body, path] of cases) {
      const res = await as.contractor.post(`/api/v1/contracts/${contractId}/task-batches`, body);
      expect(res.status, path).toBe(400);
      const error = (await res.json()).error;
      expect(error).toMatchObject({ code: "VALIDATION", requestId: expect.any(String) });
      expect(JSON.stringify(error), path).toContain(path);
    }
    const list = await (await as.contractor.get(`/api/v1/contracts/${contractId}/task-batches`)).json();
    expect(list.items).toHaveLength(1);
  });

  it("imports CSV rows as items in order, after those already there", async () => {
    const csv =
      '\uFEFF日付,金額,登録番号,区分\r\n令和9年1月5日,"1,200",T7123456789012,交通費\r\n2027/1/6,８００円,,会議費\r\n';
    const res = await as.contractor.post(`/api/v1/task-batches/${batchId}/items`, { csv });
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({ imported: 2, itemCount: 2 });
    const again = await as.contractor.post(`/api/v1/task-batches/${batchId}/items`, { csv: "金額\n500\n" });
    expect(await again.json()).toEqual({ imported: 1, itemCount: 3 });
    const items = (await (await as.contractor.get(`/api/v1/task-batches/${batchId}/items`)).json()).items;
    expect(items.map((i: { seq: number }) => i.seq)).toEqual([1, 2, 3]);
    expect(items[0].source).toEqual({
      日付: "令和9年1月5日",
      金額: "1,200",
      登録番号: "T7123456789012",
      区分: "交通費",
    });
    expect(items[2].source).toEqual({ 金額: "500" });
    const page = (await (await as.contractor.get(`/api/v1/task-batches/${batchId}/items?after=2&limit=1`)).json())
      .items;
    expect(page.map((i: { seq: number }) => i.seq)).toEqual([3]);
  });

  it("numbers the items of two imports sent at once one after the other", async () => {
    const created = await as.contractor.post(`/api/v1/contracts/${contractId}/task-batches`, {
      ...batch,
      title: "同時取込",
    });
    const id = (await created.json()).id;
    const rows = (n: number) => `金額\n${`${n}\n`.repeat(2000)}`;
    const [a, b] = await Promise.all([
      as.contractor.post(`/api/v1/task-batches/${id}/items`, { csv: rows(1) }),
      as.contractor.post(`/api/v1/task-batches/${id}/items`, { csv: rows(2) }),
    ]);
    expect([a.status, b.status]).toEqual([201, 201]);
    const counts = [(await a.json()).itemCount, (await b.json()).itemCount].sort((x, y) => x - y);
    expect(counts).toEqual([2000, 4000]);
    const items = (await (await as.contractor.get(`/api/v1/task-batches/${id}/items?limit=400&after=1800`)).json())
      .items;
    expect(items.map((i: { seq: number }) => i.seq)).toEqual(Array.from({ length: 400 }, (_, i) => 1800 + i + 1));
  });

  it("refuses a CSV with an unknown column, an individual-number column or a ragged row, and writes nothing", async () => {
    const before = (await (await as.contractor.get(`/api/v1/task-batches/${batchId}`)).json()).itemCount;
    for (const csv of [
      "金額,備考\n100,x\n",
      "金額,個人番号\n100,123456789018\n",
      "金額,区分\n100\n200,交通費\n",
      "金額\n",
    ]) {
      const res = await as.contractor.post(`/api/v1/task-batches/${batchId}/items`, { csv });
      expect(res.status, csv).toBe(400);
      expect((await res.json()).error).toMatchObject({ code: "VALIDATION", message: expect.stringContaining("csv") });
    }
    const after = (await (await as.contractor.get(`/api/v1/task-batches/${batchId}`)).json()).itemCount;
    expect(after).toBe(before);
  });

  it("refuses a CSV of more than 50,000 items with 413", async () => {
    const csv = `金額\n${"1\n".repeat(50_001)}`;
    const res = await as.contractor.post(`/api/v1/task-batches/${batchId}/items`, { csv });
    expect(res.status).toBe(413);
    expect((await res.json()).error.code).toBe("PAYLOAD_TOO_LARGE");
  });

  it("hides a batch, its items and its contract's batches from another tenant and from engineers (404)", async () => {
    for (const client of [as.otherContractor, as.engineer]) {
      for (const path of [`/api/v1/task-batches/${batchId}`, `/api/v1/task-batches/${batchId}/items`]) {
        const res = await client.get(path);
        expect(res.status, path).toBe(404);
        expect((await res.json()).error.code).toBe("NOT_FOUND");
      }
      const list = await client.get(`/api/v1/contracts/${contractId}/task-batches`);
      expect(list.status).toBe(404);
      expect((await list.json()).items ?? []).toEqual([]);
      expect((await client.post(`/api/v1/task-batches/${batchId}/items`, { csv: "金額\n1\n" })).status).toBe(404);
      expect((await client.post(`/api/v1/contracts/${contractId}/task-batches`, batch)).status).toBe(404);
    }
    expect((await (await as.contractor.get(`/api/v1/task-batches/${batchId}`)).json()).itemCount).toBe(3);
  });
});
