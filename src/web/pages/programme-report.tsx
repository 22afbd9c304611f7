// An office's programme report as a page: a month's figures by tenant, bar charts drawn as SVG on the server,
// and the same table as CSV or xlsx. Counts and sums only, for the office's operators and office admins.
import { Hono } from "hono";
import type { ProgrammeReport } from "../../domain/offices/programme-report.ts";
import { tokyoDay } from "../../domain/timesheets/time.ts";
import { DataTable, Layout } from "../layout.tsx";
import { render, requireRole, type WebContext, type WebDeps, type WebEnv } from "../web-env.ts";

const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;

const BAR_HEIGHT = 22;
const GAP = 10;
const LABEL_WIDTH = 320;
/** Characters of a tenant's name a bar's label shows (about LABEL_WIDTH at 13 px); the table has it whole. */
const LABEL_CHARS = 22;
const BAR_WIDTH = 360;
const VALUE_WIDTH = 120;

/** A horizontal bar chart, one bar per tenant, each labelled with its name and its figure. */
function BarChart({
  id,
  title,
  bars,
  format,
}: {
  id: string;
  title: string;
  bars: { label: string; value: number }[];
  format: (n: number) => string;
}) {
  const max = Math.max(...bars.map((b) => b.value), 0);
  const height = bars.length * (BAR_HEIGHT + GAP) + GAP;
  const width = LABEL_WIDTH + BAR_WIDTH + VALUE_WIDTH;
  return (
    <figure class="chart">
      <svg
        id={id}
        xmlns="http://www.w3.org/2000/svg"
        viewBox={`0 0 ${width} ${height}`}
        width={width}
        height={height}
        role="img"
        aria-labelledby={`${id}-title`}
      >
        <title id={`${id}-title`}>{title}</title>
        {bars.map((b, i) => {
          const y = GAP + i * (BAR_HEIGHT + GAP);
          const w = max > 0 ? Math.round((b.value / max) * BAR_WIDTH) : 0;
          return (
            <g>
              <text x={LABEL_WIDTH - 8} y={y + BAR_HEIGHT * 0.7} text-anchor="end" font-size="13" fill="currentColor">
                {b.label.length > LABEL_CHARS ? `${b.label.slice(0, LABEL_CHARS - 1)}…` : b.label}
              </text>
              <rect x={LABEL_WIDTH} y={y} width={w} height={BAR_HEIGHT} fill="#2f6f9f" data-value={String(b.value)} />
              <text x={LABEL_WIDTH + w + 6} y={y + BAR_HEIGHT * 0.7} font-size="13" fill="currentColor">
                {format(b.value)}
              </text>
            </g>
          );
        })}
      </svg>
      <figcaption>{title}</figcaption>
    </figure>
  );
}

function ReportPage({ c, report }: { c: WebContext; report: ProgrammeReport }) {
  const t = c.get("t");
  const yen = (n: number) => t("programme.yenValue", { yen: n.toLocaleString("ja-JP") });
  const hours = (n: number) => t("common.hours", { hours: String(n) });
  const base = `/api/v1/offices/${report.officeId}`;
  const row = (
    name: string,
    f: Pick<
      ProgrammeReport["totals"],
      "engineersActive" | "packagesDelivered" | "packagesAccepted" | "hoursApproved" | "yenPaid"
    >,
  ) => (
    <>
      <th scope="row">{name}</th>
      <td class="num">{f.engineersActive}</td>
      <td class="num">{f.packagesDelivered}</td>
      <td class="num">{f.packagesAccepted}</td>
      <td class="num">{hours(f.hoursApproved)}</td>
      <td class="num">{yen(f.yenPaid)}</td>
    </>
  );
  return (
    <Layout c={c} title={t("programme.title", { office: report.officeName })}>
      <form method="get" action={`/offices/${report.officeId}/report`} class="row">
        <label>
          {t("programme.month")}
          <input type="month" name="month" value={report.month} required />
        </label>
        <button type="submit">{t("programme.show")}</button>
      </form>
      <p id="programme-engineers">
        {t("programme.engineers", { n: report.engineers, new: report.newEngineers, month: report.month })}
      </p>
      <p class="hint">{t("programme.hint")}</p>
      <p class="hint" id="programme-membership-rule">
        {t("programme.membershipRule")}
      </p>
      <DataTable
        id="programme"
        empty={t("programme.empty")}
        count={report.tenants.length}
        cols={[
          t("programme.tenant"),
          { label: t("programme.active"), num: true },
          { label: t("programme.delivered"), num: true },
          { label: t("programme.accepted"), num: true },
          { label: t("programme.hours"), num: true },
          { label: t("programme.yen"), num: true },
        ]}
      >
        {report.tenants.map((r) => (
          <tr>{row(r.tenant, r)}</tr>
        ))}
        {report.tenants.length ? <tr class="total">{row(t("programme.total"), report.totals)}</tr> : null}
      </DataTable>
      {report.tenants.length ? (
        <section aria-labelledby="programme-charts">
          <h2 id="programme-charts">{t("programme.charts")}</h2>
          <BarChart
            id="chart-hours"
            title={t("programme.chartHours")}
            bars={report.tenants.map((r) => ({ label: r.tenant, value: r.hoursApproved }))}
            format={hours}
          />
          <BarChart
            id="chart-yen"
            title={t("programme.chartYen")}
            bars={report.tenants.map((r) => ({ label: r.tenant, value: r.yenPaid }))}
            format={yen}
          />
        </section>
      ) : null}
      <p>
        <a href={`${base}/report.csv?month=${report.month}`} download>
          {t("programme.csv")}
        </a>
        {" · "}
        <a href={`${base}/report.xlsx?month=${report.month}`} download>
          {t("programme.xlsx")}
        </a>
      </p>
    </Layout>
  );
}

/** The report page of an office: `?month=YYYY-MM`, this Tokyo month when absent or malformed. */
export function programmeReportPages(deps: WebDeps) {
  return new Hono<WebEnv>().get("/offices/:id/report", async (c) => {
    const user = requireRole(c, "operator");
    const asked = c.req.query("month") ?? "";
    const month = MONTH.test(asked) ? asked : tokyoDay(Date.now()).slice(0, 7);
    const report = await deps.programme.report(user, c.req.param("id"), month);
    return render(c, <ReportPage c={c} report={report} />);
  });
}
