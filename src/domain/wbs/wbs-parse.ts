// Reads an uploaded WBS (CSV, JSON, YAML or xlsx, as Japanese prime contractors produce them) into
// flat items, collecting every problem with its row and column instead of stopping at the first.

import { parse as parseCsvSync } from "csv-parse/sync";
import type ExcelJS from "exceljs";
import { parseDocument } from "yaml";
import { msg, said, type Text, wbsField } from "../../kernel/messages.ts";
import { checkXlsxArchive } from "./xlsx-archive.ts";

/** The file formats a WBS can be uploaded in. */
export type WbsFormat = "csv" | "json" | "yaml" | "xlsx";

/** A skill an item needs, with its ITSS level (1..7). */
export interface WbsSkill {
  skill: string;
  level: number;
}

/** One WBS line, flattened: groupings and leaves alike, in file order. */
export interface WbsItem {
  /** The user's id, e.g. "1.2.3". */
  wbsId: string;
  title: string;
  /** The parent's wbsId; null at the top level. */
  parentId: string | null;
  skills: WbsSkill[];
  /** Null when the cell is empty (groupings usually have none). */
  estimateHours: number | null;
  /** wbsIds this item depends on; every one names an item of the same file. */
  dependsOn: string[];
  /** "" when empty. */
  acceptanceCriteria: string;
  /** Workspace template name, when the file has one. */
  template: string | null;
  /** Spreadsheet row (CSV/xlsx, header = 1) or 1-based item number in document order (JSON/YAML). */
  row: number;
}

/** Something wrong with the file; `row` and `field` say where, when that is known. */
export interface WbsProblem {
  row: number | null;
  field: string | null;
  message: string;
  /** The message from the catalogue, so that a page can show it in the reader's language. */
  text?: Text;
}

/**
 * The items of a valid file, or every problem found in an invalid one; `tooLarge` when the file was refused for
 * what it would unpack to (an .xlsx past `XLSX_LIMITS`), which is told apart from a file with wrong content.
 */
export type WbsParseResult =
  | { ok: true; format: WbsFormat; items: WbsItem[]; ignoredColumns: string[] }
  | { ok: false; problems: WbsProblem[]; tooLarge?: Text };

/** What `parseWbs` reads: the bytes, and whatever the upload said about them. */
export interface WbsInput {
  bytes: Uint8Array;
  filename?: string;
  contentType?: string;
  format?: WbsFormat;
}

/** The columns (CSV/xlsx) or keys (JSON/YAML) a WBS may have. */
export const wbsFields = [
  "id",
  "title",
  "parent",
  "skills",
  "estimate",
  "dependsOn",
  "acceptanceCriteria",
  "template",
] as const;

/** One of the WBS columns; also the `field` of a problem about that column. */
export type WbsField = (typeof wbsFields)[number];

/** Header spellings accepted for each field, compared after `normalizeHeader`. */
export const wbsHeaderAliases: Readonly<Record<WbsField, readonly string[]>> = {
  id: [
    "id",
    "wbs",
    "wbs id",
    "wbs_id",
    "wbs no",
    "wbs番号",
    "wbsコード",
    "wbs no.",
    "作業番号",
    "作業no",
    "作業no.",
    "タスク番号",
    "項目番号",
    "管理番号",
    "番号",
    "no",
    "no.",
    "項番",
    "コード",
    "code",
  ],
  title: [
    "title",
    "name",
    "task",
    "task name",
    "作業名",
    "作業名称",
    "タスク名",
    "タスク名称",
    "タスク",
    "件名",
    "作業項目",
    "作業項目名",
    "名称",
  ],
  parent: [
    "parent",
    "parent id",
    "parent wbs",
    "親",
    "親id",
    "親wbs",
    "親番号",
    "親wbs番号",
    "親作業番号",
    "上位wbs",
    "上位番号",
  ],
  skills: ["skills", "skill", "required skills", "必要スキル", "必要なスキル", "スキル", "スキル要件", "必要技術"],
  estimate: [
    "estimate",
    "estimate hours",
    "estimate (h)",
    "estimated hours",
    "hours",
    "effort",
    "見積工数",
    "工数",
    "見積時間",
    "見積",
    "見積(h)",
    "見積工数(h)",
    "工数(h)",
    "見積工数(人時)",
    "見積工数(時間)",
    "工数(人時)",
    "工数(時間)",
    "見積(時間)",
    "予定工数",
    "予定時間",
  ],
  dependsOn: [
    "depends on",
    "dependencies",
    "depends",
    "predecessors",
    "依存",
    "先行作業",
    "前提作業",
    "依存関係",
    "先行",
    "先行タスク",
    "先行wbs",
    "先行番号",
    "先行作業番号",
    "前工程",
  ],
  acceptanceCriteria: [
    "acceptance criteria",
    "acceptance",
    "definition of done",
    "受入基準",
    "受け入れ基準",
    "完了条件",
    "完了基準",
    "検収条件",
    "受入条件",
    "受入れ基準",
    "受け入れ条件",
    "検収基準",
    "合格基準",
  ],
  template: ["template", "workspace template", "テンプレート"],
};

