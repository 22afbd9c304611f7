// Hours in the browser: the engineer records entries and submits the week, each entry with the session
// evidence beside it; the lead approves or rejects the submitted weeks of their contracts and reopens approved ones.
import { Hono } from "hono";
import type { WorkPackage } from "../../domain/packages/packages.service.ts";
import { addDays, isMonday, tokyoDay, weekOf } from "../../domain/timesheets/time.ts";
import type { NewTimeEntry, Timesheet } from "../../domain/timesheets/timesheets.service.ts";
import { AppError, invalidField } from "../../kernel/errors.ts";
import { text } from "../../kernel/messages.ts";
import { formatDateTime, hm } from "../i18n/i18n.ts";
import { CsrfField, FieldErrors, Layout, Notice, TableHead } from "../layout.tsx";
import {
  formText,
  heldPackages,
  orNull,
  problemsOf,
  render,
  requireRole,
  type WebContext,
  type WebDeps,
  type WebEnv,
  type WebUser,
} from "../web-env.ts";

const hours = (minutes: number) => hm(minutes / 60);
type Entry = Timesheet["entries"][number];

/** What the sessions say beside an entry: corroboration and the sessions themselves. */
function EvidenceCell({ c, entry }: { c: WebContext; entry: Entry }) {
  const t = c.get("t");
  const e = entry.evidence;
  if (e.corroboration === null) return <span class="hint">{t("hours.noTimes")}</span>;
  return (
    <>
      <span class={`badge ${e.corroboration >= 0.5 ? "good" : "bad"}`}>
        {t("hours.corroboration", { percent: Math.round(e.corroboration * 100) })}
      </span>{" "}
      <span class="hint">
        {t("hours.buckets", { active: e.activeBuckets, buckets: e.buckets })} ·{" "}
        {t("hours.sessions", { count: e.sessions.length })}
      </span>
      {e.sessions.length ? (
        <ul class="hint">
          {e.sessions.map((s) => (
            <li>
              {s.channel} {formatDateTime(c.get("lang"), s.startedAt)} – {formatDateTime(c.get("lang"), s.endedAt)}
            </li>
          ))}
        </ul>
      ) : null}
    </>
  );
}

