// WBS files written the way users produce them (Excel's CSV flavours, xlsx, JSON, YAML), and a
// sample WBS whose schedule is known, for parser unit tests and HTTP tests alike.
import ExcelJS from "exceljs";
import iconv from "iconv-lite";

/** Joins rows into CSV text the way Excel does: CRLF after every row, quotes only when needed. */
export function csvText(rows: readonly (readonly string[])[], { delimiter = ",", eol = "\r\n" } = {}): string {
  const quote = (field: string) =>
    field.includes(delimiter) || /["\r\n]/.test(field) ? `"${field.replaceAll('"', '""')}"` : field;
  return rows.map((row) => `${row.map(quote).join(delimiter)}${eol}`).join("");
}

/** Excel's 「CSV (コンマ区切り)」: Shift_JIS (CP932), CRLF, no BOM. */
export function sjisCsv(rows: readonly (readonly string[])[]): Buffer {
  return iconv.encode(csvText(rows), "CP932");
}

/** Excel's 「CSV UTF-8 (コンマ区切り)」 writes a BOM; other tools do not. Pass "\t" for TSV. */
export function utf8Csv(rows: readonly (readonly string[])[], { bom = true, delimiter = "," } = {}): Buffer {
  return Buffer.from(`${bom ? "\uFEFF" : ""}${csvText(rows, { delimiter })}`, "utf8");
}

/** Excel's 「Unicode テキスト」: UTF-16LE with a BOM, tab-delimited. */
export function utf16Text(rows: readonly (readonly string[])[]): Buffer {
  return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(csvText(rows, { delimiter: "\t" }), "utf16le")]);
}

/** A cell for `xlsx`: plain values, or any ExcelJS value such as `{ formula: "B2*8", result: 40 }`. */
export type XlsxCell = string | number | null | ExcelJS.CellValue;

/** A workbook with the given sheets, in order, as ExcelJS writes it. */
export async function xlsxWorkbook(sheets: readonly { name: string; rows: readonly (readonly XlsxCell[])[] }[]) {
  const workbook = new ExcelJS.Workbook();
  for (const { name, rows } of sheets) {
    const sheet = workbook.addWorksheet(name);
    rows.forEach((cells, r) => {
      cells.forEach((value, c) => {
        if (value !== null && value !== undefined) sheet.getCell(r + 1, c + 1).value = value;
      });
    });
  }
  return Buffer.from(await workbook.xlsx.writeBuffer());
}

/** A one-sheet .xlsx workbook. */
export function xlsx(rows: readonly (readonly XlsxCell[])[], sheetName = "WBS"): Promise<Buffer> {
  return xlsxWorkbook([{ name: sheetName, rows }]);
}

/** A JSON file, pretty-printed as people write them by hand. */
export function json(value: unknown): Buffer {
  return Buffer.from(`${JSON.stringify(value, null, 2)}\n`, "utf8");
}

/** A YAML file from its text. */
export function yaml(text: string): Buffer {
  return Buffer.from(text, "utf8");
}

// ---------------------------------------------------------------------------------------------
// The sample: 販売管理システム刷新 (renewal of a sales management system).
//
//   1     上流工程                      grouping
//   1.1   要件定義                      grouping
//   1.1.1 現行業務ヒアリング      40 h
//   1.1.2 要件定義書作成          32 h  after 1.1.1
//   1.2   基本設計                      grouping
//   1.2.1 DB設計                  40 h  after 1.1.2
//   1.2.2 API設計                 24 h  after 1.1.2
//   2     開発                          grouping
//   2.1   受注管理機能            80 h  after 1.2.1, 1.2.2
//   2.2   在庫引当機能            64 h  after 1.2.1
//   2.3   帳票出力                40 h  after 1.2.2
//   3     テスト・移行                  grouping
//   3.1   結合テスト              48 h  after 2.1, 2.2, 2.3
//   3.2   移行リハーサル          16 h  after 2.2
//
// Earliest finishes: 1.1.1 40, 1.1.2 72, 1.2.1 112, 1.2.2 96, 2.1 192, 2.2 176, 2.3 136, 3.1 240,
// 3.2 192. The critical path is 1.1.1 → 1.1.2 → 1.2.1 → 2.1 → 3.1 (240 h, unique: the next
// longest, through 2.2, is 224 h); all nine leaves add up to 384 h.

/** Header of the sample, in the Japanese a prime contractor's spreadsheet uses. */
export const SAMPLE_HEADER = [
  "WBS番号",
  "作業名",
  "親WBS",
  "必要スキル",
  "見積工数",
  "先行作業",
  "受入基準",
  "備考",
] as const;

