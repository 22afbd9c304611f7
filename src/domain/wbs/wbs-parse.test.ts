import ExcelJS from "exceljs";
import iconv from "iconv-lite";
import { describe, expect, it } from "vitest";
import {
  csvText,
  generatedWbs,
  json,
  SAMPLE_CRITICAL_PATH,
  SAMPLE_CRITICAL_PATH_HOURS,
  SAMPLE_IDS,
  SAMPLE_LEAF_IDS,
  SAMPLE_TOTAL_HOURS,
  SAMPLE_WBS_ROWS,
  sampleWbsNested,
  sjisCsv,
  utf8Csv,
  utf16Text,
  xlsx,
  xlsxWorkbook,
  yaml,
} from "../../../test/support/wbs-files.ts";
import {
  parseEstimateHours,
  parseSkills,
  parseWbs,
  type WbsItem,
  type WbsParseResult,
  type WbsProblem,
  wbsFieldForHeader,
  wbsFields,
  wbsHeaderAliases,
} from "./wbs-parse.ts";

/** The items of a result that must have parsed. */
function itemsOf(result: WbsParseResult): WbsItem[] {
  if (!result.ok) throw new Error(`expected the file to parse, got ${JSON.stringify(result.problems, null, 2)}`);
  return result.items;
}

/** The problems of a result that must have failed, as the API reports them in English. */
function problemsOf(result: WbsParseResult): WbsProblem[] {
  if (result.ok) throw new Error("expected problems, but the file parsed");
  return result.problems.map(({ row, field, message }) => ({ row, field, message }));
}

const byId = (items: WbsItem[], id: string) => items.find((i) => i.wbsId === id);
const totalHours = (items: WbsItem[]) => items.reduce((sum, i) => sum + (i.estimateHours ?? 0), 0);

const HEADER = ["WBS番号", "作業名", "必要スキル", "見積工数", "先行作業"];

