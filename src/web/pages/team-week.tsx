// The week view on a contract's plan: when the engineers holding its packages usually work, as they stated it,
// on the lead's calendar (Monday–Sunday × hours), with days away marked. Information for planning, not a control.
import type { TeamWeek } from "../../domain/availability/availability.service.ts";
import { weekdays } from "../../domain/availability/availability.service.ts";
import type { WebContext } from "../web-env.ts";

const HOURS = Array.from({ length: 24 }, (_, h) => h);
const clock = (minutes: number) =>
  `${String(Math.floor(minutes / 60)).padStart(2, "0")}:${String(minutes % 60).padStart(2, "0")}`;

/** The share of hour `h` a day's windows cover, 0..1. */
function coverOf(windows: readonly { start: number; end: number }[], h: number): number {
  let minutes = 0;
  for (const w of windows) minutes += Math.max(0, Math.min(w.end, (h + 1) * 60) - Math.max(w.start, h * 60));
  return minutes / 60;
}

/** The week view section, with its zone and week chooser. */
export function TeamWeekView({ c, week, planHref }: { c: WebContext; week: TeamWeek; planHref: string }) {
  const t = c.get("t");
  return (
    <section aria-labelledby="team-week" id="team-week-section">
      <h2 id="team-week">{t("teamWeek.title")}</h2>
      <p class="hint">{t("teamWeek.hint")}</p>
      <form method="get" action={planHref} class="row">
        <label>
          {t("teamWeek.zone")}
          <input name="tz" value={week.timeZone} maxlength={64} />
        </label>
        <label>
          {t("teamWeek.week")}
          <input type="date" name="week" value={week.week} />
        </label>
        <button type="submit" class="secondary">
          {t("teamWeek.show")}
        </button>
      </form>
      <p>{t("teamWeek.shownIn", { zone: week.timeZone, week: week.week })}</p>
      {week.engineers.length === 0 ? <p>{t("teamWeek.none")}</p> : null}
      {week.engineers.map((e) => (
        <figure class="team-week" data-engineer={e.engineerId}>
          <figcaption>
            <strong>{e.name}</strong> {t("teamWeek.holds", { packages: e.packages.join(", ") })}{" "}
            <span class="hint">{t("teamWeek.statedIn", { zone: e.timeZone })}</span>
            {e.stated ? null : <span class="badge">{t("teamWeek.notStated")}</span>}
          </figcaption>
          <table class="week-grid">
            <thead>
              <tr>
                <th scope="col">{t("teamWeek.day")}</th>
                {HOURS.map((h) => (
                  <th scope="col" class="hour">
                    {h}
                  </th>
                ))}
                <th scope="col">{t("teamWeek.windows")}</th>
              </tr>
            </thead>
            <tbody>
              {e.days.map((d, i) => (
                <tr class={d.away ? "away" : undefined} data-date={d.date}>
                  <th scope="row">
                    {t(`availability.day.${weekdays[i] ?? "mon"}`)} {d.date.slice(5)}
                  </th>
                  {HOURS.map((h) => {
                    const cover = coverOf(d.windows, h);
                    return <td class={cover >= 1 ? "on" : cover > 0 ? "part" : undefined} />;
                  })}
                  <td>
                    {d.away ? <span class="badge bad">{t("teamWeek.away")}</span> : null}{" "}
                    {d.windows.map((w) => `${clock(w.start)}–${clock(w.end)}`).join(", ")}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </figure>
      ))}
    </section>
  );
}
