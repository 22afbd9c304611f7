// Paying 請負 task work per accepted item, on both databases: the settlement's task lines give per keyer and batch
// the items accepted in the month whose value came from that keyer's entry, times the batch's unit price. The
// figures below are worked by hand: a unit price of 120 yen, three items keyed by sato, suzuki and tanaka.
import { parse } from "csv-parse/sync";
import ExcelJS from "exceljs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TASK_HEADERS, TASK_HEADING } from "../src/domain/timesheets/settlement-export.ts";
import { dialects } from "./support/databases.ts";
import { sampleContract } from "./support/fixtures.ts";
import { type Client, startTestAzusa, type TestAzusa } from "./support/harness.ts";
import { getPage } from "./support/pages.ts";
import { addKeyers, importItems } from "./support/task-batches.ts";

const receipts = (title: string, unitPriceYen: number | null) => ({
  title,
  retentionUntil: "2027-12-31",
  unitPriceYen,
  fields: [
    { name: "支払先", type: "text", required: true },
    { name: "金額", type: "yen", required: true },
  ],
});

/** The Tokyo month of now, and the one before it. */
const tokyoMonth = (offsetMonths = 0) => {
  const d = new Date(Date.now() + 9 * 3_600_000);
  d.setUTCDate(1);
  d.setUTCMonth(d.getUTCMonth() + offsetMonths);
  return d.toISOString().slice(0, 7);
};