describe("parseWbs: CSV", () => {
  it("reads a Shift_JIS CSV saved by Excel with Japanese headers", async () => {
    const result = await parseWbs({ bytes: sjisCsv(SAMPLE_WBS_ROWS), filename: "販売管理WBS.csv" });
    const items = itemsOf(result);
    expect(result).toMatchObject({ ok: true, format: "csv", ignoredColumns: ["備考"] });
    expect(items.map((i) => i.wbsId)).toEqual(SAMPLE_IDS);
    expect(totalHours(items)).toBe(SAMPLE_TOTAL_HOURS);
    expect(byId(items, "1")).toEqual({
      wbsId: "1",
      title: "上流工程",
      parentId: null,
      skills: [],
      estimateHours: null,
      dependsOn: [],
      acceptanceCriteria: "",
      template: null,
      row: 2,
    });
    expect(byId(items, "2.1")).toEqual({
      wbsId: "2.1",
      title: "受注管理機能",
      parentId: "2",
      skills: [
        { skill: "java", level: 3 },
        { skill: "spring", level: 3 },
      ],
      estimateHours: 80,
      dependsOn: ["1.2.1", "1.2.2"],
      acceptanceCriteria: "単体テスト網羅率80%以上",
      template: null,
      row: 10,
    });
  });

  it("reads the sample WBS with the schedule documented beside it", async () => {
    const items = itemsOf(await parseWbs({ bytes: sjisCsv(SAMPLE_WBS_ROWS) }));
    const leaves = items.filter((i) => i.estimateHours !== null);
    expect(leaves.map((i) => i.wbsId)).toEqual(SAMPLE_LEAF_IDS);
    // Longest path by hours: items come in dependency order, so one pass suffices.
    const finish = new Map<string, { hours: number; path: string[] }>();
    for (const leaf of leaves) {
      const before = leaf.dependsOn
        .map((id) => finish.get(id))
        .reduce((a, b) => ((b?.hours ?? 0) > (a?.hours ?? 0) ? b : a), undefined);
      finish.set(leaf.wbsId, {
        hours: (before?.hours ?? 0) + (leaf.estimateHours ?? 0),
        path: [...(before?.path ?? []), leaf.wbsId],
      });
    }
    const longest = [...finish.values()].reduce((a, b) => (b.hours > a.hours ? b : a));
    expect(longest).toEqual({ hours: SAMPLE_CRITICAL_PATH_HOURS, path: SAMPLE_CRITICAL_PATH });
  });

  it("reads CP932-only characters such as ① and 髙", async () => {
    const rows = [
      ["番号", "件名"],
      ["1", "①髙島屋向け帳票"],
    ];
    const items = itemsOf(await parseWbs({ bytes: sjisCsv(rows) }));
    expect(items[0]?.title).toBe("①髙島屋向け帳票"); // a title is kept as written
  });

  it("keeps titles and acceptance criteria as written, folding only ids, numbers, units and headers", async () => {
    const rows = [
      ["作業番号", "作業名称", "見積工数（人時）", "先行WBS", "受入れ基準"],
      ["１．１", "　①帳票㈱対応ﾃｽﾄ～　", "１６人時", "", "「帳票（請求書）」が　ＰＤＦ で出力される"],
      ["１．２", "ＡＢＣ画面", "８", "１．１", ""],
    ];
    const items = itemsOf(await parseWbs({ bytes: utf8Csv(rows) }));
    expect(items[0]).toMatchObject({
      wbsId: "1.1",
      title: "①帳票㈱対応ﾃｽﾄ～",
      estimateHours: 16,
      acceptanceCriteria: "「帳票（請求書）」が　ＰＤＦ で出力される",
    });
    expect(items[1]).toMatchObject({ wbsId: "1.2", title: "ＡＢＣ画面", dependsOn: ["1.1"] });
  });

  it("reads UTF-8 CSV with a BOM (Excel's CSV UTF-8)", async () => {
    const items = itemsOf(await parseWbs({ bytes: utf8Csv(SAMPLE_WBS_ROWS), contentType: "text/csv" }));
    expect(items.map((i) => i.wbsId)).toEqual(SAMPLE_IDS);
  });

  it("reads UTF-8 CSV without a BOM", async () => {
    const items = itemsOf(await parseWbs({ bytes: utf8Csv(SAMPLE_WBS_ROWS, { bom: false }) }));
    expect(items.map((i) => i.wbsId)).toEqual(SAMPLE_IDS);
    expect(byId(items, "1.2.1")?.skills).toEqual([
      { skill: "oracle", level: 4 },
      { skill: "sql", level: 4 },
    ]);
  });

  it("reads tab-delimited text, even when values contain commas", async () => {
    const rows = [
      ["id", "title", "skills", "depends on"],
      ["A", "Design, part 1", "java:3, sql:2", ""],
      ["B", "Build", "java:4", "A"],
    ];
    const items = itemsOf(
      await parseWbs({ bytes: utf8Csv(rows, { bom: false, delimiter: "\t" }), filename: "wbs.tsv" }),
    );
    expect(items.map((i) => [i.wbsId, i.title, i.dependsOn])).toEqual([
      ["A", "Design, part 1", []],
      ["B", "Build", ["A"]],
    ]);
    expect(items[0]?.skills).toEqual([
      { skill: "java", level: 3 },
      { skill: "sql", level: 2 },
    ]);
  });

  it("reads semicolon-delimited CSV", async () => {
    const text = "id;title;hours\n1;Design;8\n";
    const items = itemsOf(await parseWbs({ bytes: Buffer.from(text), filename: "wbs.csv" }));
    expect(items).toMatchObject([{ wbsId: "1", title: "Design", estimateHours: 8 }]);
  });

  it("decodes Excel's Unicode text (UTF-16LE with a BOM, tab-delimited)", async () => {
    const items = itemsOf(await parseWbs({ bytes: utf16Text(SAMPLE_WBS_ROWS), filename: "wbs.txt" }));
    expect(items.map((i) => i.wbsId)).toEqual(SAMPLE_IDS);
  });

  it("counts real lines for rows: blank lines and multi-line cells shift the row numbers", async () => {
    const text = csvText([
      ["id", "title", "acceptance criteria", "estimate"],
      ["1", "Design", "line one\nline two\nline three", "8"],
    ]);
    const bytes = Buffer.from(`${text}\r\n\r\n2,Build,,abc\r\n`);
    const problems = problemsOf(await parseWbs({ bytes, filename: "wbs.csv" }));
    // header 1, item 1 on lines 2-4, two blank lines (5, 6), item 2 on line 7
    expect(problems).toEqual([{ row: 7, field: "estimate", message: 'estimate "abc" is not a number of hours' }]);
  });

  it("keeps multi-line acceptance criteria with their line breaks", async () => {
    const bytes = sjisCsv([
      ["番号", "作業名", "完了条件"],
      ["1", "設計", "設計書レビュー済み\n指摘事項0件"],
      ["2", "実装", ""],
    ]);
    const items = itemsOf(await parseWbs({ bytes }));
    expect(items.map((i) => [i.acceptanceCriteria, i.row])).toEqual([
      ["設計書レビュー済み\n指摘事項0件", 2],
      ["", 4],
    ]);
  });

  it("skips rows of empty cells that Excel leaves at the end", async () => {
    const items = itemsOf(await parseWbs({ bytes: Buffer.from("id,title,hours\r\n1,A,2\r\n,,\r\n,,\r\n") }));
    expect(items).toHaveLength(1);
  });

  it("skips a title row above the real header", async () => {
    const rows = [
      ["販売管理システム刷新 WBS", "", ""],
      ["", "", ""],
      ["WBS番号", "作業名", "工数"],
      ["1", "設計", "8"],
    ];
    const items = itemsOf(await parseWbs({ bytes: sjisCsv(rows) }));
    expect(items).toMatchObject([{ wbsId: "1", title: "設計", estimateHours: 8, row: 4 }]);
  });

  it("matches headers with full-width letters, spaces, underscores and case", async () => {
    const rows = [
      ["ＷＢＳ＿ＩＤ", " Task Name ", "Estimate-Hours", "Depends On", "Parent ID", "テンプレート"],
      ["1", "Group", "", "", "", ""],
      ["1.1", "Leaf", "4", "", "1", "java-17"],
    ];
    const result = await parseWbs({ bytes: utf8Csv(rows) });
    expect(itemsOf(result)[1]).toMatchObject({ wbsId: "1.1", parentId: "1", estimateHours: 4, template: "java-17" });
  });

  it("returns unknown columns, spelled as written, in ignoredColumns", async () => {
    const rows = [
      ["No", "件名", "担当者", "備考"],
      ["1", "設計", "山田", ""],
    ];
    const result = await parseWbs({ bytes: sjisCsv(rows) });
    expect(result).toMatchObject({ ok: true, ignoredColumns: ["担当者", "備考"] });
  });

  it("parses 5,000 generated rows", async () => {
    const items = itemsOf(await parseWbs({ bytes: utf8Csv(generatedWbs(5000)), filename: "big.csv" }));
    expect(items).toHaveLength(5000);
    expect(items.at(-1)?.row).toBe(5001);
  });
});

