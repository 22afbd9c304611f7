// Per-person figures of a task batch — items done, agreement with the accepted values, median time per item — on
// a page for the keyer (their own line) and the contract's leads (every line). They are for the quality of the
// entries only, and the page says that they are never a control of anyone's working time.
import { Hono } from "hono";
import { DataTable, Layout } from "../layout.tsx";
import { render, requireRole, type WebDeps, type WebEnv } from "../web-env.ts";

export function taskStatsPages(deps: WebDeps) {
  return new Hono<WebEnv>().get("/task-stats/:id", async (c) => {
    const user = requireRole(c, "engineer", "lead");
    const t = c.get("t");
    const figures = await deps.taskEntries.stats(user, c.req.param("id"));
    const percent = (rate: number | null) => (rate == null ? "—" : `${Math.round(rate * 1000) / 10}%`);
    return render(
      c,
      <Layout c={c} title={t("taskStats.title")}>
        <p class="hint" id="quality-only">
          {t("taskStats.qualityOnly")}
        </p>
        <DataTable
          id="figures"
          empty={t("taskStats.none")}
          count={figures.length}
          cols={[
            t("taskStats.person"),
            { label: t("taskStats.done"), num: true },
            { label: t("taskStats.settled"), num: true },
            { label: t("taskStats.agreement"), num: true },
            { label: t("taskStats.seconds"), num: true },
          ]}
        >
          {figures.map((f) => (
            <tr>
              <td>{f.name}</td>
              <td class="num">{f.itemsDone}</td>
              <td class="num">{f.settled}</td>
              <td class="num">{percent(f.agreementRate)}</td>
              <td class="num">{f.medianSecondsPerItem ?? "—"}</td>
            </tr>
          ))}
        </DataTable>
        <p>
          <a href={user.role === "lead" ? "/task-disputes" : "/tasks"}>
            {user.role === "lead" ? t("disputes.back") : t("tasks.back")}
          </a>
        </p>
      </Layout>,
    );
  });
}
