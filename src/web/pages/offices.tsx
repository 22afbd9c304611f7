// Operators: the satellite offices, each office's details and who belongs to it. An office admin creates
// offices and places people anywhere; an office's own operators edit it and bring people in.
import { Hono } from "hono";
import type { Office, OfficeInput, OfficeMember } from "../../domain/offices/offices.service.ts";
import { isTimeZone } from "../../domain/timesheets/time.ts";
import { AppError, invalidField } from "../../kernel/errors.ts";
import { text } from "../../kernel/messages.ts";
import { formatDateTime } from "../i18n/i18n.ts";
import { CsrfField, DataTable, FieldErrors, Layout, Notice } from "../layout.tsx";
import {
  formName,
  formText,
  problemsOf,
  render,
  requireRole,
  type WebContext,
  type WebDeps,
  type WebEnv,
} from "../web-env.ts";

type Fields = { path: string; message: string }[];

/** An office's details from a form, refused as the API refuses them. */
function officeFromForm(form: Record<string, unknown>): OfficeInput {
  const timeZone = formText(form, "timeZone", 64);
  if (!isTimeZone(timeZone)) throw invalidField("timeZone", text("issue.timeZone"));
  return {
    name: formName(form, "name"),
    prefecture: formName(form, "prefecture", 20),
    town: formName(form, "town", 100),
    address: formName(form, "address", 300),
    timeZone,
    contact: formName(form, "contact", 300),
    description: formText(form, "description", 4000),
  };
}

/** A refusal of the form as its fields' problems, in the page's language; null for any other failure. */
const fieldsOf = (c: WebContext, err: unknown): Fields | null =>
  err instanceof AppError && (err.code === "VALIDATION" || err.code === "CONFLICT") ? problemsOf(c, err, "name") : null;

function OfficeFields({ c, office }: { c: WebContext; office?: Office }) {
  const t = c.get("t");
  return (
    <>
      <label>
        {t("offices.name")}
        <input name="name" required maxlength={200} value={office?.name ?? ""} />
      </label>
      <label>
        {t("offices.prefecture")}
        <input name="prefecture" required maxlength={20} value={office?.prefecture ?? ""} />
      </label>
      <label>
        {t("offices.town")}
        <input name="town" required maxlength={100} value={office?.town ?? ""} />
      </label>
      <label>
        {t("offices.address")}
        <input name="address" required maxlength={300} value={office?.address ?? ""} />
      </label>
      <label>
        {t("offices.timeZone")}
        <input name="timeZone" required maxlength={64} value={office?.timeZone ?? "Asia/Tokyo"} />
      </label>
      <label>
        {t("offices.contact")}
        <input name="contact" required maxlength={300} value={office?.contact ?? ""} />
      </label>
      <label>
        {t("offices.description")}
        <textarea name="description" maxlength={4000} rows={4}>
          {office?.description ?? ""}
        </textarea>
      </label>
    </>
  );
}

function OfficeList({
  c,
  offices,
  managesAll,
  fields,
}: {
  c: WebContext;
  offices: Office[];
  managesAll: boolean;
  fields?: Fields;
}) {
  const t = c.get("t");
  return (
    <Layout c={c} title={t("offices.title")}>
      <p class="hint">{t("offices.hint")}</p>
      <DataTable
        id="offices"
        empty={t("offices.empty")}
        count={offices.length}
        cols={[t("offices.name"), t("offices.prefecture"), t("offices.town"), t("offices.contact")]}
      >
        {offices.map((o) => (
          <tr>
            <td>
              <a href={`/offices/${o.id}`}>{o.name}</a>
            </td>
            <td>{o.prefecture}</td>
            <td>{o.town}</td>
            <td>{o.contact}</td>
          </tr>
        ))}
      </DataTable>
      {managesAll ? (
        <section aria-labelledby="new-office">
          <h2 id="new-office">{t("offices.new")}</h2>
          {fields ? <FieldErrors c={c} fields={fields} /> : null}
          <form method="post" action="/offices" class="card">
            <CsrfField c={c} />
            <OfficeFields c={c} />
            <button type="submit">{t("offices.create")}</button>
          </form>
        </section>
      ) : null}
    </Layout>
  );
}