describe("parseWbs: values", () => {
  const parseRows = (rows: string[][]) => parseWbs({ bytes: utf8Csv([HEADER, ...rows]) });

  it("reads full-width digits and colons", async () => {
    const items = itemsOf(await parseRows([["１．１", "設計", "Ｊａｖａ：４", "４０", ""]]));
    expect(items[0]).toMatchObject({ wbsId: "1.1", skills: [{ skill: "java", level: 4 }], estimateHours: 40 });
  });

  it("reads estimates with units: h, 時間, 人時, 人日 (8 hours a day), thousands separators", async () => {
    const estimates = ["12h", "12 H", "7.5時間", "16人時", "5人日", "0.5人日", "1,200", ""];
    const items = itemsOf(await parseRows(estimates.map((e, i) => [`${i + 1}`, "作業", "", e, ""])));
    expect(items.map((i) => i.estimateHours)).toEqual([12, 12, 7.5, 16, 40, 4, 1200, null]);
  });

  it("reads skills separated by ; , 、 / and line breaks, with : or =", async () => {
    const cell = "Java:4、Oracle=3 / SQL:2\nPL/SQL:3, 業務分析:Lv5; java:2";
    const items = itemsOf(await parseRows([["1", "作業", cell, "", ""]]));
    expect(items[0]?.skills).toEqual([
      { skill: "java", level: 4 }, // the duplicate java:2 keeps the higher level
      { skill: "oracle", level: 3 },
      { skill: "sql", level: 2 },
      { skill: "pl/sql", level: 3 },
      { skill: "業務分析", level: 5 },
    ]);
  });

  it("reads dependencies separated by ; , 、 spaces and line breaks", async () => {
    const ids = ["1", "2", "3", "4", "5"].map((id) => [id, "作業", "", "", ""]);
    const items = itemsOf(await parseRows([...ids, ["6", "作業", "", "", "1;2、3 4\n5, 1"]]));
    expect(items.at(-1)?.dependsOn).toEqual(["1", "2", "3", "4", "5"]);
  });

  it("reports hours that are not a positive number, with the header as written", async () => {
    const bad = ["abc", "-4", "0", "十時間", "20000"];
    const problems = problemsOf(await parseRows(bad.map((e, i) => [`${i + 1}`, "作業", "", e, ""])));
    expect(problems).toEqual([
      { row: 2, field: "estimate", message: '見積工数 "abc" is not a number of hours' },
      { row: 3, field: "estimate", message: '見積工数 "-4" must be more than 0 hours' },
      { row: 4, field: "estimate", message: '見積工数 "0" must be more than 0 hours' },
      { row: 5, field: "estimate", message: '見積工数 "十時間" is not a number of hours' },
      { row: 6, field: "estimate", message: '見積工数 "20000" is more than 10000 hours; split the item' },
    ]);
  });

  it("reports a skill level outside ITSS 1..7 and a skill without a level", async () => {
    const problems = problemsOf(
      await parseRows([
        ["1", "作業", "java:8", "", ""],
        ["2", "作業", "java", "", ""],
      ]),
    );
    expect(problems).toEqual([
      { row: 2, field: "skills", message: '必要スキル "java:8" has level "8"; ITSS levels are 1 to 7' },
      { row: 3, field: "skills", message: '必要スキル "java" has no level; write it as java:3 (ITSS level 1 to 7)' },
    ]);
  });

  it("reports a missing title on its row", async () => {
    const problems = problemsOf(await parseRows([["1", "", "", "8", ""]]));
    expect(problems).toEqual([{ row: 2, field: "title", message: "作業名 is empty" }]);
  });

  it("reports a duplicate id on the later row, naming the earlier one", async () => {
    const problems = problemsOf(
      await parseRows([
        ["1.1", "設計", "", "", ""],
        ["1.2", "実装", "", "", ""],
        ["1.1", "試験", "", "", ""],
      ]),
    );
    expect(problems).toEqual([{ row: 4, field: "id", message: 'WBS番号 "1.1" is already used on row 2' }]);
  });

  it("reports dependencies and parents that name no item, and parent loops", async () => {
    const rows = [
      ["id", "title", "parent", "depends on"],
      ["1", "A", "2", ""],
      ["2", "B", "1", "9"],
      ["3", "C", "3", "3"],
    ];
    const problems = problemsOf(await parseWbs({ bytes: utf8Csv(rows) }));
    expect(problems).toEqual([
      { row: 2, field: "parent", message: "parent makes a loop: 1 → 2 → 1" },
      { row: 3, field: "dependsOn", message: 'depends on "9" is not an id in this file' },
      { row: 4, field: "parent", message: "parent: an item cannot be its own parent" },
      { row: 4, field: "dependsOn", message: "depends on: an item cannot depend on itself" },
    ]);
  });

  it("reports a row with more cells than the header", async () => {
    const problems = problemsOf(await parseWbs({ bytes: Buffer.from("id,title\n1,Design, part 1\n") }));
    expect(problems).toEqual([
      {
        row: 2,
        field: null,
        message: 'this row has 3 cells but the header has 2; a value containing the delimiter needs "quotes"',
      },
    ]);
  });

  it("reports a quote that is never closed on the row where it opens", async () => {
    const problems = problemsOf(await parseWbs({ bytes: Buffer.from('id,title\r\n1,A\r\n2,"B\r\n3,C\r\n') }));
    expect(problems).toEqual([{ row: 3, field: null, message: expect.stringContaining("never closed") }]);
  });

  it("collects every problem, capped at 100 with a count of the rest", async () => {
    const rows = Array.from({ length: 150 }, (_, i) => [`${i + 1}`, "作業", "", "abc", ""]);
    const problems = problemsOf(await parseRows(rows));
    expect(problems).toHaveLength(101);
    expect(problems[99]).toMatchObject({ row: 101, field: "estimate" });
    expect(problems[100]).toEqual({ row: null, field: null, message: "… and 50 more problems" });
  });
});

