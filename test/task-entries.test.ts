// Double entry of task items over HTTP on both databases: two keyers who never see each other's entry, a
// dispute decided by a lead with both entries shown, individual numbers masked everywhere else and sealed at
// rest (the database is read and holds none in clear), every showing of them recorded, per-person figures.
import { existsSync, readFileSync } from "node:fs";
import iconv from "iconv-lite";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { individualNumberCheckDigit } from "../src/domain/tasks/field-values.ts";
import { dialects } from "./support/databases.ts";
import { type Client, startTestAzusa, type TestAzusa } from "./support/harness.ts";
import { addKeyers, contractWithBatch, importItems, taskPeople } from "./support/task-batches.ts";
import { vetForMyNumber } from "./support/workspace-setup.ts";

/** A valid individual number made by the published algorithm from an 11-digit base (never a real person's). */
const individualNumber = (base: string) => `${base}${individualNumberCheckDigit(base)}`;
const NUMBERS = {
  agreed: individualNumber("90817263544"),
  first: individualNumber("81726354490"),
  second: individualNumber("72635449081"),
};
/** Full-width, with hyphens, as someone keys it with an IME on. */
const keyedWide = (n: string) =>
  `${n.slice(0, 4)}－${n.slice(4, 8)}－${n.slice(8)}`.replace(/\d/gu, (d) =>
    String.fromCharCode(d.charCodeAt(0) + 0xfee0),
  );

const batch = {
  title: "扶養控除等申告書の個人番号確認",
  retentionUntil: "2027-12-31",
  unitPriceYen: 40,
  fields: [
    { name: "氏名", type: "text", required: true },
    { name: "個人番号", type: "individual_number", required: true },
    { name: "金額", type: "yen" },
  ],
};

type Who = "contractor" | "lead" | "otherContractor" | "sato" | "suzuki" | "tanaka" | "kato";

