// The 線表 (Gantt chart) of a contract's plan as one SVG document, drawn on the server: the same text is shown
// inside the page and downloaded for a report. Colours are presentation attributes, never `style`, so the
// page's Content-Security-Policy holds and the file looks the same on its own.
import type { TimelineBar } from "../domain/packages/timeline.ts";
import { nextDay } from "../domain/packages/timeline.ts";
import { compareWbs } from "../domain/packages/wbs-order.ts";
import type { Translate } from "./i18n/i18n.ts";

export const ganttScales = ["week", "month"] as const;
export type GanttScale = (typeof ganttScales)[number];

/** Pixels per day: a week scale shows single days; a month scale fits a year in about 1,500 px. */
const DAY_WIDTH: Record<GanttScale, number> = { week: 18, month: 4 };
const LABEL_WIDTH = 320;
const ROW = 22;
const BAR = 14;
const HEADER = 46;
const LEGEND = 34;

/** The fill of a bar by the package's state (the same hues as the state badges). */
export const stateColours: Record<TimelineBar["state"], string> = {
  draft: "#b8c0cc",
  open: "#8fb3de",
  offered: "#7fa7d9",
  assigned: "#5b8fd0",
  in_progress: "#2f6fbf",
  in_review: "#8a63c9",
  changes_requested: "#d98a2b",
  delivered: "#3c9f8a",
  accepted: "#2e8b57",
  cancelled: "#999999",
};
const CRITICAL = "#c0392b";
const TODAY = "#d6336c";