describe("parseWbs: headers", () => {
  it("reports a missing id column, listing the headers found", async () => {
    const rows = [
      ["作業", "作業名", "工数"],
      ["1", "設計", "8"],
    ];
    const problems = problemsOf(await parseWbs({ bytes: sjisCsv(rows) }));
    expect(problems).toEqual([
      {
        row: 1,
        field: "id",
        message:
          'no id column (such as "id", "WBS番号", "作業番号" or "番号"); the header row has: "作業", "作業名", "工数"',
      },
    ]);
  });

  it("reports two columns that mean the same field", async () => {
    const rows = [
      ["番号", "作業名", "工数", "見積工数"],
      ["1", "設計", "8", "8"],
    ];
    const problems = problemsOf(await parseWbs({ bytes: sjisCsv(rows) }));
    expect(problems).toEqual([
      { row: 1, field: "estimate", message: 'columns "工数" and "見積工数" both mean estimate; keep one' },
    ]);
  });

  it("maps every alias the brief promises to its field, and no alias to two fields", () => {
    const promised: Record<string, string[]> = {
      id: ["id", "wbs", "wbs id", "wbs_id", "wbs番号", "番号", "no", "コード"],
      title: ["title", "name", "task", "作業名", "タスク名", "件名", "作業項目"],
      parent: ["parent", "parent id", "親", "親id", "親wbs", "親番号"],
      skills: ["skills", "skill", "必要スキル", "スキル"],
      estimate: ["estimate", "estimate hours", "hours", "見積工数", "工数", "見積時間", "見積(h)", "見積工数(h)"],
      dependsOn: ["depends on", "dependencies", "depends", "依存", "先行作業", "前提作業", "依存関係", "先行"],
      acceptanceCriteria: ["acceptance criteria", "acceptance", "受入基準", "完了条件", "検収条件", "受入条件"],
      template: ["template", "テンプレート"],
    };
    for (const [field, aliases] of Object.entries(promised)) {
      for (const alias of aliases) expect([alias, wbsFieldForHeader(alias)]).toEqual([alias, field]);
    }
    for (const field of wbsFields) {
      for (const alias of wbsHeaderAliases[field]) expect([alias, wbsFieldForHeader(alias)]).toEqual([alias, field]);
    }
  });
});