describe.each(dialects)("double entry of task items on %s", (dialect) => {
  let t: TestAzusa;
  let as: Record<Who, Client>;
  const ids: Partial<Record<Who, string>> = {};
  let batchId: string;
  const item: Record<number, string> = {};

  beforeAll(async () => {
    t = await startTestAzusa({ dialect });
    const people = await taskPeople(t, ["sato", "suzuki", "tanaka", "kato"] as const);
    as = people.as;
    Object.assign(ids, people.ids);
    // Individual numbers: every keyer and the deciding lead hold the my_number vetting (kato is never a keyer).
    await vetForMyNumber(await t.signIn("root@office.example"), {
      engineers: [ids.sato, ids.suzuki, ids.tanaka] as string[],
      leads: [ids.lead as string],
    });
    ({ batchId } = await contractWithBatch(as.contractor, batch, [ids.lead as string]));
    const csv = "氏名,金額\n山田花子,1200\n田中一郎,800\n鈴木次郎,500\n";
    Object.assign(item, await importItems(as.contractor, batchId, csv));
    await addKeyers(as.contractor, batchId, [ids.sato, ids.suzuki, ids.tanaka] as string[]);
  });
  afterAll(() => t?.stop());

  const take = (who: Who) => as[who].post(`/api/v1/task-batches/${batchId}/take`, {});
  const send = (who: Who, itemId: string, values: Record<string, string>) =>
    as[who].put(`/api/v1/task-items/${itemId}/entry`, { values });
  const auditActions = async () =>
    (await (await as.contractor.get("/api/v1/audit-events?limit=100")).json()).items as {
      action: string;
      subject: string;
      details: Record<string, unknown>;
      actorId?: string;
    }[];

  it("names keyers, refuses one who is not an engineer, and shows a batch to no engineer it does not name", async () => {
    const keyers = (await (await as.lead.get(`/api/v1/task-batches/${batchId}/keyers`)).json()).items;
    expect(keyers.map((k: { name: string }) => k.name)).toEqual(["sato", "suzuki", "tanaka"]);
    const wrong = await as.contractor.post(`/api/v1/task-batches/${batchId}/keyers`, { engineerId: ids.lead });
    expect(wrong.status).toBe(400);
    expect(JSON.stringify((await wrong.json()).error)).toContain("engineerId");
    expect((await take("kato")).status).toBe(404);
    const mine = (await (await as.sato.get("/api/v1/me/task-batches")).json()).items;
    expect(mine).toEqual([expect.objectContaining({ id: batchId, title: batch.title, done: 0 })]);
    expect((await (await as.kato.get("/api/v1/me/task-batches")).json()).items).toEqual([]);
  });

  it("gives each item to two keyers at most, the held one again, and never another's entry", async () => {
    const first = await (await take("sato")).json();
    expect(first.item).toMatchObject({ id: item[1], seq: 1, source: { 氏名: "山田花子", 金額: "1200" } });
    expect(first.fields.map((f: { name: string }) => f.name)).toEqual(["氏名", "個人番号", "金額"]);
    expect((await (await take("sato")).json()).item.id).toBe(item[1]);
    expect((await (await take("suzuki")).json()).item.id).toBe(item[1]);
    // Item 1 has its two keyers: the third goes on to item 2.
    expect((await (await take("tanaka")).json()).item.id).toBe(item[2]);
    expect(JSON.stringify(first)).not.toContain("suzuki");
  });

  it("refuses a wrong check digit naming the field, keeps nothing, and masks the sent number", async () => {
    const bad = `${NUMBERS.agreed.slice(0, 11)}${(Number(NUMBERS.agreed[11]) + 1) % 10}`;
    const refused = await send("sato", item[1] as string, { 氏名: "山田花子", 個人番号: bad, 金額: "1,200" });
    expect(refused.status).toBe(400);
    const error = (await refused.json()).error;
    expect(error).toMatchObject({ code: "VALIDATION", requestId: expect.any(String) });
    expect(JSON.stringify(error)).toContain("values.個人番号");
    expect((await (await take("sato")).json()).item.id).toBe(item[1]);

    const sent = await send("sato", item[1] as string, {
      氏名: "山田花子",
      個人番号: keyedWide(NUMBERS.agreed),
      金額: "1,200",
    });
    expect(sent.status).toBe(200);
    const body = await sent.json();
    expect(body).toEqual({
      itemId: item[1],
      state: "open",
      values: { 氏名: "山田花子", 個人番号: `********${NUMBERS.agreed.slice(-4)}`, 金額: "1200" },
    });
    // Sent once: the entry is no longer held, and a second send finds nothing to send.
    expect((await send("sato", item[1] as string, { 氏名: "x", 個人番号: NUMBERS.agreed })).status).toBe(404);
  });

  it("accepts an item whose two entries are equal, and shows its values masked in a recorded view", async () => {
    const sent = await send("suzuki", item[1] as string, {
      氏名: "山田花子",
      個人番号: NUMBERS.agreed,
      金額: "¥1,200",
    });
    expect((await sent.json()).state).toBe("agreed");
    const results = await (await as.contractor.get(`/api/v1/task-batches/${batchId}/results?state=agreed`)).json();
    expect(results.items).toEqual([
      {
        id: item[1],
        seq: 1,
        state: "agreed",
        values: { 氏名: "山田花子", 個人番号: `********${NUMBERS.agreed.slice(-4)}`, 金額: "1200" },
      },
    ]);
    const viewed = (await auditActions()).find((e) => e.action === "task_values.viewed");
    expect(viewed?.details).toMatchObject({ items: [item[1]], purpose: "results", masked: true });
    expect((await auditActions()).filter((e) => e.action === "task_entry.submitted")).toHaveLength(2);
  });

  it("sends differing entries to a lead, who alone sees both in full, in a recorded view, and decides", async () => {
    expect((await (await take("sato")).json()).item.id).toBe(item[2]);
    await send("tanaka", item[2] as string, { 氏名: "田中一郎", 個人番号: NUMBERS.first, 金額: "800" });
    const disputed = await send("sato", item[2] as string, { 氏名: "田中一郎", 個人番号: NUMBERS.second, 金額: "800" });
    expect((await disputed.json()).state).toBe("disputed");

    const path = `/api/v1/task-items/${item[2]}/adjudication`;
    for (const who of ["sato", "tanaka", "otherContractor"] as const)
      expect((await as[who].get(path)).status).toBe(404);
    expect((await as.contractor.get(path)).status).toBe(403);

    const shown = await (await as.lead.get(path)).json();
    expect(shown).toMatchObject({ itemId: item[2], state: "disputed", source: { 氏名: "田中一郎", 金額: "800" } });
    expect(
      shown.entries.map((e: { name: string; values: { 個人番号: string } }) => [e.name, e.values.個人番号]),
    ).toEqual([
      ["tanaka", NUMBERS.first],
      ["sato", NUMBERS.second],
    ]);
    const viewed = (await auditActions()).find(
      (e) => e.action === "task_values.viewed" && e.details.purpose === "adjudication",
    );
    expect(viewed).toMatchObject({ subject: `task_item:${item[2]}`, details: { items: [item[2]], masked: false } });

    expect((await as.contractor.put(path, { values: { 氏名: "田中一郎", 個人番号: NUMBERS.first } })).status).toBe(403);
    const decided = await as.lead.put(path, { values: { 氏名: "田中一郎", 個人番号: NUMBERS.first, 金額: "800" } });
    expect(decided.status).toBe(200);
    expect(await decided.json()).toEqual({
      itemId: item[2],
      state: "adjudicated",
      values: { 氏名: "田中一郎", 個人番号: `********${NUMBERS.first.slice(-4)}`, 金額: "800" },
    });
    expect((await as.lead.get(path)).status).toBe(409);
    const results = (await (await as.lead.get(`/api/v1/task-batches/${batchId}/results`)).json()).items;
    expect(results.map((r: { state: string }) => r.state)).toEqual(["agreed", "adjudicated", "open"]);
    expect(results[1].values.個人番号).toBe(`********${NUMBERS.first.slice(-4)}`);
  });

  it("shows per-person figures to the person and to the lead, not to the contractor", async () => {
    const all = (await (await as.lead.get(`/api/v1/task-batches/${batchId}/stats`)).json()).items;
    expect(
      all.map((s: { name: string; itemsDone: number; agreementRate: number | null }) => [
        s.name,
        s.itemsDone,
        s.agreementRate,
      ]),
    ).toEqual([
      ["sato", 2, 0.5],
      ["suzuki", 1, 1],
      ["tanaka", 1, 1],
    ]);
    expect(all[0].medianSecondsPerItem).toEqual(expect.any(Number));
    const own = (await (await as.sato.get(`/api/v1/task-batches/${batchId}/stats`)).json()).items;
    expect(own.map((s: { name: string }) => s.name)).toEqual(["sato"]);
    expect((await as.contractor.get(`/api/v1/task-batches/${batchId}/stats`)).status).toBe(403);
    expect((await as.kato.get(`/api/v1/task-batches/${batchId}/stats`)).status).toBe(404);
  });

  it("shows the figures on a page to the keyer (own line) and the lead (every line), saying they are for quality only", async () => {
    const path = `/task-stats/${batchId}`;
    const rows = (html: string) => [...html.matchAll(/<tr><td>([^<]+)<\/td>/gu)].map((m) => m[1]);
    const own = await as.sato.get(path);
    expect(own.status).toBe(200);
    const mine = await own.text();
    expect(rows(mine)).toEqual(["sato"]);
    expect(mine).toContain("勤務時間や稼働時間の管理には決して使いません");
    const all = await (await as.lead.get(path)).text();
    expect(rows(all)).toEqual(["sato", "suzuki", "tanaka"]);
    expect(all).toContain("勤務時間や稼働時間の管理には決して使いません");
    for (const client of [as.contractor, as.kato, as.otherContractor]) {
      expect((await client.get(path)).status).toBe(404);
    }
  });

  it("hides keyers, results and figures from another tenant (404)", async () => {
    for (const path of ["keyers", "results", "stats"]) {
      const res = await as.otherContractor.get(`/api/v1/task-batches/${batchId}/${path}`);
      expect(res.status, path).toBe(404);
    }
    const add = await as.otherContractor.post(`/api/v1/task-batches/${batchId}/keyers`, { engineerId: ids.kato });
    expect(add.status).toBe(404);
    // Another tenant's lead sees no figures either, by the API or on the page: 404 and no keyer's name.
    const nagoya = await t.createTenant("名古屋データ入力");
    await t.createUser("lead", "lead@nagoya-data.example", nagoya.id);
    const otherLead = await t.signIn("lead@nagoya-data.example");
    for (const path of [`/api/v1/task-batches/${batchId}/stats`, `/task-stats/${batchId}`]) {
      const res = await otherLead.get(path);
      expect(res.status, path).toBe(404);
      const body = await res.text();
      for (const name of ["sato", "suzuki", "tanaka"]) expect(body, path).not.toContain(name);
    }
  });

  it("exports accepted results as CSV in UTF-8 or Shift_JIS, numbers masked, as a recorded export", async () => {
    const path = `/api/v1/task-batches/${batchId}/results.csv`;
    for (const client of [as.sato, as.otherContractor]) expect((await client.get(path)).status).toBe(404);
    const utf8 = await as.contractor.get(path);
    expect(utf8.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    const bytes = Buffer.from(await utf8.arrayBuffer());
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = bytes.subarray(3).toString("utf8");
    // Item 3 is still open: only accepted items are exported.
    expect(text).toBe(
      `seq,氏名,個人番号,金額\r\n1,山田花子,********${NUMBERS.agreed.slice(-4)},1200\r\n2,田中一郎,********${NUMBERS.first.slice(-4)},800\r\n`,
    );
    const sjis = await as.lead.get(`${path}?encoding=shift_jis`);
    expect(sjis.headers.get("content-type")).toBe("text/csv; charset=Shift_JIS");
    const raw = Buffer.from(await sjis.arrayBuffer());
    expect(raw.subarray(0, 3).toString("latin1")).toBe("seq");
    expect(iconv.decode(raw, "Shift_JIS")).toBe(text);
    expect((await as.contractor.get(`${path}?encoding=latin1`)).status).toBe(400);
    const exported = (await auditActions()).filter((e) => e.action === "task_results.exported");
    expect(exported.map((e) => e.details)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ items: 2, encoding: "utf-8", purpose: "export", masked: true }),
        expect.objectContaining({ items: 2, encoding: "shift_jis" }),
      ]),
    );
  });

  it("exports the same results as an xlsx workbook of text cells, numbers masked, as a recorded export", async () => {
    const path = `/api/v1/task-batches/${batchId}/results.xlsx`;
    for (const client of [as.sato, as.otherContractor]) expect((await client.get(path)).status).toBe(404);
    const res = await as.contractor.get(path);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    const { default: Excel } = await import("exceljs");
    const book = new Excel.Workbook();
    await book.xlsx.load(Buffer.from(await res.arrayBuffer()) as unknown as ArrayBuffer);
    const sheet = book.getWorksheet("結果");
    const rows: unknown[][] = [];
    sheet?.eachRow((row) => rows.push((row.values as unknown[]).slice(1)));
    expect(rows).toEqual([
      ["seq", "氏名", "個人番号", "金額"],
      ["1", "山田花子", `********${NUMBERS.agreed.slice(-4)}`, "1200"],
      ["2", "田中一郎", `********${NUMBERS.first.slice(-4)}`, "800"],
    ]);
    const exported = (await auditActions()).filter((e) => e.action === "task_results.exported");
    expect(exported.map((e) => e.details)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ items: 2, encoding: "xlsx", purpose: "export", masked: true }),
      ]),
    );
  });

  it("keeps no individual number in clear in the database or the logs", async () => {
    const db = t.running.azusa.db.kysely;
    let stored = "";
    if (dialect === "sqlite") {
      const main = await sql<{ file: string }>`select file from pragma_database_list where name = 'main'`.execute(db);
      const file = main.rows[0]?.file as string;
      for (const part of [file, `${file}-wal`, `${file}-journal`]) {
        if (existsSync(part)) stored += readFileSync(part).toString("utf8");
      }
      expect(stored.length).toBeGreaterThan(0);
    } else {
      const tables = await sql<{ table_name: string }>`
        select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'
      `.execute(db);
      expect(tables.rows.map((r) => r.table_name)).toContain("task_entry");
      for (const { table_name } of tables.rows) {
        const rows = await sql<{ row: string }>`select t::text as row from ${sql.table(table_name)} t`.execute(db);
        stored += rows.rows.map((r) => r.row).join("\n");
      }
    }
    // The read is real: the names keyed beside the numbers are there.
    expect(stored).toContain("山田花子");
    for (const n of Object.values(NUMBERS)) {
      expect(stored).not.toContain(n);
      expect(t.logs.join("")).not.toContain(n);
    }
  });

  it("disposes of a batch's values on the contractor's request, keeps the record and takes nothing more", async () => {
    const path = `/api/v1/task-batches/${batchId}/disposal`;
    expect((await as.lead.post(path, {})).status).toBe(403);
    expect((await as.sato.post(path, {})).status).toBe(404);
    expect((await as.otherContractor.post(path, {})).status).toBe(404);
    // the record itself is no more shown to another tenant or a keyer than the disposal is open to them
    for (const client of [as.sato, as.otherContractor]) {
      expect((await client.get(path)).status).toBe(404);
      expect((await client.get(`${path}.csv`)).status).toBe(404);
    }
    expect((await (await as.contractor.get(path)).json()).disposal).toBeNull();

    const res = await as.contractor.post(path, {});
    expect(res.status).toBe(201);
    // Three items; four entries sent; six individual numbers (four entries, two accepted values).
    expect(await res.json()).toMatchObject({
      batchId,
      reason: "request",
      items: 3,
      entries: 4,
      individualNumbers: 6,
      method: expect.stringContaining("deleted"),
      disposedBy: expect.any(String),
    });
    expect((await as.contractor.post(path, {})).status).toBe(409);
    expect((await (await as.lead.get(path)).json()).disposal).toMatchObject({ items: 3, individualNumbers: 6 });
    const csv = await as.contractor.get(`${path}.csv`);
    expect(csv.headers.get("content-type")).toContain("text/csv");
    const bytes = Buffer.from(await csv.arrayBuffer());
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const lines = bytes.subarray(3).toString("utf8").split("\r\n");
    expect(lines[0]).toBe("batch_id,reason,items,entries,individual_numbers,documents,method,disposed_by,disposed_at");
    expect(lines[1]).toMatch(new RegExp(`^${batchId},request,3,4,6,0,`));

    expect((await (await as.contractor.get(`/api/v1/task-batches/${batchId}/results`)).json()).items).toEqual([]);
    expect((await (await take("sato")).json()).item).toBeNull();
    const more = await as.contractor.post(`/api/v1/task-batches/${batchId}/items`, { csv: "氏名\n佐藤\n" });
    expect(more.status).toBe(409);
    const disposed = (await auditActions()).find((e) => e.action === "task_batch.disposed");
    expect(disposed?.details).toMatchObject({ reason: "request", items: 3, entries: 4, individualNumbers: 6 });
    const db = t.running.azusa.db.kysely;
    expect(await db.selectFrom("task_entry").select("id").where("batch_id", "=", batchId).execute()).toEqual([]);
    expect(await db.selectFrom("task_item").select("id").where("batch_id", "=", batchId).execute()).toEqual([]);
  });

  it("disposes of a batch whose retention has ended on the daily schedule, and of no other", async () => {
    const contractId = (await (await as.contractor.get(`/api/v1/task-batches/${batchId}`)).json()).contractId;
    const create = (retentionUntil: string) =>
      as.contractor.post(`/api/v1/contracts/${contractId}/task-batches`, { ...batch, retentionUntil });
    const ended = (await (await create("2026-01-31")).json()).id;
    const kept = (await (await create("2099-12-31")).json()).id;
    for (const id of [ended, kept]) {
      await as.contractor.post(`/api/v1/task-batches/${id}/items`, { csv: "氏名\n佐藤\n" });
    }
    const schedule = t.running.azusa.schedules.find((s) => s.name === "tasks.dispose");
    await schedule?.run();
    expect((await (await as.contractor.get(`/api/v1/task-batches/${ended}/disposal`)).json()).disposal).toMatchObject({
      reason: "retention_end",
      items: 1,
      disposedBy: "system:schedule",
    });
    expect((await (await as.contractor.get(`/api/v1/task-batches/${kept}/disposal`)).json()).disposal).toBeNull();
    expect((await (await as.contractor.get(`/api/v1/task-batches/${kept}`)).json()).itemCount).toBe(1);
  });
});