/** Keys under which JSON/YAML items nest their children, compared after `normalizeHeader`. */
export const wbsChildrenKeys: readonly string[] = ["children", "子", "子タスク"];

/** How messages about a missing id or title column suggest the header to add. */
const headerExamples = {
  id: '"id", "WBS番号", "作業番号" or "番号"',
  title: '"title", "作業名" or "タスク名"',
} as const;

/** The most problems reported one by one; the rest are counted in a last line. */
export const WBS_MAX_PROBLEMS = 100;

/** Folds a header for comparison: NFKC, lower case, trimmed, without spaces, underscores or hyphens. */
export function normalizeHeader(header: string): string {
  return header
    .normalize("NFKC")
    .toLowerCase()
    .replace(/[\s_-]+/g, "");
}

const fieldByHeader = new Map<string, WbsField>(
  wbsFields.flatMap((field) => wbsHeaderAliases[field].map((alias) => [normalizeHeader(alias), field] as const)),
);
const childrenKeys = new Set(wbsChildrenKeys.map(normalizeHeader));

/** The field a column header or JSON key stands for, or undefined when it is not a WBS column. */
export function wbsFieldForHeader(header: string): WbsField | undefined {
  return fieldByHeader.get(normalizeHeader(header));
}

// ---------------------------------------------------------------------------------------------
// Values

const nonAscii = /[\u0080-\uffff]/;

/** Fields whose text is kept exactly as written (trimmed only): what people sign and inspect. */
const writtenAsIs: ReadonlySet<string> = new Set<WbsField>(["title", "acceptanceCriteria"]);

/** NFKC and trim: full-width digits, colons and spaces become ASCII. ASCII text is NFKC already. */
const clean = (text: string) => (nonAscii.test(text) ? text.normalize("NFKC") : text).trim();

const skillSeparators = /[;,、\n\r]/;
// "/" separates only after a level, so that PL/SQL or CI/CD stay one skill name.
const slashAfterLevel = /(?<=\d)\s*\//;

/** Collects skills, keeping the higher level of a name written twice. */
class SkillList {
  readonly levels = new Map<string, number>();
  readonly problems: Text[] = [];

  add(rawName: string, rawLevel: unknown, written: string): void {
    // Lower-case ASCII letters only: other scripts stay as written (after NFKC).
    let name = clean(rawName);
    name = nonAscii.test(name) ? name.replace(/[A-Z]+/g, (s) => s.toLowerCase()) : name.toLowerCase();
    if (name === "") {
      this.problems.push(msg("wbs.skillNoName", { written }));
      return;
    }
    let levelText = clean(typeof rawLevel === "string" ? rawLevel : String(rawLevel ?? ""));
    if (!/^\d$/.test(levelText)) levelText = levelText.replace(/^(?:lv\.?|level|レベル)\s*/i, "");
    if (levelText === "") {
      this.problems.push(msg("wbs.skillNoLevel", { written, name }));
      return;
    }
    const level = /^\d+$/.test(levelText) ? Number(levelText) : Number.NaN;
    if (!(level >= 1 && level <= 7)) {
      this.problems.push(msg("wbs.skillBadLevel", { written, level: levelText }));
      return;
    }
    this.levels.set(name, Math.max(level, this.levels.get(name) ?? 0));
  }

  addText(text: string): void {
    for (const part of clean(text).split(skillSeparators)) {
      if (part.includes("/")) for (const entry of part.split(slashAfterLevel)) this.addEntry(entry);
      else this.addEntry(part);
    }
  }

  addEntry(written: string): void {
    const entry = written.trim();
    if (entry === "") return;
    const at = Math.max(entry.lastIndexOf(":"), entry.lastIndexOf("="));
    if (at < 0) this.add(entry, "", entry);
    else this.add(entry.slice(0, at), entry.slice(at + 1), entry);
  }

  addObject(obj: Record<string, unknown>): void {
    const name = obj.skill ?? obj.name;
    if (typeof name === "string" || typeof name === "number") this.add(String(name), obj.level, String(name));
    else this.problems.push(msg("wbs.skillNoSkill", { value: JSON.stringify(obj) }));
  }

  result(): { skills: WbsSkill[]; problems: Text[] } {
    return { skills: Array.from(this.levels, ([skill, level]) => ({ skill, level })), problems: this.problems };
  }
}

/** Reads a skills cell or value (`"java:4; oracle:3"`, `["java:4"]`, `[{skill, level}]`, `{java: 4}`). */
export function parseSkills(value: unknown): { skills: WbsSkill[]; problems: Text[] } {
  const list = new SkillList();
  if (value === null || value === undefined || value === "") return list.result();
  if (typeof value === "string") list.addText(value);
  else if (Array.isArray(value)) {
    for (const entry of value) {
      if (typeof entry === "string") list.addText(entry);
      else if (isRecord(entry)) list.addObject(entry);
      else list.problems.push(msg("wbs.notASkill", { value: JSON.stringify(entry) }));
    }
  } else if (isRecord(value)) {
    if ("skill" in value || ("name" in value && "level" in value)) list.addObject(value);
    else for (const [name, level] of Object.entries(value)) list.add(name, level, `${name}: ${String(level)}`);
  } else list.problems.push(msg("wbs.notSkills", { value: JSON.stringify(value) }));
  return list.result();
}

