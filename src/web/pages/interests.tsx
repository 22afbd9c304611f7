// Interest registrations on the pages: the form on an office's public page, and the operators' list where one
// becomes an engineer invitation in one click or is deleted at the person's request.
import { Hono } from "hono";
import { invitationLink } from "../../domain/accounts/accounts.service.ts";
import type { InterestRegistration } from "../../domain/offices/interest.service.ts";
import type { Office } from "../../domain/offices/offices.service.ts";
import { system } from "../../kernel/actor.ts";
import { formatDateTime } from "../i18n/i18n.ts";
import { CsrfField, DataTable, FieldErrors, Layout, Notice } from "../layout.tsx";
import { render, requireRole, type WebContext, type WebDeps, type WebEnv } from "../web-env.ts";

/** Rows for skills on the public form (the schema takes up to INTEREST_MAX_SKILLS). */
const SKILL_ROWS = 3;

/** What the person typed, to show again when the form is refused. */
export interface InterestDraft {
  name: string;
  email: string;
  skills: { skill: string; level: string }[];
  movingWhen: string;
}

/** The consent the person gives, in the page's language, with the office's retention and contact filled in. */
export const consentText = (c: WebContext, office: Office, days: number) =>
  c.get("t")("interest.consent", { office: office.name, days, contact: office.contact });

/** The registration form of an office's public page, with a field people never see (a trap for robots). */
export function InterestForm({
  c,
  office,
  days,
  draft,
  fields,
}: {
  c: WebContext;
  office: Office;
  days: number;
  draft?: InterestDraft;
  fields?: { path: string; message: string }[];
}) {
  const t = c.get("t");
  const levels = [1, 2, 3, 4, 5, 6, 7];
  return (
    <section aria-labelledby="interest-title" id="interest">
      <h2 id="interest-title">{t("interest.title")}</h2>
      <p class="hint">{t("interest.hint")}</p>
      {fields ? <FieldErrors c={c} fields={fields} /> : null}
      <form method="post" action={`/office-guide/${office.id}/interest`} class="card">
        <CsrfField c={c} />
        <label>
          {t("interest.name")}
          <input name="name" required maxlength={100} autocomplete="name" value={draft?.name ?? ""} />
        </label>
        <label>
          {t("interest.email")}
          <input name="email" type="email" required maxlength={254} autocomplete="email" value={draft?.email ?? ""} />
        </label>
        <fieldset>
          <legend>{t("interest.skills")}</legend>
          {Array.from({ length: SKILL_ROWS }, (_, i) => (
            <div class="row">
              <label>
                {t("interest.skill")}
                <input name="skill" maxlength={50} value={draft?.skills[i]?.skill ?? ""} />
              </label>
              <label>
                {t("interest.level")}
                <select name="level">
                  {levels.map((l) => (
                    <option value={String(l)} selected={draft?.skills[i]?.level === String(l)}>
                      {l}
                    </option>
                  ))}
                </select>
              </label>
            </div>
          ))}
        </fieldset>
        <label>
          {t("interest.movingWhen")}
          <input name="movingWhen" maxlength={200} value={draft?.movingWhen ?? ""} />
        </label>
        {/* Hidden from people and from screen readers; a robot that fills every field fills this one. */}
        <div class="hp" aria-hidden="true">
          <label>
            Website
            <input name="website" tabindex={-1} autocomplete="off" />
          </label>
        </div>
        <label class="consent">
          <input type="checkbox" name="consent" value="yes" required />
          <span id="consent-text">{consentText(c, office, days)}</span>
        </label>
        <button type="submit">{t("interest.send")}</button>
      </form>
    </section>
  );
}

function InterestList({
  c,
  office,
  items,
  link,
  deleted,
}: {
  c: WebContext;
  office: Office;
  items: InterestRegistration[];
  link?: string;
  deleted?: boolean;
}) {
  const t = c.get("t");
  const lang = c.get("lang");
  return (
    <Layout c={c} title={t("interest.listTitle", { office: office.name })}>
      <p class="hint">{t("interest.listHint")}</p>
      {link ? (
        <Notice kind="ok">
          <p>{t("invitations.created")}</p>
          <code class="token" id="invitation-link">
            {link}
          </code>
        </Notice>
      ) : null}
      {deleted ? (
        <Notice kind="ok">
          <p>{t("interest.deleted")}</p>
        </Notice>
      ) : null}
      <DataTable
        id="interests"
        empty={t("interest.none")}
        count={items.length}
        cols={[
          t("interest.name"),
          t("interest.email"),
          t("interest.skills"),
          t("interest.movingWhen"),
          t("interest.registeredAt"),
          t("interest.deleteAfter"),
          "",
        ]}
      >
        {items.map((r) => (
          <tr>
            <td>{r.name}</td>
            <td>{r.email}</td>
            <td>{r.skills.map((s) => `${s.skill} (${s.level})`).join(", ")}</td>
            <td>{r.movingWhen}</td>
            <td>{formatDateTime(lang, r.createdAt)}</td>
            <td>{formatDateTime(lang, r.deleteAfter)}</td>
            <td>
              {r.invitedAt ? (
                <span class="badge">{t("interest.invitedAt", { at: formatDateTime(lang, r.invitedAt) })}</span>
              ) : (
                <form method="post" action={`/interests/${r.id}/invite`} class="inline">
                  <CsrfField c={c} />
                  <button type="submit">{t("interest.invite")}</button>
                </form>
              )}{" "}
              <form method="post" action={`/interests/${r.id}/delete`} class="inline">
                <CsrfField c={c} />
                <button type="submit" aria-label={t("interest.deleteFor", { name: r.name })}>
                  {t("interest.delete")}
                </button>
              </form>
            </td>
          </tr>
        ))}
      </DataTable>
    </Layout>
  );
}

/** The operators' pages of interest registrations. */
export function interestPages(deps: WebDeps) {
  const page = async (c: WebContext, officeId: string, extra: { link?: string; deleted?: boolean } = {}) => {
    const user = requireRole(c, "operator");
    const items = await deps.interests.list(user, officeId);
    const office = await deps.offices.get(system("web"), officeId);
    return <InterestList c={c} office={office} items={items} {...extra} />;
  };
  return new Hono<WebEnv>()
    .get("/offices/:id/interests", async (c) =>
      render(c, await page(c, c.req.param("id"), { deleted: c.req.query("deleted") === "1" })),
    )
    .post("/interests/:id/invite", async (c) => {
      const user = requireRole(c, "operator");
      const inv = await deps.interests.invite(user, c.req.param("id"));
      const link = invitationLink(deps.baseUrl, inv.token);
      return render(c, await page(c, inv.officeId, { link }));
    })
    .post("/interests/:id/delete", async (c) => {
      const user = requireRole(c, "operator");
      const officeId = await deps.interests.remove(user, c.req.param("id"));
      return c.redirect(`/offices/${officeId}/interests?deleted=1`, 303);
    });
}
