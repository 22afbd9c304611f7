// Engineers: their own statement of when they usually work (weekly windows) and of days away. It is for
// planning only; the page says so, because nothing in Azusa refuses work outside these hours.
import { Hono } from "hono";
import { type Availability, type AvailabilityInput, weekdays } from "../../domain/availability/availability.service.ts";
import { AppError, invalidField } from "../../kernel/errors.ts";
import { text } from "../../kernel/messages.ts";
import { formatDateTime, hm } from "../i18n/i18n.ts";
import { CsrfField, FieldErrors, Layout, Notice } from "../layout.tsx";
import { formText, problemsOf, render, requireRole, type WebContext, type WebDeps, type WebEnv } from "../web-env.ts";

type Fields = { path: string; message: string }[];

/** Blank rows the form offers for new windows and new exceptions. */
const BLANK_ROWS = 3;
/** More rows than the service takes of either kind is not a form this page sent. */
const MAX_ROWS = 200;

/** A repeated form field as a list of trimmed texts (a single value comes as a string). */
function listOf(form: Record<string, unknown>, name: string): string[] {
  const v = form[name];
  const values = Array.isArray(v) ? v : v === undefined ? [] : [v];
  if (values.length > MAX_ROWS) throw invalidField(name, text("availability.manyRows", { n: MAX_ROWS }));
  return values.map((x) => formText({ [name]: x }, name, 200));
}

/** What the form states; rows left blank are dropped, so clearing a row removes it. */
function inputFromForm(form: Record<string, unknown>): AvailabilityInput {
  const days = listOf(form, "windowDay");
  const starts = listOf(form, "windowStart");
  const ends = listOf(form, "windowEnd");
  const froms = listOf(form, "exceptionFrom");
  const tos = listOf(form, "exceptionTo");
  const notes = listOf(form, "exceptionNote");
  // Left empty: any size. A value that is not a number is refused by the service, naming the field.
  const largest = form.largestPackageHours === undefined ? undefined : formText(form, "largestPackageHours", 20);
  return {
    timeZone: formText(form, "timeZone", 64),
    ...(largest === undefined ? {} : { largestPackageHours: largest === "" ? null : Number(largest) }),
    windows: days
      .map((day, i) => ({
        day: day as AvailabilityInput["windows"][number]["day"],
        start: starts[i] ?? "",
        end: ends[i] ?? "",
      }))
      .filter((w) => w.start !== "" || w.end !== ""),
    exceptions: froms
      .map((from, i) => ({ from, to: tos[i] || from, note: notes[i] ?? "" }))
      .filter((e) => e.from !== ""),
  };
}

function AvailabilityPage({
  c,
  availability,
  saved,
  fields,
}: {
  c: WebContext;
  availability: Availability;
  saved?: boolean;
  fields?: Fields;
}) {
  const t = c.get("t");
  const blank = Array.from({ length: BLANK_ROWS }, () => null);
  const windows = [...availability.windows, ...blank.map(() => ({ day: "mon" as const, start: "", end: "" }))];
  const exceptions = [...availability.exceptions, ...blank.map(() => ({ from: "", to: "", note: "" }))];
  return (
    <Layout c={c} title={t("availability.title")}>
      <p class="hint">{t("availability.hint")}</p>
      {saved ? (
        <Notice kind="ok">
          <p>{t("availability.saved")}</p>
        </Notice>
      ) : null}
      {fields ? <FieldErrors c={c} fields={fields} /> : null}
      <p id="weekly-hours">
        {t("availability.weeklyHours", { hours: hm(availability.weeklyHours) })}
        {availability.updatedAt
          ? ` — ${t("availability.updatedAt", { at: formatDateTime(c.get("lang"), availability.updatedAt) })}`
          : null}
      </p>
      <form method="post" action="/my-availability" class="card">
        <CsrfField c={c} />
        <label>
          {t("availability.timeZone")}
          <input name="timeZone" required maxlength={64} value={availability.timeZone} />
        </label>
        <h2 id="windows">{t("availability.windows")}</h2>
        <table aria-labelledby="windows">
          <thead>
            <tr>
              <th scope="col">{t("availability.day")}</th>
              <th scope="col">{t("availability.start")}</th>
              <th scope="col">{t("availability.end")}</th>
            </tr>
          </thead>
          <tbody>
            {windows.map((w) => (
              <tr>
                <td>
                  <select name="windowDay" aria-label={t("availability.day")}>
                    {weekdays.map((d) => (
                      <option value={d} selected={d === w.day}>
                        {t(`availability.day.${d}`)}
                      </option>
                    ))}
                  </select>
                </td>
                <td>
                  <input name="windowStart" value={w.start} placeholder="10:00" aria-label={t("availability.start")} />
                </td>
                <td>
                  <input name="windowEnd" value={w.end} placeholder="15:00" aria-label={t("availability.end")} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <h2 id="exceptions">{t("availability.exceptions")}</h2>
        <table aria-labelledby="exceptions">
          <thead>
            <tr>
              <th scope="col">{t("availability.from")}</th>
              <th scope="col">{t("availability.to")}</th>
              <th scope="col">{t("availability.note")}</th>
            </tr>
          </thead>
          <tbody>
            {exceptions.map((e) => (
              <tr>
                <td>
                  <input type="date" name="exceptionFrom" value={e.from} aria-label={t("availability.from")} />
                </td>
                <td>
                  <input type="date" name="exceptionTo" value={e.to} aria-label={t("availability.to")} />
                </td>
                <td>
                  <input name="exceptionNote" maxlength={200} value={e.note} aria-label={t("availability.note")} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <h2 id="largest-package">{t("availability.largestPackage")}</h2>
        <p class="hint">{t("availability.largestPackageHint")}</p>
        <label>
          {t("availability.largestPackageHours")}
          <input
            name="largestPackageHours"
            inputmode="decimal"
            maxlength={20}
            value={availability.largestPackageHours === null ? "" : String(availability.largestPackageHours)}
            aria-describedby="largest-package"
          />
        </label>
        <button type="submit">{t("availability.save")}</button>
      </form>
    </Layout>
  );
}

/** The engineer's availability page. */
export function availabilityPages(deps: WebDeps) {
  const page = async (c: WebContext, extra: { saved?: boolean; fields?: Fields } = {}) => {
    const user = requireRole(c, "engineer");
    const availability = await deps.availability.get(user, user.userId);
    return <AvailabilityPage c={c} availability={availability} {...extra} />;
  };
  return new Hono<WebEnv>()
    .get("/my-availability", async (c) => render(c, await page(c, { saved: c.req.query("saved") === "1" })))
    .post("/my-availability", async (c) => {
      const user = requireRole(c, "engineer");
      try {
        await deps.availability.put(user, user.userId, inputFromForm(await c.req.parseBody({ all: true })));
        return c.redirect("/my-availability?saved=1", 303);
      } catch (err) {
        if (!(err instanceof AppError) || err.code !== "VALIDATION") throw err;
        const fields = problemsOf(c, err, "body");
        return render(c, await page(c, { fields }), 400);
      }
    });
}
