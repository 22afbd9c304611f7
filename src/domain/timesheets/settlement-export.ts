// A month's settlement as a file for billing, as CSV for Excel or as an xlsx workbook: for 準委任 one row per
// engineer (hours, band, amounts, adjustments) with the rounding rules written out in Japanese, then the 請負 task
// lines (per keyer and batch, accepted items × unit price).
import type { ContractTable } from "../../db/schema.ts";
import { toCsv } from "../../kernel/csv.ts";
import { oneSheetXlsx } from "../../kernel/xlsx.ts";
import type { MonthSettlement, TaskLines } from "./settlements.service.ts";

export const SETTLEMENT_HEADERS = [
  "氏名",
  "対象月",
  "承認済み時間（時間・10進）",
  "未承認時間（時間・10進）",
  "精算幅下限（時間）",
  "精算幅上限（時間）",
  "月額（円）",
  "区分",
  "超過・不足時間",
  "超過・控除単価（円/時間）",
  "基本額（円）",
  "調整額（円）",
  "調整内容",
  "支払額（円）",
] as const;

/** The task lines' columns, beneath their heading TASK_HEADING. */
export const TASK_HEADERS = ["氏名", "対象月", "入力作業", "検収件数", "単価（円）", "金額（円）"] as const;
export const TASK_HEADING = "請負（入力作業）: 検収件数 × 単価";

const basisWords = { under: "下限未満（控除）", within: "精算幅内", over: "上限超過（加算）" } as const;

/** A contract's hours rounding rule in Japanese: `15min-nearest` → 15 分単位で四捨五入. */
export function roundingWords(rule: string | null | undefined): string {
  const m = /^(\d+)min-(nearest|up|down)$/.exec(rule ?? "none");
  if (!m) return "丸めなし（申告どおりの分数）";
  const how = { nearest: "四捨五入", up: "切り上げ", down: "切り捨て" }[m[2] as "nearest" | "up" | "down"];
  return `${m[1]} 分単位で${how}`;
}

/** The rounding rules an export states, one a line. */
export function roundingNotes(c: Pick<ContractTable, "hours_rounding">): string[] {
  return [
    `作業時間の端数処理: 各申告（1 日分）を${roundingWords(c.hours_rounding)}し、承認済みの週の合計を時間（10 進、小数第 2 位まで）で示します。`,
    "金額の端数処理: 超過・控除額は 1 円未満を四捨五入します。控除後の額が 0 円を下回ることはありません。",
    "承認済み時間のみを精算の対象とし、未承認時間は参考として示します。金額は消費税別です。",
  ];
}

const round2 = (h: number) => Math.round(h * 100) / 100;

/** One row per engineer, in SETTLEMENT_HEADERS' order. */
export function settlementRows(c: ContractTable, s: MonthSettlement): (string | number)[][] {
  const min = Number(c.band_min_hours);
  const max = Number(c.band_max_hours);
  return s.items.map((i) => {
    const outside = i.basis === "over" ? i.approvedHours - max : i.basis === "under" ? min - i.approvedHours : 0;
    const rate = i.basis === "over" ? Number(c.over_rate_yen) : i.basis === "under" ? Number(c.under_rate_yen) : 0;
    const adjusted = i.adjustments.reduce((sum, a) => sum + a.amountYen, 0);
    return [
      i.engineerName,
      s.month,
      round2(i.approvedHours),
      round2(i.pendingHours),
      min,
      max,
      Number(c.monthly_fee_yen),
      basisWords[i.basis],
      round2(outside),
      rate,
      i.baseAmountYen,
      adjusted,
      // The reason first: a cell starting with "+" or "-" would be read by Excel as a formula.
      i.adjustments.map((a) => `${a.reason}（${a.amountYen >= 0 ? "+" : ""}${a.amountYen}円）`).join(" / "),
      i.amountYen,
    ];
  });
}

/** The task lines in TASK_HEADERS' order, then their total. */
export function taskRows(tasks: TaskLines): (string | number)[][] {
  return [
    ...tasks.items.map((i) => [i.engineerName, tasks.month, i.title, i.acceptedItems, i.unitPriceYen, i.amountYen]),
    ["合計", tasks.month, "", tasks.items.reduce((sum, i) => sum + i.acceptedItems, 0), "", tasks.amountYen],
  ];
}

const TASK_NOTE =
  "検収件数: 当月に検収された（2 人の入力が一致した、または判定された）項目のうち、採用された値がその人の入力と同じもの。金額は消費税別です。";

/** The parts of a month's file: the 準委任 settlement (when the contract has a band), the task lines (when any). */
function sections(c: ContractTable, s: MonthSettlement | null, tasks: TaskLines): (string | number)[][][] {
  const out: (string | number)[][][] = [];
  if (s)
    out.push(
      [[...SETTLEMENT_HEADERS], ...settlementRows(c, s)],
      roundingNotes(c).map((n) => [n]),
    );
  if (!s || tasks.items.length) out.push([[TASK_HEADING], [...TASK_HEADERS], ...taskRows(tasks)], [[TASK_NOTE]]);
  return out;
}

/**
 * The settlement as CSV (UTF-8 with a BOM, CRLF): the 準委任 table and its rounding rules, then the task lines and
 * how they are counted, each part after a blank line.
 */
export function settlementCsv(c: ContractTable, s: MonthSettlement | null, tasks: TaskLines): string {
  return toCsv(sections(c, s, tasks).flatMap((part, i) => (i === 0 ? part : [[], ...part])));
}

/** The settlement as an xlsx workbook: on 精算 the contract and month, then the same parts as the CSV. */
export function settlementXlsx(c: ContractTable, s: MonthSettlement | null, tasks: TaskLines): Promise<Buffer> {
  return oneSheetXlsx("精算", (sheet) => {
    sheet.addRow([
      `${c.title}（${c.client}）`,
      `${tasks.month} 分`,
      (s?.closed ?? tasks.closed) ? "締め済み" : "締め前（暫定）",
    ]);
    const bold = new Set<string>([SETTLEMENT_HEADERS[0], TASK_HEADERS[0], TASK_HEADING]);
    sections(c, s, tasks).forEach((part, i) => {
      if (i > 0) sheet.addRow([]);
      for (const cells of part) {
        const row = sheet.addRow(cells);
        if (bold.has(String(cells[0])) && typeof cells[1] !== "number") row.font = { bold: true };
        if (cells.length === TASK_HEADERS.length && typeof cells[5] === "number") {
          for (const n of [5, 6]) row.getCell(n).numFmt = "#,##0";
        }
      }
    });
    sheet.columns.forEach((col, i) => {
      col.width = i === 12 ? 40 : 16;
    });
    if (s) for (const col of [7, 10, 11, 12, 14]) sheet.getColumn(col).numFmt = "#,##0";
  });
}