/** A week's entries: when (as reported), figures, note, evidence; and a remove button where the engineer may. */
function EntryTable({
  c,
  sheet,
  packages,
  removable,
}: {
  c: WebContext;
  sheet: Timesheet;
  packages: Map<string, string>;
  removable: boolean;
}) {
  const t = c.get("t");
  const lang = c.get("lang");
  return sheet.entries.length === 0 ? (
    <p>{t("hours.noEntries")}</p>
  ) : (
    <table class="entries">
      <TableHead
        cols={[
          t("hours.when"),
          t("hours.package"),
          { label: t("hours.raw"), num: true },
          { label: t("hours.rounded"), num: true },
          t("hours.note"),
          t("hours.evidence"),
          removable ? t("mine.actions") : null,
        ]}
      />
      <tbody>
        {sheet.entries.map((e) => {
          const raw = e.days.reduce((s, d) => s + d.rawMinutes, 0);
          const rounded = e.days.reduce((s, d) => s + d.roundedMinutes, 0);
          return (
            <tr>
              <td>
                {e.start
                  ? `${formatDateTime(lang, e.start)} – ${formatDateTime(lang, e.end)}`
                  : t("hours.onDate", { date: e.date ?? "" })}
                {e.startGiven ? (
                  <div class="hint">
                    {t("hours.given", { start: e.startGiven, end: e.endGiven ?? "", zone: e.timeZone })}
                  </div>
                ) : null}
              </td>
              <td>{packages.get(e.packageId) ?? e.packageId}</td>
              <td class="num">{t("common.hours", { hours: hours(raw) })}</td>
              <td class="num">{t("common.hours", { hours: hours(rounded) })}</td>
              <td>{e.note}</td>
              <td>
                <EvidenceCell c={c} entry={e} />
              </td>
              {removable ? (
                <td>
                  <form method="post" action={`/time-entries/${e.id}/remove`}>
                    <CsrfField c={c} />
                    <input type="hidden" name="week" value={sheet.weekStart} />
                    <button type="submit" class="secondary" aria-label={`${t("hours.remove")}: ${e.note || e.id}`}>
                      {t("hours.remove")}
                    </button>
                  </form>
                </td>
              ) : null}
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

const sheetState = (c: WebContext, s: Timesheet) => (
  <span class={`badge sheet-${s.state}`}>{c.get("t")(`hours.state.${s.state}`)}</span>
);

function MyHours({
  c,
  week,
  sheets,
  packages,
  error,
}: {
  c: WebContext;
  week: string;
  sheets: Timesheet[];
  packages: WorkPackage[];
  error?: { path: string; message: string }[];
}) {
  const t = c.get("t");
  const names = new Map(packages.map((p) => [p.id, `${p.wbsId} ${p.title}`]));
  const notice = myNotices[c.req.query("notice") as keyof typeof myNotices];
  return (
    <Layout c={c} title={t("myHours.title", { week })}>
      {notice ? <Notice kind="ok">{t(notice)}</Notice> : null}
      {error ? <FieldErrors c={c} fields={error} /> : null}
      <p class="row">
        <a href={`/my-hours?week=${addDays(week, -7)}`}>{t("hours.previousWeek")}</a>{" "}
        <a href={`/my-hours?week=${addDays(week, 7)}`}>{t("hours.nextWeek")}</a>
      </p>
      <section aria-labelledby="record">
        <h2 id="record">{t("myHours.record")}</h2>
        <form method="post" action="/time-entries" class="stack">
          <CsrfField c={c} />
          <input type="hidden" name="week" value={week} />
          <label>
            {t("hours.package")}
            <select name="packageId" required>
              {packages.map((p) => (
                <option value={p.id}>
                  {p.wbsId} {p.title}
                </option>
              ))}
            </select>
          </label>
          <fieldset>
            <legend>{t("myHours.byTimes")}</legend>
            <label>
              {t("myHours.start")}
              <input type="datetime-local" name="start" />
            </label>
            <label>
              {t("myHours.end")}
              <input type="datetime-local" name="end" />
            </label>
            <label>
              {t("myHours.zone")}
              <input type="text" name="timeZone" maxlength={64} placeholder="Asia/Tokyo" />
            </label>
          </fieldset>
          <fieldset>
            <legend>{t("myHours.byDuration")}</legend>
            <label>
              {t("myHours.date")}
              <input type="date" name="date" />
            </label>
            <label>
              {t("myHours.minutes")}
              <input type="number" name="minutes" min={1} max={1440} />
            </label>
          </fieldset>
          <label>
            {t("hours.note")}
            <input type="text" name="note" maxlength={500} />
          </label>
          <button type="submit">{t("myHours.save")}</button>
        </form>
      </section>
      {sheets.length === 0 ? <p>{t("hours.noEntries")}</p> : null}
      {sheets.map((s) => (
        <section aria-labelledby={`sheet-${s.id}`} class="sheet">
          <h2 id={`sheet-${s.id}`}>
            {t("hours.sheetOf", { week: s.weekStart })} {sheetState(c, s)}
          </h2>
          <p>
            {t("hours.total", { raw: hours(s.rawMinutes), rounded: hours(s.roundedMinutes) })}
            {s.reason ? ` · ${t("hours.reason")}: ${s.reason}` : ""}
          </p>
          <EntryTable c={c} sheet={s} packages={names} removable={s.state === "draft" || s.state === "rejected"} />
          {s.state === "draft" || s.state === "rejected" ? (
            <form method="post" action={`/timesheets/${s.id}/submit`}>
              <CsrfField c={c} />
              <input type="hidden" name="week" value={week} />
              <button type="submit">{t("myHours.submit")}</button>
            </form>
          ) : null}
        </section>
      ))}
    </Layout>
  );
}

const myNotices = { recorded: "myHours.recorded", removed: "myHours.removed", submitted: "myHours.submitted" } as const;
const leadNotices = { approved: "hours.approved", rejected: "hours.rejected", reopened: "hours.reopened" } as const;

/** Rejecting and reopening a week both need a reason, given in the same small form. */
function ReasonForm({ c, sheetId, action }: { c: WebContext; sheetId: string; action: "reject" | "reopen" }) {
  const t = c.get("t");
  return (
    <form method="post" action={`/timesheets/${sheetId}/${action}`} class="row">
      <CsrfField c={c} />
      <label>
        {t(`approvals.${action}Reason`)}
        <input type="text" name="reason" required maxlength={1000} />
      </label>
      <button type="submit" class="secondary">
        {t(`approvals.${action}`)}
      </button>
    </form>
  );
}

function Approvals({
  c,
  sheets,
  packages,
  error,
}: {
  c: WebContext;
  sheets: (Timesheet & { engineerName: string })[];
  packages: Map<string, string>;
  error?: { path: string; message: string }[];
}) {
  const t = c.get("t");
  const notice = leadNotices[c.req.query("notice") as keyof typeof leadNotices];
  return (
    <Layout c={c} title={t("approvals.title")}>
      {notice ? <Notice kind="ok">{t(notice)}</Notice> : null}
      {error ? <FieldErrors c={c} fields={error} /> : null}
      {sheets.length === 0 ? <p>{t("approvals.empty")}</p> : null}
      {sheets.map((s) => (
        <section aria-labelledby={`sheet-${s.id}`} class="sheet">
          <h2 id={`sheet-${s.id}`}>
            {t("approvals.sheet", { name: s.engineerName, week: s.weekStart })} {sheetState(c, s)}
          </h2>
          <p>{t("hours.total", { raw: hours(s.rawMinutes), rounded: hours(s.roundedMinutes) })}</p>
          <EntryTable c={c} sheet={s} packages={packages} removable={false} />
          {s.state === "submitted" ? (
            <div class="row">
              <form method="post" action={`/timesheets/${s.id}/approve`} class="inline">
                <CsrfField c={c} />
                <button type="submit" aria-label={`${t("approvals.approve")}: ${s.engineerName} ${s.weekStart}`}>
                  {t("approvals.approve")}
                </button>
              </form>
              <ReasonForm c={c} sheetId={s.id} action="reject" />
            </div>
          ) : (
            <ReasonForm c={c} sheetId={s.id} action="reopen" />
          )}
        </section>
      ))}
    </Layout>
  );
}

/** The form's fields as the service's entry: times when given, else a date and minutes. */
function entryFrom(form: Record<string, unknown>): NewTimeEntry {
  const input: NewTimeEntry = { packageId: formText(form, "packageId") };
  const [start, end, zone, date, minutes, note] = ["start", "end", "timeZone", "date", "minutes", "note"].map((n) =>
    formText(form, n),
  );
  if (start || end) {
    input.start = start || undefined;
    input.end = end || undefined;
    if (zone) input.timeZone = zone;
  }
  if (date || minutes) {
    input.date = date || undefined;
    if (minutes) {
      const n = Number(minutes);
      if (!Number.isInteger(n) || n < 1 || n > 1440) throw invalidField("minutes", text("form.minutes"));
      input.minutes = n;
    }
  }
  if (note) input.note = note;
  return input;
}

/** The hours pages. */
export function timesheetPages(deps: WebDeps) {
  const thisWeek = () => weekOf(tokyoDay(Date.now()));
  const weekParam = (value: string | undefined) => (value && isMonday(value) ? value : thisWeek());

  const myHours = async (c: WebContext, user: WebUser, week: string, error?: { path: string; message: string }[]) => {
    const [sheets, packages] = await Promise.all([deps.timesheets.week(user, { week }), heldPackages(deps, user)]);
    return render(
      c,
      <MyHours c={c} week={week} sheets={sheets} packages={packages} error={error} />,
      error ? 400 : 200,
    );
  };
  const approvals = async (c: WebContext, user: WebUser, error?: { path: string; message: string }[]) => {
    const sheets = await deps.timesheets.forReview(user);
    const ids = [...new Set(sheets.flatMap((s) => s.entries.map((e) => e.packageId)))];
    const pkgs = await Promise.all(ids.map((id) => orNull(deps.packages.get(user, id))));
    const held = pkgs.filter((p) => p !== null);
    // A week may hold work of several contracts: each line names its contract beside the package.
    const contracts = await Promise.all(
      [...new Set(held.map((p) => p.contractId))].map((id) => orNull(deps.contracts.get(user, id))),
    );
    const titles = new Map(contracts.filter((k) => k !== null).map((k) => [k.id, k.title]));
    const names = new Map(
      held.map((p) => [p.id, [titles.get(p.contractId), `${p.wbsId} ${p.title}`].filter(Boolean).join(" · ")]),
    );
    return render(c, <Approvals c={c} sheets={sheets} packages={names} error={error} />, error ? 400 : 200);
  };
  /** A refused form shows its fields on the page again; other failures go to the error page. */
  const fieldsOf = (c: WebContext, err: unknown) =>
    err instanceof AppError &&
    (err.code === "VALIDATION" || err.code === "CONFLICT") &&
    Array.isArray(err.details?.fields)
      ? problemsOf(c, err)
      : err instanceof AppError && err.code === "VALIDATION"
        ? problemsOf(c, err)
        : null;

  return new Hono<WebEnv>()
    .get("/my-hours", async (c) => {
      const user = requireRole(c, "engineer");
      return myHours(c, user, weekParam(c.req.query("week")));
    })
    .post("/time-entries", async (c) => {
      const user = requireRole(c, "engineer");
      const form = await c.req.parseBody({ all: true });
      const week = weekParam(formText(form, "week"));
      try {
        const entry = await deps.timesheets.record(user, entryFrom(form));
        const shown = entry.days[0]?.week ?? week;
        return c.redirect(`/my-hours?week=${shown}&notice=recorded`, 303);
      } catch (err) {
        const fields = fieldsOf(c, err);
        if (fields) return myHours(c, user, week, fields);
        throw err;
      }
    })
    .post("/time-entries/:id/remove", async (c) => {
      const user = requireRole(c, "engineer");
      const week = weekParam(formText(await c.req.parseBody({ all: true }), "week"));
      await deps.timesheets.remove(user, c.req.param("id"));
      return c.redirect(`/my-hours?week=${week}&notice=removed`, 303);
    })
    .post("/timesheets/:id/submit", async (c) => {
      const user = requireRole(c, "engineer");
      const sheet = await deps.timesheets.submit(user, c.req.param("id"));
      return c.redirect(`/my-hours?week=${sheet.weekStart}&notice=submitted`, 303);
    })
    .get("/timesheets", async (c) => approvals(c, requireRole(c, "lead")))
    .post("/timesheets/:id/:action{approve|reject|reopen}", async (c) => {
      const user = requireRole(c, "lead");
      const id = c.req.param("id");
      const action = c.req.param("action") as "approve" | "reject" | "reopen";
      if (action === "approve") {
        await deps.timesheets.approve(user, id);
        return c.redirect("/timesheets?notice=approved", 303);
      }
      const reason = formText(await c.req.parseBody({ all: true }), "reason");
      const t = c.get("t");
      if (!reason) return approvals(c, user, [{ path: t(`approvals.${action}Reason`), message: t("common.required") }]);
      if (action === "reject") await deps.timesheets.reject(user, id, reason);
      else await deps.timesheets.reopen(user, id, reason);
      return c.redirect(`/timesheets?notice=${action === "reject" ? "rejected" : "reopened"}`, 303);
    });
}