/** Largest estimate accepted for one item, in hours. */
export const WBS_MAX_ESTIMATE_HOURS = 10_000;

const estimatePattern = /^(-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|-?\.\d+)\s*(h|hrs?|hours?|時間|人時|人日)?$/i;

/**
 * Reads an estimate: `40`, `40h`, `４０時間`, `12.5人時`, `1,200`, or `5人日` (× 8 hours). Empty gives
 * null; anything else gives an error phrase to put after the quoted value.
 */
export function parseEstimateHours(value: unknown): { hours: number | null } | { error: Text } {
  let hours: number;
  if (typeof value === "number") hours = value;
  else {
    const text = clean(typeof value === "string" ? value : String(value ?? ""));
    if (text === "") return { hours: null };
    const m = estimatePattern.exec(text);
    if (!m?.[1]) return { error: msg("wbs.notHours") };
    hours = Number(m[1].replace(/,/g, "")) * (m[2] === "人日" ? 8 : 1);
  }
  if (!Number.isFinite(hours)) return { error: msg("wbs.notHours") };
  if (hours <= 0) return { error: msg("wbs.hoursNotPositive") };
  if (hours > WBS_MAX_ESTIMATE_HOURS) return { error: msg("wbs.hoursTooMany", { max: WBS_MAX_ESTIMATE_HOURS }) };
  return { hours };
}

/** Characters that separate ids in a dependencies cell, and so may not appear inside an id. */
const idSeparators = /[\s,;、]+/;

// ---------------------------------------------------------------------------------------------
// Problems

class Problems {
  readonly list: WbsProblem[] = [];
  add(row: number | null, field: string | null, message: string | Text): void {
    this.list.push(typeof message === "string" ? { row, field, message } : { row, field, ...said(message) });
  }
  get count(): number {
    return this.list.length;
  }
  /** In row order (file-level problems first), capped at WBS_MAX_PROBLEMS. */
  report(): WbsProblem[] {
    const sorted = [...this.list].sort((a, b) => (a.row ?? 0) - (b.row ?? 0));
    if (sorted.length <= WBS_MAX_PROBLEMS) return sorted;
    const more = sorted.length - WBS_MAX_PROBLEMS;
    return [
      ...sorted.slice(0, WBS_MAX_PROBLEMS),
      { row: null, field: null, ...said(msg(more === 1 ? "wbs.moreOne" : "wbs.more", { more })) },
    ];
  }
}

const fail = (problems: Problems): WbsParseResult => ({ ok: false, problems: problems.report() });

// ---------------------------------------------------------------------------------------------
// Format and encoding

const startsWith = (bytes: Uint8Array, signature: number[]) => signature.every((b, i) => bytes[i] === b);
const ZIP = [0x50, 0x4b, 0x03, 0x04];
const OLE2 = [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1];
const XLS_MESSAGE =
  "old Excel .xls files cannot be read; open it in Excel and save it as .xlsx (Excel ブック) or CSV UTF-8";

const formatByContentType: Record<string, WbsFormat> = {
  "text/csv": "csv",
  "application/csv": "csv",
  "text/tab-separated-values": "csv",
  "application/json": "json",
  "text/json": "json",
  "application/yaml": "yaml",
  "application/x-yaml": "yaml",
  "text/yaml": "yaml",
  "text/x-yaml": "yaml",
  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
};
// application/vnd.ms-excel is deliberately absent: browsers on Windows send it for .csv files.

const formatByExtension: Record<string, WbsFormat> = {
  csv: "csv",
  tsv: "csv",
  txt: "csv",
  json: "json",
  yaml: "yaml",
  yml: "yaml",
  xlsx: "xlsx",
  xlsm: "xlsx",
};

/**
 * The format of an upload: a zip is always xlsx (a spreadsheet is never valid CSV), an OLE2 file
 * or a `.xls` name is refused; otherwise the explicit format, the content type, the extension, and
 * last the text itself (`{`/`[` → json, `---` → yaml, else csv; undefined means "sniff the text").
 */
export function detectWbsFormat(input: WbsInput): { format: WbsFormat | undefined } | { problem: string } {
  if (startsWith(input.bytes, ZIP)) return { format: "xlsx" };
  if (startsWith(input.bytes, OLE2)) {
    return { problem: `${XLS_MESSAGE} (a password-protected workbook looks the same: remove the password)` };
  }
  if (input.format) return { format: input.format };
  const type = input.contentType?.split(";")[0]?.trim().toLowerCase();
  const byType = type === undefined ? undefined : formatByContentType[type];
  if (byType) return { format: byType };
  const extension = /\.([^./\\]+)$/.exec(input.filename ?? "")?.[1]?.toLowerCase();
  if (extension === "xls") return { problem: XLS_MESSAGE };
  return { format: extension === undefined ? undefined : formatByExtension[extension] };
}

function sniffTextFormat(text: string): WbsFormat {
  const start = text.trimStart();
  if (start.startsWith("{") || start.startsWith("[")) return "json";
  if (start.startsWith("---") || start.startsWith("%YAML")) return "yaml";
  return "csv";
}