describe("parseWbs: xlsx", () => {
  it("reads a workbook with a formula estimate, numeric ids and rich text", async () => {
    const bytes = await xlsx([
      ["WBS番号", "作業名", "親WBS", "見積工数", "先行作業", "受入基準"],
      [1, "設計", null, null, null, null],
      // Typed into a General cell, 1.1 is stored as the number 1.1 (and "1.10" would be stored as
      // 1.1 too: nothing in the file keeps the trailing zero, so ids belong in text columns).
      [
        1.1,
        "画面設計",
        1,
        { formula: "5*8", result: 40 },
        null,
        { richText: [{ text: "レビュー" }, { text: "済み" }] },
      ],
      [1.2, { text: "DB設計", hyperlink: "https://example.com/db" }, 1, 16, 1.1, null],
    ]);
    const result = await parseWbs({ bytes, filename: "wbs.xlsx" });
    expect(result).toMatchObject({ ok: true, format: "xlsx" });
    expect(itemsOf(result)).toMatchObject([
      { wbsId: "1", parentId: null, estimateHours: null, row: 2 },
      { wbsId: "1.1", parentId: "1", estimateHours: 40, acceptanceCriteria: "レビュー済み", row: 3 },
      { wbsId: "1.2", title: "DB設計", parentId: "1", estimateHours: 16, dependsOn: ["1.1"], row: 4 },
    ]);
  });

  it("reads the sheet named WBS in any case, else the first sheet", async () => {
    const rows = [
      ["id", "title"],
      ["X", "from the WBS sheet"],
    ];
    const named = await xlsxWorkbook([
      { name: "表紙", rows: [["販売管理システム刷新"]] },
      { name: "wbs", rows },
    ]);
    expect(itemsOf(await parseWbs({ bytes: named }))[0]?.title).toBe("from the WBS sheet");
    const first = await xlsxWorkbook([
      { name: "作業一覧", rows },
      { name: "メモ", rows: [["memo"]] },
    ]);
    expect(itemsOf(await parseWbs({ bytes: first }))[0]?.title).toBe("from the WBS sheet");
  });

  it("reads the sample WBS from xlsx with its real row numbers", async () => {
    const items = itemsOf(await parseWbs({ bytes: await xlsx(SAMPLE_WBS_ROWS) }));
    expect(items.map((i) => i.wbsId)).toEqual(SAMPLE_IDS);
    expect(totalHours(items)).toBe(SAMPLE_TOTAL_HOURS);
    expect(items.at(-1)?.row).toBe(15);
  });

  it("reads a title merged across columns only once", async () => {
    const workbook = new ExcelJS.Workbook();
    const sheet = workbook.addWorksheet("WBS");
    sheet.addRows([
      ["番号", "作業名", "必要スキル", "見積工数"],
      ["1", "上流工程", null, null],
      ["1.1", "要件定義", "業務分析:4", 40],
    ]);
    sheet.mergeCells("B2:D2");
    const bytes = Buffer.from(await workbook.xlsx.writeBuffer());
    expect(itemsOf(await parseWbs({ bytes }))).toMatchObject([
      { wbsId: "1", title: "上流工程", skills: [], estimateHours: null },
      { wbsId: "1.1", title: "要件定義", skills: [{ skill: "業務分析", level: 4 }], estimateHours: 40 },
    ]);
  });

  it("reports an id that Excel turned into a date", async () => {
    const bytes = await xlsx([
      ["番号", "作業名"],
      [new Date(Date.UTC(2025, 0, 2)), "設計"],
    ]);
    expect(problemsOf(await parseWbs({ bytes }))).toEqual([
      {
        row: 2,
        field: "id",
        message: "Excel turned 番号 into the date 2025-01-02; format the column as text and retype it",
      },
    ]);
  });

  it("reports a formula error cell", async () => {
    const bytes = await xlsx([
      ["id", "title", "estimate"],
      ["1", "Design", { formula: "A1/0", result: { error: "#DIV/0!" } }],
    ]);
    expect(problemsOf(await parseWbs({ bytes }))).toEqual([
      { row: 2, field: "estimate", message: "estimate: the cell shows the error #DIV/0!" },
    ]);
  });

  it("trusts the zip signature over a .csv name", async () => {
    const result = await parseWbs({ bytes: await xlsx(SAMPLE_WBS_ROWS), filename: "wbs.csv", contentType: "text/csv" });
    expect(result).toMatchObject({ ok: true, format: "xlsx" });
  });

  it("reports a corrupt workbook", async () => {
    const good = await xlsx(SAMPLE_WBS_ROWS);
    const corrupt = Buffer.concat([good.subarray(0, 200), Buffer.alloc(200, 0x41)]);
    expect(problemsOf(await parseWbs({ bytes: corrupt, filename: "wbs.xlsx" }))).toEqual([
      {
        row: null,
        field: null,
        message: "could not read the spreadsheet; open it in Excel and save it again as .xlsx",
      },
    ]);
  });

  it("asks for .xlsx when given an old .xls", async () => {
    const ole2 = Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1, 0, 0, 0, 0]);
    for (const bytes of [ole2, Buffer.from("id,title\n1,A\n")]) {
      const problems = problemsOf(await parseWbs({ bytes, filename: "WBS.XLS" }));
      expect(problems).toEqual([{ row: null, field: null, message: expect.stringContaining("save it as .xlsx") }]);
    }
  });
});