describe.each(dialects)("task work paid per accepted item on %s", (dialect) => {
  let t: TestAzusa;
  let contractor: Client;
  let lead: Client;
  let contractId: string;
  let priced: string;
  let byHoursId: string;
  const as = {} as Record<"sato" | "suzuki" | "tanaka", Client>;
  const ids = {} as Record<"sato" | "suzuki" | "tanaka", string>;

  /** The keyer takes the next item and sends `values`; the item's number. */
  const key = async (name: keyof typeof as, batchId: string, values: Record<string, string>) => {
    const taken = (await (await as[name].post(`/api/v1/task-batches/${batchId}/take`, {})).json()).item;
    expect((await as[name].put(`/api/v1/task-items/${taken.id}/entry`, { values })).status).toBe(200);
    return taken.seq as number;
  };

  beforeAll(async () => {
    t = await startTestAzusa({ dialect });
    const tenant = await t.createTenant("東京システムインテグレーション");
    const other = await t.createTenant("大阪データサービス");
    await t.createUser("contractor", "buyer@tokyo-si.example", tenant.id);
    await t.createUser("contractor", "buyer@osaka-data.example", other.id);
    const leadId = (await t.createUser("lead", "lead@tokyo-si.example", tenant.id)).id;
    for (const name of ["sato", "suzuki", "tanaka"] as const) {
      ids[name] = (await t.createUser("engineer", `${name}@north.example`)).id;
      as[name] = await t.signIn(`${name}@north.example`);
    }
    contractor = await t.signIn("buyer@tokyo-si.example");
    lead = await t.signIn("lead@tokyo-si.example");
    const contract = await contractor.post("/api/v1/contracts", { ...sampleContract, leadIds: [leadId] });
    contractId = (await contract.json()).id;
    const batch = async (title: string, unitPriceYen: number | null) => {
      const res = await contractor.post(`/api/v1/contracts/${contractId}/task-batches`, receipts(title, unitPriceYen));
      expect(res.status).toBe(201);
      return (await res.json()).id as string;
    };
    priced = await batch("領収書の入力", 120);
    const byHours = await batch("請求書の入力", null);
    byHoursId = byHours;
    const items = await importItems(contractor, priced, "支払先\n信州商事\n松本物産\n安曇野食品\n");
    await importItems(contractor, byHours, "支払先\n信州商事\n");
    await addKeyers(contractor, priced, [ids.sato, ids.suzuki, ids.tanaka]);
    await addKeyers(contractor, byHours, [ids.sato, ids.suzuki]);
    // sato keys all three; suzuki items 1 (the same: agreed) and 2 (another amount: disputed); tanaka item 3
    // (another amount: disputed).
    for (const [payee, amount] of [
      ["信州商事", "1200"],
      ["松本物産", "3300"],
      ["安曇野食品", "540"],
    ]) {
      await key("sato", priced, { 支払先: payee as string, 金額: amount as string });
    }
    expect(await key("suzuki", priced, { 支払先: "信州商事", 金額: "1200" })).toBe(1);
    expect(await key("suzuki", priced, { 支払先: "松本物産", 金額: "3800" })).toBe(2);
    expect(await key("tanaka", priced, { 支払先: "安曇野食品", 金額: "450" })).toBe(3);
    // The lead decides item 2 as sato keyed it, and item 3 as neither did (5400).
    for (const [seq, amount] of [
      [2, "3300"],
      [3, "5400"],
    ] as const) {
      const payee = seq === 2 ? "松本物産" : "安曇野食品";
      const res = await lead.put(`/api/v1/task-items/${items[seq]}/adjudication`, {
        values: { 支払先: payee, 金額: amount },
      });
      expect(res.status).toBe(200);
    }
    // A batch paid by hours (no unit price): agreed, but no line.
    await key("sato", byHours, { 支払先: "信州商事", 金額: "100" });
    await key("suzuki", byHours, { 支払先: "信州商事", 金額: "100" });
  });
  afterAll(() => t?.stop());

  const lines = (on: Client, month: string, contract = contractId) =>
    on.get(`/api/v1/contracts/${contract}/settlements/tasks?month=${month}`);

  it("pays each keyer the accepted items whose value came from their entry, times the unit price", async () => {
    const res = await lines(contractor, tokyoMonth());
    expect(res.status).toBe(200);
    // sato: item 1 (agreed) and item 2 (decided as sato keyed it) = 2 × 120 = 240 yen.
    // suzuki: item 1 (agreed) = 1 × 120 = 120 yen; item 2 was decided against their entry.
    // tanaka: item 3 was decided as neither keyed it: no line. Total 360 yen.
    expect(await res.json()).toEqual({
      month: tokyoMonth(),
      closed: null,
      items: [
        {
          batchId: priced,
          title: "領収書の入力",
          engineerId: ids.sato,
          engineerName: "sato",
          acceptedItems: 2,
          unitPriceYen: 120,
          amountYen: 240,
        },
        {
          batchId: priced,
          title: "領収書の入力",
          engineerId: ids.suzuki,
          engineerName: "suzuki",
          acceptedItems: 1,
          unitPriceYen: 120,
          amountYen: 120,
        },
      ],
      amountYen: 360,
    });
    expect((await (await lines(lead, tokyoMonth())).json()).amountYen).toBe(360);
  });

  it("counts an item in the month it was accepted, and nothing in another", async () => {
    const before = await lines(contractor, tokyoMonth(-1));
    expect(await before.json()).toEqual({ month: tokyoMonth(-1), closed: null, items: [], amountYen: 0 });
  });

  it("refuses a bad month, and is no resource to an engineer or another tenant", async () => {
    const bad = await lines(contractor, "2026-13");
    expect(bad.status).toBe(400);
    expect(JSON.stringify((await bad.json()).error)).toContain("month");
    expect((await lines(as.sato, tokyoMonth())).status).toBe(404);
    const osaka = await t.signIn("buyer@osaka-data.example");
    const foreign = await lines(osaka, tokyoMonth());
    expect(foreign.status).toBe(404);
    expect((await foreign.json()).error.code).toBe("NOT_FOUND");
  });

  /** The month's settlement CSV of the contract, as rows. */
  const csvRows = async (on: Client, month: string) => {
    const res = await on.get(`/api/v1/contracts/${contractId}/settlements.csv?month=${month}`);
    expect(res.status).toBe(200);
    return parse(await res.text(), { bom: true, record_delimiter: "\r\n", relax_column_count: true }) as string[][];
  };

  it("shows the task lines on the month's page in Japanese: accepted items × unit price = amount", async () => {
    const page = await getPage(contractor, `/hours?month=${tokyoMonth()}`);
    expect(page.status).toBe(200);
    const section = page.html.slice(page.html.indexOf("入力作業（請負）: 検収件数 × 単価"));
    expect(section).toContain(`<th scope="col">入力者</th>`);
    const rows = [...section.matchAll(/<tr>(.*?)<\/tr>/gs)].map((m) => (m[1] ?? "").replace(/<[^>]+>/g, "|"));
    // The header, sato 2 × 120 = 240, suzuki 1 × 120 = 120, the total 3 items 360 yen.
    expect(rows.slice(1, 4).map((r) => r.split("|").filter(Boolean))).toEqual([
      ["sato", "領収書の入力", "2 件", "120 円", "240 円"],
      ["suzuki", "領収書の入力", "1 件", "120 円", "120 円"],
      ["合計", "3 件", "360 円"],
    ]);
    expect(section).toContain("採用された値がその人の入力と同じもの");
    // A month without accepted items has no task table.
    expect((await getPage(contractor, `/hours?month=${tokyoMonth(-1)}`)).html).not.toContain("検収件数 × 単価");
  });

  it("puts the same lines in the settlement CSV and workbook, and keeps them from another tenant", async () => {
    const rows = await csvRows(lead, tokyoMonth());
    // A 請負 contract has no hours band: the file is the task lines alone, then how they are counted.
    expect(rows.slice(0, 5)).toEqual([
      [TASK_HEADING],
      [...TASK_HEADERS],
      ["sato", tokyoMonth(), "領収書の入力", "2", "120", "240"],
      ["suzuki", tokyoMonth(), "領収書の入力", "1", "120", "120"],
      ["合計", tokyoMonth(), "", "3", "", "360"],
    ]);
    expect(rows.slice(5).flat().join("")).toContain("消費税別");
    expect((await csvRows(contractor, tokyoMonth(-1))).slice(2, 3)).toEqual([
      ["合計", tokyoMonth(-1), "", "0", "", "0"],
    ]);

    const xlsx = await contractor.get(`/api/v1/contracts/${contractId}/settlements.xlsx?month=${tokyoMonth()}`);
    expect(xlsx.status).toBe(200);
    const book = new ExcelJS.Workbook();
    await book.xlsx.load(Buffer.from(await xlsx.arrayBuffer()) as unknown as ArrayBuffer);
    const sheet = book.getWorksheet("精算");
    expect(sheet?.getRow(1).getCell(3).value).toBe("締め前（暫定）");
    expect(sheet?.getRow(2).getCell(1).value).toBe(TASK_HEADING);
    expect(sheet?.getRow(3).values).toEqual([undefined, ...TASK_HEADERS]);
    expect(sheet?.getRow(4).values).toEqual([undefined, "sato", tokyoMonth(), "領収書の入力", 2, 120, 240]);
    expect(sheet?.getRow(6).values).toEqual([undefined, "合計", tokyoMonth(), "", 3, "", 360]);

    const osaka = await t.signIn("buyer@osaka-data.example");
    for (const ext of ["csv", "xlsx"]) {
      for (const on of [osaka, as.sato]) {
        const res = await on.get(`/api/v1/contracts/${contractId}/settlements.${ext}?month=${tokyoMonth()}`);
        expect(res.status).toBe(404);
      }
    }
    expect((await getPage(osaka, `/hours?month=${tokyoMonth()}`)).html).not.toContain("領収書の入力");
  });

  const orderOf = (on: Client, batchId: string, userId: string) =>
    on.get(`/api/v1/task-batches/${batchId}/keyers/${userId}/order`);

  it("gives each keyer an order document stating the unit price and how accepted items are counted", async () => {
    for (const on of [as.sato, contractor, lead, await t.signIn("root@office.example")]) {
      const res = await orderOf(on, priced, ids.sato);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
      const html = await res.text();
      expect(html).toContain("<h1>発注書</h1>");
      expect(html).toContain("sato 様");
      expect(html).toContain("東京システムインテグレーション");
      expect(html).toContain("領収書の入力（各項目の 支払先、金額 の入力）");
      expect(html).toContain("1 件あたり 120円 × 検収された件数（消費税別）");
      expect(html).toContain("<th>契約形態</th><td>請負</td>");
      expect(html).not.toContain("見積工数");
    }
  });

  it("keeps a keyer's order from other keyers, other tenants and people who are not the batch's keyers", async () => {
    const cases: [Client, string, string][] = [
      [as.suzuki, priced, ids.sato],
      [await t.signIn("buyer@osaka-data.example"), priced, ids.sato],
      [contractor, byHoursId, ids.tanaka],
      [contractor, "no-such-batch", ids.sato],
    ];
    for (const [on, batchId, userId] of cases) {
      const res = await orderOf(on, batchId, userId);
      expect(res.status).toBe(404);
      expect((await res.json()).error.code).toBe("NOT_FOUND");
    }
  });

  it("has no per-item order for a batch paid by hours", async () => {
    const res = await orderOf(contractor, byHoursId, ids.sato);
    expect(res.status).toBe(409);
    expect((await res.json()).error.message).toContain("unit price");
  });
  it("keeps a closed month's task lines as they were at the close, whatever changes afterwards", async () => {
    const month = tokyoMonth(-1);
    const db = t.running.azusa.db.kysely;
    const slips = await contractor.post(`/api/v1/contracts/${contractId}/task-batches`, receipts("伝票の入力", 200));
    const slipsId = (await slips.json()).id as string;
    await importItems(contractor, slipsId, "支払先\n上田商店\n諏訪精機\n岡谷電機\n");
    await addKeyers(contractor, slipsId, [ids.sato, ids.suzuki]);
    /** Both keyers key the next item alike; its acceptance is then put back into last month, as if done then. */
    const keyInLastMonth = async (payee: string) => {
      await key("sato", slipsId, { 支払先: payee, 金額: "800" });
      await key("suzuki", slipsId, { 支払先: payee, 金額: "800" });
      await db
        .updateTable("task_entry")
        .set({ submitted_at: `${month}-20T03:00:00.000Z` })
        .where("batch_id", "=", slipsId)
        .execute();
    };
    await keyInLastMonth("上田商店");
    await keyInLastMonth("諏訪精機");
    const slipLine = (name: "sato" | "suzuki", n: number, price: number) => ({
      batchId: slipsId,
      title: "伝票の入力",
      engineerId: ids[name],
      engineerName: name,
      acceptedItems: n,
      unitPriceYen: price,
      amountYen: n * price,
    });
    // Two items each at 200 yen: 400 yen for sato and for suzuki, 800 in all.
    const asClosed = [slipLine("sato", 2, 200), slipLine("suzuki", 2, 200)];
    const closing = await contractor.post(`/api/v1/contracts/${contractId}/settlements/close`, { month });
    expect(closing.status).toBe(201);
    const closedLines = await (await lines(contractor, month)).json();
    expect(closedLines).toMatchObject({ month, items: asClosed, amountYen: 800 });
    expect(closedLines.closed.at).toBeTruthy();
    const csvBefore = await csvRows(contractor, month);
    expect(csvBefore.slice(2, 5)).toEqual([
      ["sato", month, "伝票の入力", "2", "200", "400"],
      ["suzuki", month, "伝票の入力", "2", "200", "400"],
      ["合計", month, "", "4", "", "800"],
    ]);

    // Afterwards: the unit price changes (no API does it; the database is changed behind Azusa's back) and a third
    // item's acceptance falls in the closed month.
    await db.updateTable("task_batch").set({ unit_price_yen: 300 }).where("id", "=", slipsId).execute();
    await keyInLastMonth("岡谷電機");
    const after = await (await lines(lead, month)).json();
    expect(after).toEqual(closedLines);
    expect(await csvRows(contractor, month)).toEqual(csvBefore);
    const page = await getPage(contractor, `/hours?month=${month}`);
    expect(page.html).toContain('<td class="num">400 円</td>');
    expect(page.html).not.toContain("900 円");
    expect(page.html).toContain("締めを解除する");
    const xlsx = await contractor.get(`/api/v1/contracts/${contractId}/settlements.xlsx?month=${month}`);
    const book = new ExcelJS.Workbook();
    await book.xlsx.load(Buffer.from(await xlsx.arrayBuffer()) as unknown as ArrayBuffer);
    expect(book.getWorksheet("精算")?.getRow(1).getCell(3).value).toBe("締め済み");
    expect(book.getWorksheet("精算")?.getRow(6).values).toEqual([undefined, "合計", month, "", 4, "", 800]);

    // Reopened, the month counts again as the batches say now: three items each at 300 yen.
    const reopened = await contractor.post(`/api/v1/contracts/${contractId}/settlements/reopen`, {
      month,
      reason: "単価の訂正",
    });
    expect(reopened.status).toBe(200);
    expect(await (await lines(contractor, month)).json()).toEqual({
      month,
      closed: null,
      items: [slipLine("sato", 3, 300), slipLine("suzuki", 3, 300)],
      amountYen: 1800,
    });
  });
});