/** True when the text holds control characters no CSV, JSON or YAML file has: it was binary. */
function looksBinary(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d && c !== 0x0c) return true;
  }
  return false;
}

/**
 * Decodes text the way Japanese offices save it: UTF-8 (with or without BOM), else Shift_JIS
 * (CP932, which is what Node's full ICU decodes as shift_jis), or UTF-16 with a BOM (Excel's
 * 「Unicode テキスト」). Undefined when the bytes are none of these.
 */
export function decodeWbsText(bytes: Uint8Array): string | undefined {
  const attempt = (encoding: string) => {
    try {
      return new TextDecoder(encoding, { fatal: true }).decode(bytes);
    } catch {
      return undefined;
    }
  };
  let text: string | undefined;
  if (startsWith(bytes, [0xff, 0xfe])) text = attempt("utf-16le");
  else if (startsWith(bytes, [0xfe, 0xff])) text = attempt("utf-16be");
  else text = attempt("utf-8") ?? attempt("shift_jis");
  if (text === undefined || looksBinary(text)) return undefined;
  return text.replace(/^\uFEFF/, "");
}

// ---------------------------------------------------------------------------------------------
// Reading each format into raw items

/** A spreadsheet cell whose value cannot be used, with the reason. */
class UnreadableCell {
  constructor(readonly reason: string) {}
}

type TableCell = string | Date | UnreadableCell;
interface TableRow {
  row: number;
  cells: TableCell[];
}

/** One item before validation: values as the reader found them, labels as the user wrote them. */
interface RawItem {
  row: number;
  values: Partial<Record<WbsField, unknown>>;
  labels: Partial<Record<WbsField, string>>;
  /** Nested JSON/YAML only: the enclosing item's id (null when that id is unusable). */
  enclosing?: { id: string | null };
}

interface Reading {
  items: RawItem[];
  ignored: string[];
  /** "row" for spreadsheets, "item" for JSON/YAML: how messages point at another item. */
  unit: "row" | "item";
}

/** Picks the delimiter that occurs most (outside quotes) on the first line that has any. */
function detectDelimiter(text: string): string {
  const candidates = [",", "\t", ";"];
  for (const line of text.split(/\r\n|\n|\r/, 50)) {
    const bare = line.replace(/"(?:[^"]|"")*"/g, "");
    const counts = candidates.map((d) => bare.split(d).length - 1);
    const best = Math.max(...counts);
    if (best > 0) return candidates[counts.indexOf(best)] ?? ",";
  }
  return ",";
}

/** Byte offsets where each line starts; a line ends at CRLF, LF or a lone CR. */
function lineStarts(buf: Uint8Array): number[] {
  const starts = [0];
  for (let i = 0; i < buf.length; i++) {
    const b = buf[i];
    if (b === 0x0a || (b === 0x0d && buf[i + 1] !== 0x0a)) starts.push(i + 1);
  }
  return starts;
}