describe("parseWbs: JSON and YAML", () => {
  it("reads flat JSON items with parent keys and mixed value forms", async () => {
    const bytes = json([
      { id: 1, title: "設計" },
      { wbs: "1.1", 作業名: "画面設計", parent: 1, skills: ["java:4", "SQL:2"], estimate: "5人日", dependsOn: [] },
      { id: "1.2", title: "DB設計", parent: "1", skills: [{ skill: "Oracle", level: 4 }], hours: 24, depends: "1.1" },
      { id: "1.3", title: "API設計", parent: "1", skills: { java: 3, spring: "4" }, memo: "x" },
    ]);
    const result = await parseWbs({ bytes, contentType: "application/json; charset=utf-8" });
    expect(result).toMatchObject({ ok: true, format: "json", ignoredColumns: ["memo"] });
    expect(itemsOf(result)).toEqual([
      expect.objectContaining({ wbsId: "1", parentId: null, row: 1 }),
      expect.objectContaining({
        wbsId: "1.1",
        title: "画面設計",
        parentId: "1",
        skills: [
          { skill: "java", level: 4 },
          { skill: "sql", level: 2 },
        ],
        estimateHours: 40,
        row: 2,
      }),
      expect.objectContaining({
        wbsId: "1.2",
        skills: [{ skill: "oracle", level: 4 }],
        estimateHours: 24,
        dependsOn: ["1.1"],
      }),
      expect.objectContaining({
        wbsId: "1.3",
        skills: [
          { skill: "java", level: 3 },
          { skill: "spring", level: 4 },
        ],
      }),
    ]);
  });

  it("reads nested JSON under items, numbering items depth-first", async () => {
    const items = itemsOf(await parseWbs({ bytes: json(sampleWbsNested()) }));
    expect(items.map((i) => i.wbsId)).toEqual(SAMPLE_IDS);
    expect(items.map((i) => i.row)).toEqual(SAMPLE_IDS.map((_, i) => i + 1));
    expect(byId(items, "1.2.1")).toMatchObject({ parentId: "1.2", dependsOn: ["1.1.2"], row: 6 });
    expect(totalHours(items)).toBe(SAMPLE_TOTAL_HOURS);
  });

  it("reports an explicit parent that disagrees with the nesting", async () => {
    const bytes = json({ wbs: [{ id: "1", title: "A", children: [{ id: "1.1", title: "B", parent: "2" }] }] });
    expect(problemsOf(await parseWbs({ bytes }))).toEqual([
      { row: 2, field: "parent", message: 'parent "2" disagrees with the enclosing item "1"' },
    ]);
  });

  it("reports duplicate ids in JSON by item number", async () => {
    const bytes = json([
      { id: "1", title: "A" },
      { id: "1", title: "B" },
    ]);
    expect(problemsOf(await parseWbs({ bytes }))).toEqual([
      { row: 2, field: "id", message: 'id "1" is already used on item 1' },
    ]);
  });

  it("reads nested YAML with Japanese keys, keeping ids such as 1.10 as written", async () => {
    const bytes = yaml(`
items:
  - 番号: 1
    作業名: 開発
    子:
      - 番号: 1.9
        作業名: 受注画面
        スキル: "java: 4; spring: 3"
        工数: ３２時間
      - 番号: 1.10
        作業名: 在庫画面
        スキル:
          - skill: Java
            level: 3
        工数: 2人日
        依存: [1.9]
        受入基準: |
          単体テスト合格
          レビュー済み
`);
    const result = await parseWbs({ bytes, filename: "wbs.yml" });
    expect(result).toMatchObject({ ok: true, format: "yaml" });
    expect(itemsOf(result)).toEqual([
      expect.objectContaining({ wbsId: "1", parentId: null, row: 1 }),
      expect.objectContaining({ wbsId: "1.9", parentId: "1", estimateHours: 32, row: 2 }),
      expect.objectContaining({
        wbsId: "1.10",
        parentId: "1",
        skills: [{ skill: "java", level: 3 }],
        estimateHours: 16,
        dependsOn: ["1.9"],
        acceptanceCriteria: "単体テスト合格\nレビュー済み",
        row: 3,
      }),
    ]);
  });

  it("reports invalid JSON with its line", async () => {
    const bytes = Buffer.from('[\n  {"id": "1", "title": "A"},\n  {"id": "2", "title": "B",}\n]\n');
    const problems = problemsOf(await parseWbs({ bytes, filename: "wbs.json" }));
    expect(problems).toEqual([
      { row: null, field: null, message: expect.stringMatching(/^invalid JSON at line 3, column \d+: /) },
    ]);
  });

  it("reports invalid YAML with its line", async () => {
    const bytes = yaml("items:\n  - id: 1\n    title: [A\n  - id: 2\n");
    const problems = problemsOf(await parseWbs({ bytes, filename: "wbs.yaml" }));
    expect(problems).toEqual([
      { row: null, field: null, message: expect.stringMatching(/^invalid YAML at line \d+, column \d+: /) },
    ]);
  });

  it("reports JSON items without a title key, listing the keys found", async () => {
    const problems = problemsOf(await parseWbs({ bytes: json([{ id: "1", label: "設計" }]) }));
    expect(problems).toEqual([
      {
        row: null,
        field: "title",
        message: 'no item has a title key (such as "title", "作業名" or "タスク名"); the keys found are: "id", "label"',
      },
    ]);
  });

  it("reports JSON that is not a list of items", async () => {
    const problems = problemsOf(await parseWbs({ bytes: json({ project: "x" }) }));
    expect(problems).toEqual([
      { row: null, field: null, message: 'expected a list of WBS items, or an object with an "items" list' },
    ]);
  });
});