const xml = (s: string): string =>
  s.replace(/[&<>"']/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch] ?? ch);

const daysBetween = (from: string, to: string): number =>
  Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);
const mondayOnOrBefore = (day: string): string => {
  const wd = new Date(`${day}T00:00:00Z`).getUTCDay();
  return nextDay(day, -((wd + 6) % 7));
};
/** Cuts a label to what fits its column (about one full-width character per 12 px). */
const clip = (s: string, max: number): string => (s.length > max ? `${s.slice(0, max - 1)}…` : s);

/** One row of the chart: a WBS parent's heading or a package's bar. */
type Row = { kind: "group"; parent: string } | { kind: "bar"; bar: TimelineBar };

/** The rows in WBS order, each parent's packages under its heading (packages without a parent first). */
export function ganttRows(bars: readonly TimelineBar[]): Row[] {
  const groups = new Map<string, TimelineBar[]>();
  for (const bar of bars) {
    const key = bar.parentWbsId ?? "";
    const list = groups.get(key);
    if (list) list.push(bar);
    else groups.set(key, [bar]);
  }
  const rows: Row[] = [];
  for (const parent of [...groups.keys()].sort(compareWbs)) {
    if (parent) rows.push({ kind: "group", parent });
    for (const bar of (groups.get(parent) ?? []).sort((a, b) => compareWbs(a.wbsId, b.wbsId))) {
      rows.push({ kind: "bar", bar });
    }
  }
  return rows;
}

/** The chart of `bars` as an SVG document; `today` (YYYY-MM-DD, Tokyo) is drawn as a line when in range. */
export function ganttSvg({
  bars,
  today,
  scale,
  periodStart,
  title,
  t,
}: {
  bars: readonly TimelineBar[];
  today: string;
  scale: GanttScale;
  periodStart: string;
  title: string;
  t: Translate;
}): string {
  const rows = ganttRows(bars);
  let first = periodStart;
  let last = today;
  for (const b of bars) {
    if (b.start < first) first = b.start;
    if (b.latestFinish > last) last = b.latestFinish;
    if (b.finish > last) last = b.finish;
  }
  const from = mondayOnOrBefore(first);
  const days = daysBetween(from, last) + 8;
  const dw = DAY_WIDTH[scale];
  const width = LABEL_WIDTH + days * dw + 16;
  const top = LEGEND + HEADER;
  const height = top + Math.max(rows.length, 1) * ROW + 8;
  const x = (day: string) => LABEL_WIDTH + daysBetween(from, day) * dw;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
      `font-family="'Noto Sans CJK JP','Hiragino Sans','Yu Gothic','IPAGothic',sans-serif" font-size="12" role="img" ` +
      `aria-labelledby="gantt-title" class="gantt-chart" data-scale="${scale}">`,
    `<title id="gantt-title">${xml(title)}</title>`,
    '<defs><marker id="gantt-arrow" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="6" markerHeight="6" orient="auto">' +
      '<path d="M0 0 8 4 0 8z" fill="#555"/></marker></defs>',
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
  );

  // Legend: what the marks mean, in the reader's language.
  const legend: [string, string][] = [
    [stateColours.in_progress, t("gantt.legend.bar")],
    ["#f2c9c4", t("gantt.legend.slack")],
  ];
  let lx = 8;
  for (const [fill, label] of legend) {
    out.push(`<rect x="${lx}" y="8" width="18" height="10" fill="${fill}"/>`);
    out.push(`<text x="${lx + 24}" y="17">${xml(label)}</text>`);
    lx += 40 + label.length * 12;
  }
  out.push(`<rect x="${lx}" y="8" width="18" height="10" fill="none" stroke="${CRITICAL}" stroke-width="2"/>`);
  out.push(`<text x="${lx + 24}" y="17">${xml(t("gantt.legend.critical"))}</text>`);
  lx += 40 + t("gantt.legend.critical").length * 12;
  out.push(`<line x1="${lx}" y1="13" x2="${lx + 18}" y2="13" stroke="#555" stroke-dasharray="4 3"/>`);
  out.push(`<text x="${lx + 24}" y="17">${xml(t("gantt.legend.forecast"))}</text>`);
  lx += 40 + t("gantt.legend.forecast").length * 12;
  out.push(`<line x1="${lx + 9}" y1="4" x2="${lx + 9}" y2="22" stroke="${TODAY}" stroke-width="2"/>`);
  out.push(`<text x="${lx + 24}" y="17">${xml(t("gantt.legend.today"))}</text>`);

  // Calendar: months on the first line, weeks (or days at the week scale) on the second; weekends shaded.
  out.push(`<g class="calendar" font-size="11" fill="#333">`);
  for (let i = 0; i < days; i++) {
    const day = nextDay(from, i);
    const dx = LABEL_WIDTH + i * dw;
    const wd = new Date(`${day}T00:00:00Z`).getUTCDay();
    if (scale === "week" && (wd === 0 || wd === 6)) {
      out.push(`<rect x="${dx}" y="${LEGEND + 24}" width="${dw}" height="${height - LEGEND - 24}" fill="#f1f3f6"/>`);
    }
    // The first day is labelled only when its month has room before the next one's label.
    const roomy = daysBetween(day, `${nextDay(day, 32).slice(0, 7)}-01`) * dw > 70;
    if (day.endsWith("-01") || (i === 0 && roomy)) {
      out.push(`<line x1="${dx}" y1="${LEGEND}" x2="${dx}" y2="${height}" stroke="#9aa5b4"/>`);
      out.push(
        `<text x="${dx + 3}" y="${LEGEND + 16}">${xml(t("gantt.month", { year: day.slice(0, 4), month: Number(day.slice(5, 7)) }))}</text>`,
      );
    }
    if (wd === 1) {
      out.push(`<line x1="${dx}" y1="${LEGEND + 24}" x2="${dx}" y2="${height}" stroke="#e1e5eb"/>`);
      if (scale === "month")
        out.push(`<text x="${dx + 2}" y="${LEGEND + 38}" font-size="9">${Number(day.slice(8))}</text>`);
    }
    if (scale === "week")
      out.push(
        `<text x="${dx + dw / 2}" y="${LEGEND + 38}" text-anchor="middle" font-size="9">${Number(day.slice(8))}</text>`,
      );
  }
  out.push("</g>");
  out.push(`<line x1="0" y1="${top}" x2="${width}" y2="${top}" stroke="#9aa5b4"/>`);
  out.push(`<line x1="${LABEL_WIDTH}" y1="${LEGEND}" x2="${LABEL_WIDTH}" y2="${height}" stroke="#9aa5b4"/>`);

  // Rows: headings for WBS parents, bars for packages; remember where each bar is for the arrows.
  const at = new Map<string, { x1: number; x2: number; y: number }>();
  rows.forEach((row, i) => {
    const y = top + i * ROW;
    if (row.kind === "group") {
      out.push(`<rect x="0" y="${y}" width="${width}" height="${ROW}" fill="#eef2f7"/>`);
      out.push(`<text x="8" y="${y + 15}" font-weight="bold">${xml(t("gantt.group", { wbsId: row.parent }))}</text>`);
      return;
    }
    const b = row.bar;
    const x1 = x(b.start);
    const x2 = x(nextDay(b.finish));
    const by = y + (ROW - BAR) / 2;
    at.set(b.id, { x1, x2, y: y + ROW / 2 });
    const label = `${b.wbsId} ${b.title}`;
    out.push(
      `<g class="gantt-bar" data-package="${xml(b.id)}" data-wbs="${xml(b.wbsId)}" data-state="${b.state}"${b.critical ? ' data-critical="true"' : ""}>`,
    );
    out.push(
      `<title>${xml(
        [
          label,
          t(`state.${b.state}`),
          b.engineerName ?? t("gantt.unassigned"),
          `${b.start} – ${b.finish}`,
          t(`gantt.basis.${b.basis}`),
          b.critical ? t("gantt.legend.critical") : t("gantt.slackDays", { days: (b.slackHours / 8).toFixed(1) }),
        ].join(" / "),
      )}</title>`,
    );
    out.push(
      `<text x="8" y="${y + 15}"${b.critical ? ` fill="${CRITICAL}" font-weight="bold"` : ""}>${xml(clip(label, 22))}</text>`,
    );
    if (b.engineerName) {
      out.push(
        `<text x="${LABEL_WIDTH - 6}" y="${y + 15}" text-anchor="end" fill="#555">${xml(clip(b.engineerName, 8))}</text>`,
      );
    }
    if (b.latestFinish > b.finish) {
      out.push(
        `<rect class="slack" x="${x2}" y="${by + BAR / 2 - 2}" width="${x(nextDay(b.latestFinish)) - x2}" height="4" fill="#f2c9c4"/>`,
      );
    }
    const dashed = b.basis === "forecast" ? ' stroke-dasharray="4 3"' : "";
    const stroke = b.critical ? `stroke="${CRITICAL}" stroke-width="2"` : 'stroke="#44546a" stroke-width="1"';
    out.push(
      `<rect x="${x1}" y="${by}" width="${Math.max(x2 - x1, 2)}" height="${BAR}" rx="2" fill="${stateColours[b.state]}" ${stroke}${dashed}/>`,
    );
    if (b.engineerName && x2 - x1 > 40) {
      out.push(
        `<text x="${x1 + 4}" y="${by + BAR - 3}" font-size="10" fill="#ffffff">${xml(clip(b.engineerName, Math.floor((x2 - x1 - 8) / 10)))}</text>`,
      );
    }
    out.push("</g>");
  });

  // Dependencies: from the end of what must finish to the start of what waits for it.
  out.push('<g class="dependencies" fill="none" stroke="#555" stroke-width="1">');
  for (const b of bars) {
    const to = at.get(b.id);
    if (!to) continue;
    for (const d of b.dependsOn) {
      const fromBar = at.get(d);
      if (!fromBar) continue;
      // Room before the bar: down its left side; none (it starts where the other ends): round between the rows.
      const route =
        to.x1 - fromBar.x2 >= 12
          ? `M${fromBar.x2} ${fromBar.y} H${to.x1 - 6} V${to.y} H${to.x1}`
          : `M${fromBar.x2} ${fromBar.y} h4 V${to.y - ROW / 2} H${to.x1 - 6} V${to.y} H${to.x1}`;
      out.push(`<path d="${route}" marker-end="url(#gantt-arrow)"/>`);
    }
  }
  out.push("</g>");

  if (today >= from && today <= nextDay(from, days)) {
    const tx = x(today);
    out.push(
      `<line class="today" x1="${tx}" y1="${LEGEND - 12}" x2="${tx}" y2="${height}" stroke="${TODAY}" stroke-width="2"/>`,
      `<text x="${tx + 3}" y="${LEGEND - 3}" font-size="10" fill="${TODAY}">${xml(t("gantt.legend.today"))}</text>`,
    );
  }
  out.push("</svg>");
  return out.join("\n");
}