function OfficeDetail({
  c,
  office,
  members,
  manages,
  saved,
  fields,
}: {
  c: WebContext;
  office: Office;
  members: OfficeMember[];
  manages: boolean;
  saved?: boolean;
  fields?: Fields;
}) {
  const t = c.get("t");
  const lang = c.get("lang");
  return (
    <Layout c={c} title={office.name}>
      {saved ? (
        <Notice kind="ok">
          <p>{t("offices.saved")}</p>
        </Notice>
      ) : null}
      {fields ? <FieldErrors c={c} fields={fields} /> : null}
      <dl class="facts">
        <dt>{t("offices.prefecture")}</dt>
        <dd>{office.prefecture}</dd>
        <dt>{t("offices.town")}</dt>
        <dd>{office.town}</dd>
        <dt>{t("offices.address")}</dt>
        <dd>{office.address}</dd>
        <dt>{t("offices.timeZone")}</dt>
        <dd>{office.timeZone}</dd>
        <dt>{t("offices.contact")}</dt>
        <dd>{office.contact}</dd>
      </dl>
      <p class="description">{office.description}</p>
      <p>
        <a href={`/office-guide/${office.id}`}>{t("guide.publicLink")}</a>
      </p>
      {manages ? (
        <>
          <p>
            <a href={`/offices/${office.id}/guide`}>{t("guide.editLink")}</a>
            {" · "}
            <a href={`/offices/${office.id}/interests`}>{t("interest.listLink")}</a>
            {" · "}
            <a href={`/offices/${office.id}/report`}>{t("programme.link")}</a>
          </p>
          <h2 id="members">{t("offices.members")}</h2>
          <DataTable
            id="office-members"
            labelledBy="members"
            empty={t("offices.noMembers")}
            count={members.length}
            cols={[t("offices.memberEmail"), t("offices.memberRole"), t("offices.memberSince")]}
          >
            {members.map((m) => (
              <tr>
                <td>{m.email}</td>
                <td>{m.role === "operator" || m.role === "engineer" ? t(`role.${m.role}`) : m.role}</td>
                <td>{formatDateTime(lang, m.since)}</td>
              </tr>
            ))}
          </DataTable>
          <h2 id="edit-office">{t("offices.edit")}</h2>
          <form method="post" action={`/offices/${office.id}`} class="card" aria-labelledby="edit-office">
            <CsrfField c={c} />
            <OfficeFields c={c} office={office} />
            <button type="submit">{t("offices.save")}</button>
          </form>
        </>
      ) : null}
    </Layout>
  );
}

/** The offices pages of operators. */
export function officePages(deps: WebDeps) {
  const listPage = async (c: WebContext, fields?: Fields) => {
    const user = requireRole(c, "operator");
    const [offices, rights] = await Promise.all([deps.offices.list(user), deps.offices.rights(user)]);
    return <OfficeList c={c} offices={offices} managesAll={rights.managesAll} fields={fields} />;
  };
  const detailPage = async (c: WebContext, id: string, extra: { saved?: boolean; fields?: Fields } = {}) => {
    const user = requireRole(c, "operator");
    const [office, rights] = await Promise.all([deps.offices.get(user, id), deps.offices.rights(user)]);
    const manages = rights.managesAll || rights.officeId === id;
    const members = manages ? await deps.offices.members(user, id) : [];
    return <OfficeDetail c={c} office={office} members={members} manages={manages} {...extra} />;
  };

  return new Hono<WebEnv>()
    .get("/offices", async (c) => render(c, await listPage(c)))
    .post("/offices", async (c) => {
      const user = requireRole(c, "operator");
      try {
        const office = await deps.offices.create(user, officeFromForm(await c.req.parseBody({ all: true })));
        return c.redirect(`/offices/${office.id}`, 303);
      } catch (err) {
        const fields = fieldsOf(c, err);
        if (!fields) throw err;
        return render(c, await listPage(c, fields), 400);
      }
    })
    .get("/offices/:id", async (c) =>
      render(c, await detailPage(c, c.req.param("id"), { saved: c.req.query("saved") === "1" })),
    )
    .post("/offices/:id", async (c) => {
      const user = requireRole(c, "operator");
      const id = c.req.param("id");
      try {
        await deps.offices.update(user, id, officeFromForm(await c.req.parseBody({ all: true })));
        return c.redirect(`/offices/${id}?saved=1`, 303);
      } catch (err) {
        const fields = fieldsOf(c, err);
        if (!fields) throw err;
        return render(c, await detailPage(c, id, { fields }), 400);
      }
    });
}