describe("parseWbs: unreadable files", () => {
  it("reports an empty file", async () => {
    for (const bytes of [new Uint8Array(0), Buffer.from("\uFEFF \r\n\t\n")]) {
      expect(problemsOf(await parseWbs({ bytes, filename: "wbs.csv" }))).toEqual([
        { row: null, field: null, message: "the file is empty" },
      ]);
    }
  });

  it("reports a header without rows", async () => {
    expect(problemsOf(await parseWbs({ bytes: sjisCsv([HEADER]) }))).toEqual([
      { row: null, field: null, message: "no WBS rows after the header" },
    ]);
  });

  it("reports bytes that are neither UTF-8 nor Shift_JIS", async () => {
    const binary = Buffer.from([
      0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0xff, 0xfe, 0x80,
    ]);
    const eucJp = iconv.encode("番号,作業名\r\n1,設計\r\n", "EUC-JP");
    for (const bytes of [binary, eucJp]) {
      expect(problemsOf(await parseWbs({ bytes, filename: "wbs.csv" }))).toEqual([
        { row: null, field: null, message: "the file is neither UTF-8 nor Shift_JIS (CP932); save it as UTF-8 CSV" },
      ]);
    }
  });

  it("reports UTF-16 without a BOM as an unknown encoding", async () => {
    const bytes = Buffer.from(
      csvText([
        ["id", "title"],
        ["1", "A"],
      ]),
      "utf16le",
    );
    expect(problemsOf(await parseWbs({ bytes }))).toEqual([
      { row: null, field: null, message: "the file is neither UTF-8 nor Shift_JIS (CP932); save it as UTF-8 CSV" },
    ]);
  });
});

describe("parseSkills and parseEstimateHours", () => {
  it("accept each written form", () => {
    expect(parseSkills("Java:4; Oracle:3").skills).toEqual([
      { skill: "java", level: 4 },
      { skill: "oracle", level: 3 },
    ]);
    expect(parseSkills({ java: 4 }).skills).toEqual([{ skill: "java", level: 4 }]);
    expect(parseSkills([{ skill: "AWS", level: "2" }]).skills).toEqual([{ skill: "aws", level: 2 }]);
    expect(parseEstimateHours("３人日")).toEqual({ hours: 24 });
    expect(parseEstimateHours(" ")).toEqual({ hours: null });
  });
});
