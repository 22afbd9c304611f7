// The contract page's progress as people report it: packages and hours by state, against what the plan
// says should be finished by today; a small SVG drawn on the server beside the figures.
import type { PackageState } from "../domain/packages/lifecycle.ts";
import { stateColours } from "./gantt.ts";
import type { Translate } from "./i18n/i18n.ts";

/** The states from done to not begun: the bar fills from the left with what is furthest along. */
const order: PackageState[] = [
  "accepted",
  "delivered",
  "in_review",
  "changes_requested",
  "in_progress",
  "assigned",
  "offered",
  "open",
  "draft",
];

const WIDTH = 360;
const LABEL = 48;
const ROW = 26;

/** Two stacked bars (packages, hours) by state with a line at the plan's figure for today. */
export function progressSvg({
  byState,
  planned,
  t,
}: {
  byState: ReadonlyMap<PackageState, { count: number; hours: number }>;
  planned: { count: number; hours: number };
  t: Translate;
}): string {
  const total = { count: 0, hours: 0 };
  for (const s of order) {
    total.count += byState.get(s)?.count ?? 0;
    total.hours += byState.get(s)?.hours ?? 0;
  }
  const span = WIDTH - LABEL - 8;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${ROW * 2 + 12}" viewBox="0 0 ${WIDTH} ${ROW * 2 + 12}" font-size="12" role="img" aria-label="${t("contract.progressChart")}" class="progress-svg">`,
  ];
  (["count", "hours"] as const).forEach((measure, i) => {
    const y = 6 + i * ROW;
    out.push(
      `<text x="0" y="${y + 15}">${t(measure === "count" ? "contract.measure.count" : "contract.measure.hours")}</text>`,
    );
    out.push(`<rect x="${LABEL}" y="${y + 2}" width="${span}" height="18" fill="#eef1f5"/>`);
    let x = LABEL;
    const whole = total[measure] || 1;
    for (const s of order) {
      const v = byState.get(s)?.[measure] ?? 0;
      if (v <= 0) continue;
      const w = (v / whole) * span;
      out.push(
        `<rect x="${x.toFixed(1)}" y="${y + 2}" width="${w.toFixed(1)}" height="18" fill="${stateColours[s]}" data-state="${s}" data-measure="${measure}"><title>${t(`state.${s}`)}</title></rect>`,
      );
      x += w;
    }
    const px = LABEL + (planned[measure] / whole) * span;
    out.push(
      `<line class="planned" data-measure="${measure}" x1="${px.toFixed(1)}" y1="${y}" x2="${px.toFixed(1)}" y2="${y + 22}" stroke="#d6336c" stroke-width="2"/>`,
    );
  });
  out.push("</svg>");
  return out.join("");
}