/** The sample WBS: header and 14 rows (5 groupings, 9 leaves). */
export const SAMPLE_WBS_ROWS: readonly (readonly string[])[] = [
  SAMPLE_HEADER,
  ["1", "上流工程", "", "", "", "", "", ""],
  ["1.1", "要件定義", "1", "", "", "", "", ""],
  ["1.1.1", "現行業務ヒアリング", "1.1", "業務分析:4; SQL:2", "40", "", "現行業務フロー図がレビュー済みであること", ""],
  ["1.1.2", "要件定義書作成", "1.1", "業務分析:4", "32", "1.1.1", "要件定義書が顧客承認済みであること", ""],
  ["1.2", "基本設計", "1", "", "", "", "", ""],
  ["1.2.1", "DB設計", "1.2", "Oracle:4; SQL:4", "40", "1.1.2", "ER図とテーブル定義書", "旧DBからの移行を考慮"],
  ["1.2.2", "API設計", "1.2", "Java:4; Spring:3", "24", "1.1.2", "OpenAPI定義がレビュー済み", ""],
  ["2", "開発", "", "", "", "", "", ""],
  ["2.1", "受注管理機能", "2", "Java:3; Spring:3", "80", "1.2.1, 1.2.2", "単体テスト網羅率80%以上", ""],
  ["2.2", "在庫引当機能", "2", "Java:4; Oracle:3", "64", "1.2.1", "引当ロジックの単体テスト合格", ""],
  ["2.3", "帳票出力", "2", "Java:3", "40", "1.2.2", "帳票サンプルが顧客確認済み", ""],
  ["3", "テスト・移行", "", "", "", "", "", ""],
  ["3.1", "結合テスト", "3", "テスト設計:3", "48", "2.1, 2.2, 2.3", "結合テスト報告書", ""],
  ["3.2", "移行リハーサル", "3", "Oracle:3", "16", "2.2", "移行手順書どおりに完了", ""],
];

/** Every sample id, in file order. */
export const SAMPLE_IDS = SAMPLE_WBS_ROWS.slice(1).map((row) => row[0] ?? "");

/** The sample's leaves (items with an estimate), in file order. */
export const SAMPLE_LEAF_IDS = ["1.1.1", "1.1.2", "1.2.1", "1.2.2", "2.1", "2.2", "2.3", "3.1", "3.2"];

/** The longest chain of dependencies by hours. */
export const SAMPLE_CRITICAL_PATH = ["1.1.1", "1.1.2", "1.2.1", "2.1", "3.1"];

/** Hours along SAMPLE_CRITICAL_PATH. */
export const SAMPLE_CRITICAL_PATH_HOURS = 240;

/** Hours of all leaves together. */
export const SAMPLE_TOTAL_HOURS = 384;

/** The sample as nested JSON with English keys, as an API client would send it. */
export function sampleWbsNested(): { items: unknown[] } {
  type Node = Record<string, unknown> & { children: Node[] };
  const byId = new Map<string, Node>();
  const roots: Node[] = [];
  for (const [id = "", title, parent, skills, estimate, dependsOn, acceptance] of SAMPLE_WBS_ROWS.slice(1)) {
    const node: Node = { id, title, children: [] };
    if (skills) node.skills = skills;
    if (estimate) node.estimate = Number(estimate);
    if (dependsOn) node.dependsOn = dependsOn.split(", ");
    if (acceptance) node.acceptanceCriteria = acceptance;
    byId.set(id, node);
    const enclosing = parent ? byId.get(parent) : undefined;
    (enclosing ? enclosing.children : roots).push(node);
  }
  const prune = (node: Node): unknown => {
    const { children, ...rest } = node;
    return children.length > 0 ? { ...rest, children: children.map(prune) } : rest;
  };
  return { items: roots.map(prune) };
}

/**
 * A large, realistic WBS with English headers: header + n rows, in groups of one grouping row and
 * up to 20 leaves; each leaf depends on 0–2 earlier leaves. Deterministic for a given n.
 */
export function generatedWbs(n: number): string[][] {
  const rows: string[][] = [["id", "title", "parent", "skills", "estimate", "depends on", "acceptance criteria"]];
  const skills = ["java", "typescript", "sql", "oracle", "spring", "react", "aws", "testing"];
  const leaves: string[] = [];
  let seed = 42;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed / 2_147_483_648;
  };
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)] as T;
  let group = 0;
  let inGroup = 20;
  while (rows.length <= n) {
    if (inGroup === 20) {
      group += 1;
      inGroup = 0;
      rows.push([String(group), `Subsystem ${group}`, "", "", "", "", ""]);
      continue;
    }
    inGroup += 1;
    const id = `${group}.${inGroup}`;
    const deps = new Set<string>();
    const count = Math.floor(random() * 3);
    for (let i = 0; i < count && leaves.length > 0; i++) deps.add(pick(leaves.slice(-40)));
    rows.push([
      id,
      `Feature ${id}: implement and unit-test`,
      String(group),
      `${pick(skills)}:${1 + Math.floor(random() * 5)}; ${pick(skills)}:${1 + Math.floor(random() * 5)}`,
      String(4 + Math.floor(random() * 60)),
      [...deps].join(", "),
      "Unit tests pass; reviewed by the lead",
    ]);
    leaves.push(id);
  }
  return rows;
}