function lineAt(starts: number[], offset: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((starts[mid] ?? 0) <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}

interface CsvError {
  code?: string;
  message: string;
}

function readCsvRows(text: string, problems: Problems): TableRow[] | undefined {
  // csv-parse counts lines wrongly around CRLF and skipped lines, so rows are found from the byte
  // offset where each record ends: the next record starts at the first byte after line breaks.
  const buf = Buffer.from(text, "utf8");
  const starts = lineStarts(buf);
  const nextRecordLine = (end: number) => {
    let at = end;
    while (buf[at] === 0x0d || buf[at] === 0x0a) at++;
    return lineAt(starts, at);
  };
  const rows: TableRow[] = [];
  let end = 0;
  try {
    parseCsvSync(buf, {
      delimiter: detectDelimiter(text),
      relax_column_count: true,
      relax_quotes: true,
      skip_empty_lines: true,
      on_record: (cells: string[], context) => {
        rows.push({ row: nextRecordLine(end), cells });
        end = context.bytes;
        return null;
      },
    });
  } catch (error) {
    const e = error as CsvError;
    const message =
      e.code === "CSV_QUOTE_NOT_CLOSED"
        ? 'a quoted value that starts on this row is never closed; look for a stray " character'
        : `the CSV cannot be read from this row on: ${e.message}`;
    problems.add(nextRecordLine(end), null, message);
    return undefined;
  }
  return rows;
}

function excelNumber(value: number, numFmt: string | undefined): string {
  // A number typed as 1.10 is stored as 1.1: nothing in the file keeps the trailing zero unless the
  // cell is formatted "0.00", which is honoured here. Ids belong in text-formatted columns.
  const decimals = numFmt === undefined ? undefined : /^0\.(0+)$/.exec(numFmt)?.[1]?.length;
  return decimals === undefined ? String(value) : value.toFixed(decimals);
}

function excelCell(cell: ExcelJS.Cell): TableCell {
  if (cell.isMerged && cell.master !== cell) return ""; // merged cells repeat the master's value
  const convert = (value: ExcelJS.CellValue): TableCell => {
    if (value === null || value === undefined) return "";
    if (typeof value === "string") return value;
    if (typeof value === "number") return excelNumber(value, cell.numFmt);
    if (typeof value === "boolean") return value ? "TRUE" : "FALSE";
    if (value instanceof Date) return value;
    if ("error" in value) return new UnreadableCell(`the cell shows the error ${value.error}`);
    if ("richText" in value) return value.richText.map((run) => run.text).join("");
    if ("formula" in value || "sharedFormula" in value) {
      if (value.result === undefined) {
        return new UnreadableCell("the formula has no saved result; open the file in Excel and save it again");
      }
      return convert(value.result);
    }
    if ("text" in value) {
      // A hyperlink; its text is sometimes rich text rather than a string.
      const linkText: unknown = value.text;
      return isRecord(linkText) && Array.isArray(linkText.richText)
        ? convert({ richText: linkText.richText as ExcelJS.RichText[] })
        : String(linkText);
    }
    return "";
  };
  return convert(cell.value);
}

async function readXlsxRows(bytes: Uint8Array, problems: Problems): Promise<TableRow[] | undefined> {
  // ExcelJS is large and slow to load; only xlsx uploads pay for it.
  const { default: Excel } = await import("exceljs");
  const workbook = new Excel.Workbook();
  try {
    // ExcelJS types its input as an ArrayBuffer; a copy gives exactly that.
    await workbook.xlsx.load(new Uint8Array(bytes).buffer);
  } catch {
    problems.add(null, null, msg("wbs.unreadableXlsx"));
    return undefined;
  }
  const sheet = workbook.worksheets.find((ws) => ws.name.trim().toLowerCase() === "wbs") ?? workbook.worksheets[0];
  if (!sheet) {
    problems.add(null, null, msg("wbs.noSheets"));
    return undefined;
  }
  const rows: TableRow[] = [];
  sheet.eachRow({ includeEmpty: false }, (row, rowNumber) => {
    const cells: TableCell[] = [];
    row.eachCell({ includeEmpty: false }, (cell, column) => {
      cells[column - 1] = excelCell(cell);
    });
    rows.push({ row: rowNumber, cells: Array.from(cells, (c) => c ?? "") });
  });
  return rows;
}

const isBlank = (cell: TableCell | undefined) => cell === undefined || (typeof cell === "string" && cell.trim() === "");
const headerText = (cell: TableCell | undefined) =>
  typeof cell === "string" ? cell.trim() : cell instanceof Date ? cell.toISOString().slice(0, 10) : "";

/**
 * Maps a table to raw items. The header is the first non-empty row, except that a title row above
 * the real header (common in Japanese WBS sheets) is skipped when a later row among the first ten
 * names both the id and the title columns.
 */
function tableToItems(rows: TableRow[], problems: Problems, checkWidth: boolean): Reading | undefined {
  const filled = rows.filter((r) => r.cells.some((c) => !isBlank(c)));
  const first = filled[0];
  if (!first) {
    problems.add(null, null, msg("wbs.fileEmpty"));
    return undefined;
  }
  const mapsIdAndTitle = (r: TableRow) => {
    const fields = new Set(r.cells.map((c) => wbsFieldForHeader(headerText(c))));
    return fields.has("id") && fields.has("title");
  };
  const headerIndex = Math.max(0, filled.slice(0, 10).findIndex(mapsIdAndTitle));
  const header = filled[headerIndex] ?? first;

  const columns = new Map<WbsField, { index: number; label: string }>();
  const ignored: string[] = [];
  header.cells.forEach((cell, index) => {
    const label = headerText(cell);
    if (label === "") return;
    const field = wbsFieldForHeader(label);
    if (!field) {
      if (!ignored.includes(label)) ignored.push(label);
      return;
    }
    const earlier = columns.get(field);
    if (earlier) {
      problems.add(header.row, field, msg("wbs.sameColumn", { a: earlier.label, b: label, field: wbsField(field) }));
    } else columns.set(field, { index, label });
  });
  const found = header.cells.map(headerText).filter((h) => h !== "");
  for (const field of ["id", "title"] as const) {
    if (columns.has(field)) continue;
    problems.add(
      header.row,
      field,
      msg("wbs.noColumn", {
        field: wbsField(field),
        examples: headerExamples[field],
        found: found.map((h) => `"${h}"`).join(", "),
      }),
    );
  }
  if (!columns.has("id") || !columns.has("title")) return undefined;

  const data = filled.slice(headerIndex + 1);
  if (data.length === 0) {
    problems.add(null, null, msg("wbs.noRows"));
    return undefined;
  }
  const mapped = [...columns].map(([field, c]) => ({ field, index: c.index }));
  const labels = Object.fromEntries([...columns].map(([field, c]) => [field, c.label]));
  const items = data.map((r): RawItem => {
    if (
      checkWidth &&
      r.cells.length > header.cells.length &&
      r.cells.slice(header.cells.length).some((c) => !isBlank(c))
    ) {
      problems.add(r.row, null, msg("wbs.cellCount", { cells: r.cells.length, header: header.cells.length }));
    }
    const values: RawItem["values"] = {};
    for (const { field, index } of mapped) values[field] = r.cells[index];
    return { row: r.row, values, labels };
  });
  return { items, ignored, unit: "row" };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

const MAX_DEPTH = 50;

/** Maps parsed JSON/YAML to raw items, numbering them depth-first from 1. */
function treeToItems(doc: unknown, problems: Problems, yaml: boolean): Reading | undefined {
  if (doc === null || doc === undefined) {
    problems.add(null, null, msg("wbs.fileEmpty"));
    return undefined;
  }
  let list: unknown = doc;
  if (isRecord(doc)) {
    const key = Object.keys(doc).find((k) => ["items", "wbs"].includes(normalizeHeader(k)));
    list = key === undefined ? undefined : doc[key];
  }
  if (!Array.isArray(list)) {
    problems.add(null, null, msg("wbs.notAList"));
    return undefined;
  }
  const items: RawItem[] = [];
  const ignored: string[] = [];
  const keysSeen: string[] = [];
  // YAML is read with the failsafe schema (all scalars are text, so an id 1.10 stays "1.10");
  // its spellings of null therefore arrive as text.
  const value = (v: unknown) => (yaml && typeof v === "string" && /^(?:~|null|Null|NULL)$/.test(v) ? null : v);

  let count = 0;
  const walk = (entries: unknown[], enclosing: RawItem["enclosing"], depth: number) => {
    for (const entry of entries) {
      const row = ++count;
      if (!isRecord(entry)) {
        problems.add(row, null, msg("wbs.notAnItem", { row }));
        continue;
      }
      const values: RawItem["values"] = {};
      const labels: RawItem["labels"] = {};
      items.push({ row, values, labels, ...(enclosing ? { enclosing } : {}) });
      let children: unknown;
      for (const [key, v] of Object.entries(entry)) {
        if (!keysSeen.includes(key)) keysSeen.push(key);
        if (childrenKeys.has(normalizeHeader(key))) {
          children = v;
          continue;
        }
        const field = wbsFieldForHeader(key);
        if (!field) {
          if (!ignored.includes(key)) ignored.push(key);
        } else if (labels[field] !== undefined) {
          problems.add(row, field, msg("wbs.sameKey", { a: labels[field] ?? "", b: key, field: wbsField(field) }));
        } else {
          values[field] = value(v);
          labels[field] = key;
        }
      }
      if (children === undefined || children === null || children === "") continue;
      if (!Array.isArray(children)) problems.add(row, "children", msg("wbs.childrenNotList"));
      else if (depth >= MAX_DEPTH) problems.add(row, "children", msg("wbs.tooDeep", { max: MAX_DEPTH }));
      else {
        const id = values.id;
        const enclosingId = typeof id === "string" || typeof id === "number" ? clean(String(id)) : "";
        walk(children, { id: enclosingId === "" ? null : enclosingId }, depth + 1);
      }
    }
  };
  walk(list, undefined, 0);

  if (count === 0) {
    problems.add(null, null, msg("wbs.noItems"));
    return undefined;
  }
  let missing = false;
  for (const field of ["id", "title"] as const) {
    if (items.length === 0 || items.some((item) => item.labels[field] !== undefined)) continue;
    missing = true;
    problems.add(
      null,
      field,
      msg(field === "id" ? "wbs.noIdKey" : "wbs.noKey", {
        field: wbsField(field),
        examples: headerExamples[field],
        found: keysSeen.map((k) => `"${k}"`).join(", "),
      }),
    );
  }
  return missing ? undefined : { items, ignored, unit: "item" };
}

function jsonSyntaxProblem(text: string, error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  let line: number | undefined;
  let column: number | undefined;
  const position = /at position (\d+)/.exec(message)?.[1];
  const lineColumn = /\(line (\d+) column (\d+)\)/.exec(message);
  if (position !== undefined) {
    const before = text.slice(0, Number(position)).split(/\r\n|\n|\r/);
    line = before.length;
    column = (before.at(-1)?.length ?? 0) + 1;
  } else if (lineColumn) {
    line = Number(lineColumn[1]);
    column = Number(lineColumn[2]);
  } else if (/end of JSON input/.test(message)) {
    line = text.trimEnd().split(/\r\n|\n|\r/).length;
  }
  const reason = message.replace(/\s*(?:in JSON )?at position \d+.*$|\s*\(line \d+ column \d+\)$/, "");
  const where =
    line === undefined ? "" : column === undefined ? ` at line ${line}` : ` at line ${line}, column ${column}`;
  return `invalid JSON${where}: ${reason}`;
}

function readJson(text: string, problems: Problems): Reading | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    problems.add(null, null, jsonSyntaxProblem(text, error));
    return undefined;
  }
  return treeToItems(doc, problems, false);
}

