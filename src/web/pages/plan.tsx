// The contract's plan as a 線表 (Gantt chart) for its contractors and leads: the chart inside the page, zoomed by
// week or month, and the same SVG as a file; the page turns it into a PNG in the browser.
import { readFileSync } from "node:fs";
import { Hono } from "hono";
import { raw } from "hono/html";
import { HOURS_PER_DAY, timelineOf, tokyoToday } from "../../domain/packages/timeline.ts";
import { invalidField } from "../../kernel/errors.ts";
import { text } from "../../kernel/messages.ts";
import { type GanttScale, ganttScales, ganttSvg } from "../gantt.ts";
import { Layout } from "../layout.tsx";
import { render, requireRole, type WebContext, type WebDeps, type WebEnv } from "../web-env.ts";
import { TeamWeekView } from "./team-week.tsx";

const script = readFileSync(new URL("../assets/gantt.js", import.meta.url), "utf8");

/** The chart's scale from `?scale=`: week unless it says month; anything else is refused by name. */
function scaleOf(c: WebContext): GanttScale {
  const given = c.req.query("scale");
  if (given === undefined || given === "") return "week";
  if ((ganttScales as readonly string[]).includes(given)) return given as GanttScale;
  throw invalidField("scale", text("issue.oneOf", { values: ganttScales.join(", ") }));
}

/** The file name of a downloaded chart: the contract's title and the day it was drawn. */
const fileName = (title: string, today: string, ext: string) =>
  `${title.replace(/[\\/:*?"<>|\s]+/g, "_")}_線表_${today}.${ext}`;

/** The plan's pages: the chart page and its SVG file. */
export function planPages(deps: WebDeps) {
  const chart = async (c: WebContext, id: string) => {
    const user = requireRole(c, "contractor", "lead");
    const scale = scaleOf(c);
    const contract = await deps.contracts.get(user, id);
    const [packages, plan, actuals] = await Promise.all([
      deps.packages.listByContract(user, id),
      deps.packages.plan(user, id),
      deps.packages.actuals(user, id),
    ]);
    const today = tokyoToday();
    const bars = timelineOf({ periodStart: contract.periodStart, packages, plan, actuals });
    const t = c.get("t");
    const svg = ganttSvg({
      bars,
      today,
      scale,
      periodStart: contract.periodStart,
      title: t("gantt.title", { title: contract.title }),
      t,
    });
    return { contract, scale, svg, today, count: bars.length };
  };

  return new Hono<WebEnv>()
    .get("/assets/gantt.js", (c) =>
      c.body(script, 200, {
        "content-type": "text/javascript; charset=utf-8",
        "cache-control": "public, max-age=3600",
      }),
    )
    .get("/contracts/:id/plan.svg", async (c) => {
      const { contract, svg, today } = await chart(c, c.req.param("id"));
      const name = encodeURIComponent(fileName(contract.title, today, "svg"));
      return c.body(`<?xml version="1.0" encoding="UTF-8"?>\n${svg}\n`, 200, {
        "content-type": "image/svg+xml; charset=utf-8",
        "content-disposition": `attachment; filename="plan.svg"; filename*=UTF-8''${name}`,
      });
    })
    .get("/contracts/:id/plan", async (c) => {
      const id = c.req.param("id");
      const { contract, scale, svg, today, count } = await chart(c, id);
      const t = c.get("t");
      // Leads also see when the engineers holding the contract's packages usually work.
      const user = requireRole(c, "contractor", "lead");
      const week =
        user.role === "lead"
          ? await deps.availability.teamWeek(user, id, {
              ...(c.req.query("tz") ? { timeZone: c.req.query("tz") } : {}),
              ...(c.req.query("week") ? { week: c.req.query("week") } : {}),
            })
          : null;
      const svgHref = `/contracts/${id}/plan.svg?scale=${scale}`;
      return render(
        c,
        <Layout c={c} title={t("gantt.title", { title: contract.title })} scripts={["/assets/gantt.js"]}>
          <p>
            <a href={`/contracts/${id}`}>{t("gantt.back")}</a>
          </p>
          <nav class="row" aria-label={t("gantt.zoom")}>
            {ganttScales.map((s) => (
              <a
                class={s === scale ? "button" : "button secondary"}
                href={`/contracts/${id}/plan?scale=${s}`}
                aria-current={s === scale ? "page" : undefined}
              >
                {t(`gantt.scale.${s}`)}
              </a>
            ))}
            <a class="button secondary" href={svgHref} download>
              {t("gantt.downloadSvg")}
            </a>
            <button
              type="button"
              class="secondary"
              id="gantt-png"
              data-svg={svgHref}
              data-name={fileName(contract.title, today, "png")}
              hidden
            >
              {t("gantt.downloadPng")}
            </button>
          </nav>
          <p class="hint">{t("gantt.hint", { hours: HOURS_PER_DAY, count })}</p>
          {count === 0 ? (
            <p>{t("contract.noPackages")}</p>
          ) : (
            <section class="gantt" id="gantt" tabindex={0} aria-label={t("gantt.chart")}>
              {raw(svg)}
            </section>
          )}
          {week ? <TeamWeekView c={c} week={week} planHref={`/contracts/${id}/plan`} /> : null}
        </Layout>,
      );
    });
}