function readYaml(text: string, problems: Problems): Reading | undefined {
  const doc = parseDocument(text, { schema: "failsafe", uniqueKeys: true });
  const error = doc.errors[0];
  if (error) {
    const at = error.linePos?.[0];
    const where = at ? ` at line ${at.line}, column ${at.col}` : "";
    const reason = error.message.split("\n")[0]?.replace(/ at line \d+, column \d+:?$/, "") ?? error.code;
    problems.add(null, null, `invalid YAML${where}: ${reason}`);
    return undefined;
  }
  try {
    return treeToItems(doc.toJS({ maxAliasCount: 100 }), problems, true);
  } catch (e) {
    problems.add(null, null, `the YAML cannot be read: ${e instanceof Error ? e.message : String(e)}`);
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Validation

/** Reads the fields of one raw item, reporting what is wrong with each, on that item's row. */
class ItemReader {
  constructor(
    private readonly raw: RawItem,
    private readonly problems: Problems,
    private readonly unit: Reading["unit"],
  ) {}

  label(field: WbsField): string {
    return this.raw.labels[field] ?? field;
  }

  report(field: string, message: Text): void {
    this.problems.add(this.raw.row, field, message);
  }

  /** Text of a scalar; reports and returns undefined for lists, objects and unreadable cells. */
  text(field: WbsField, value: unknown = this.raw.values[field]): string | undefined {
    if (value === undefined || value === null) return "";
    if (typeof value === "string") {
      // Titles and acceptance criteria go onto the order document and are judged at 検収: kept as written
      // (①, ㈱, half-width kana, full-width brackets), only trimmed; ids, numbers and units are folded by NFKC.
      const kept = writtenAsIs.has(field) ? value.trim() : clean(value);
      return kept.includes("\r") ? kept.replace(/\r\n?/g, "\n") : kept;
    }
    if (typeof value === "number" || typeof value === "boolean") return String(value);
    if (value instanceof UnreadableCell) {
      this.report(field, msg("wbs.unreadableCell", { label: this.label(field), reason: value.reason }));
      return undefined;
    }
    if (value instanceof Date) {
      const date = value.toISOString().slice(0, 10);
      if (field !== "id" && field !== "parent" && field !== "dependsOn") return date;
      this.report(field, msg("wbs.excelDate", { label: this.label(field), date }));
      return undefined;
    }
    this.report(field, msg(this.unit === "item" ? "wbs.notAString" : "wbs.notText", { label: this.label(field) }));
    return undefined;
  }

  /** The id as written, even when it is reported, so that references to it still resolve. */
  id(): string {
    const id = this.text("id");
    if (id === undefined) return "";
    const label = this.label("id");
    if (id === "") this.report("id", msg("wbs.empty", { label }));
    else if (id.length > 64) this.report("id", msg("wbs.idTooLong", { label, id }));
    else if (idSeparators.test(id)) this.report("id", msg("wbs.idSeparator", { label, id }));
    return id;
  }

  title(): string {
    const title = this.text("title");
    if (title === "") this.report("title", msg("wbs.empty", { label: this.label("title") }));
    else if (title !== undefined && title.length > 200) {
      this.report("title", msg("wbs.titleTooLong", { label: this.label("title"), length: title.length }));
    }
    return title ?? "";
  }

  parentId(): string | null {
    const explicit = this.text("parent") || null;
    const { enclosing } = this.raw;
    if (!enclosing) return explicit;
    if (explicit !== null && enclosing.id !== null && explicit !== enclosing.id) {
      this.report(
        "parent",
        msg("wbs.parentDisagrees", { label: this.label("parent"), parent: explicit, enclosing: enclosing.id }),
      );
    }
    return enclosing.id ?? explicit;
  }

  skills(): WbsSkill[] {
    const { skills, problems } = parseSkills(this.raw.values.skills);
    for (const message of problems)
      this.report("skills", msg("wbs.labelled", { label: this.label("skills"), message }));
    return skills;
  }

  estimateHours(): number | null {
    const value = this.raw.values.estimate;
    const written = typeof value === "number" ? value : this.text("estimate");
    if (written === undefined) return null;
    const estimate = parseEstimateHours(written);
    if ("hours" in estimate) return estimate.hours;
    this.report(
      "estimate",
      msg("wbs.quoted", { label: this.label("estimate"), value: String(written), message: estimate.error }),
    );
    return null;
  }

  dependsOn(): string[] {
    const value = this.raw.values.dependsOn;
    const parts = Array.isArray(value) ? value.map((v) => this.text("dependsOn", v)) : [this.text("dependsOn")];
    const ids: string[] = [];
    for (const part of parts) {
      if (part) for (const id of part.split(idSeparators)) if (id !== "" && !ids.includes(id)) ids.push(id);
    }
    return ids;
  }

  read(): WbsItem {
    return {
      wbsId: this.id(),
      title: this.title(),
      parentId: this.parentId(),
      skills: this.skills(),
      estimateHours: this.estimateHours(),
      dependsOn: this.dependsOn(),
      acceptanceCriteria: this.text("acceptanceCriteria") ?? "",
      template: this.text("template") || null,
      row: this.raw.row,
    };
  }
}

/** Reads every item, then checks what the items say about each other. */
function validate(reading: Reading, problems: Problems): WbsItem[] {
  const { unit } = reading;
  const items = reading.items.map((raw) => new ItemReader(raw, problems, unit).read());
  const labels = (i: number) => reading.items[i]?.labels ?? {};

  const byId = new Map<string, WbsItem>();
  items.forEach((item, i) => {
    if (item.wbsId === "") return;
    const earlier = byId.get(item.wbsId);
    if (earlier === undefined) byId.set(item.wbsId, item);
    else
      problems.add(
        item.row,
        "id",
        msg(unit === "row" ? "wbs.idUsedRow" : "wbs.idUsedItem", {
          label: labels(i).id ?? "id",
          id: item.wbsId,
          row: earlier.row,
        }),
      );
  });

  // References may point forwards, so they are checked once every id is known.
  let parentsComeFirst = true;
  items.forEach((item, i) => {
    const parentLabel = labels(i).parent ?? "parent";
    const dependsLabel = labels(i).dependsOn ?? "dependsOn";
    if (item.parentId !== null && item.wbsId !== "") {
      if (item.parentId === item.wbsId) problems.add(item.row, "parent", msg("wbs.ownParent", { label: parentLabel }));
      else {
        const parent = byId.get(item.parentId);
        if (!parent) problems.add(item.row, "parent", msg("wbs.unknownId", { label: parentLabel, id: item.parentId }));
        else if (parent.row > item.row) parentsComeFirst = false;
      }
    }
    for (const dep of item.dependsOn) {
      if (dep === item.wbsId) problems.add(item.row, "dependsOn", msg("wbs.ownDependency", { label: dependsLabel }));
      else if (!byId.has(dep))
        problems.add(item.row, "dependsOn", msg("wbs.unknownId", { label: dependsLabel, id: dep }));
    }
  });
  // A loop needs some parent below its child; the usual file, parents first, cannot have one.
  if (!parentsComeFirst) reportParentLoops(byId, (item) => labels(items.indexOf(item)).parent ?? "parent", problems);
  return items;
}

/** Reports each loop in the parent chains once, on the earliest row of the loop. */
function reportParentLoops(byId: Map<string, WbsItem>, parentLabel: (item: WbsItem) => string, problems: Problems) {
  const state = new Map<string, "walking" | "done">();
  for (const start of byId.values()) {
    const path: WbsItem[] = [];
    let current: WbsItem | undefined = start;
    while (current && !state.has(current.wbsId)) {
      state.set(current.wbsId, "walking");
      path.push(current);
      current = current.parentId === null ? undefined : byId.get(current.parentId);
    }
    // A one-item loop (its own parent) is reported by the reference check already.
    if (current && state.get(current.wbsId) === "walking" && current.parentId !== current.wbsId) {
      const loop = path.slice(path.indexOf(current));
      const first = loop.reduce((a, b) => (b.row < a.row ? b : a));
      const at = loop.indexOf(first);
      const ids = [...loop.slice(at), ...loop.slice(0, at), first].map((i) => i.wbsId);
      problems.add(first.row, "parent", msg("wbs.parentLoop", { label: parentLabel(first), ids: ids.join(" → ") }));
    }
    for (const item of path) state.set(item.wbsId, "done");
  }
}

// ---------------------------------------------------------------------------------------------

/**
 * Parses an uploaded WBS file into flat items. Never throws for bad input: every problem found
 * (up to WBS_MAX_PROBLEMS) comes back with its row and field. On success, ids are unique and every
 * parentId and dependsOn id names an item of the file; dependency cycles are not checked here.
 */
export async function parseWbs(input: WbsInput): Promise<WbsParseResult> {
  const problems = new Problems();
  const { bytes } = input;
  if (bytes.length === 0) {
    problems.add(null, null, msg("wbs.fileEmpty"));
    return fail(problems);
  }
  const detected = detectWbsFormat(input);
  if ("problem" in detected) {
    problems.add(null, null, detected.problem);
    return fail(problems);
  }

  let format = detected.format;
  let reading: Reading | undefined;
  if (format === "xlsx") {
    if (!startsWith(bytes, ZIP)) {
      problems.add(null, null, msg("wbs.notXlsx"));
      return fail(problems);
    }
    // What the workbook unpacks to is bounded before the spreadsheet reader, which unpacks every part whole, sees it.
    const archive = await checkXlsxArchive(bytes);
    if (!archive.ok) {
      problems.add(null, null, archive.tooLarge ? archive.text : msg("wbs.unreadableXlsx"));
      return archive.tooLarge ? { ok: false, problems: problems.report(), tooLarge: archive.text } : fail(problems);
    }
    const rows = await readXlsxRows(bytes, problems);
    reading = rows && tableToItems(rows, problems, false);
  } else {
    const decoded = decodeWbsText(bytes);
    if (decoded === undefined) {
      problems.add(null, null, msg(format === "json" || format === "yaml" ? "wbs.encoding" : "wbs.encodingCsv"));
      return fail(problems);
    }
    if (decoded.trim() === "") {
      problems.add(null, null, msg("wbs.fileEmpty"));
      return fail(problems);
    }
    format ??= sniffTextFormat(decoded);
    if (format === "csv") {
      const rows = readCsvRows(decoded, problems);
      reading = rows && tableToItems(rows, problems, true);
    } else if (format === "json") reading = readJson(decoded, problems);
    else reading = readYaml(decoded, problems);
  }

  if (!reading) return fail(problems);
  const items = validate(reading, problems);
  if (problems.count > 0) return fail(problems);
  return { ok: true, format, items, ignoredColumns: reading.ignored };
}
