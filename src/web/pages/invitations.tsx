// Operators and contractors invite people: the form, the one-time link to hand over, and the invitations so far.
import { Hono } from "hono";
import { type Invitation, invitationLink } from "../../domain/accounts/accounts.service.ts";
import type { Tenant } from "../../domain/tenants/tenants.service.ts";
import type { Role } from "../../kernel/actor.ts";
import { AppError } from "../../kernel/errors.ts";
import { isLang, type Lang } from "../../kernel/messages.ts";
import { formatDateTime } from "../i18n/i18n.ts";
import { invitationStatus } from "../i18n/stored.ts";
import { CsrfField, DataTable, FieldErrors, Layout, Notice } from "../layout.tsx";
import { problemsOf, render, requireRole, type WebContext, type WebDeps, type WebEnv } from "../web-env.ts";

/** Whom each role may invite, as the form offers it (the account service decides for itself too). */
const invitable: Partial<Record<Role, Role[]>> = {
  operator: ["engineer", "contractor", "operator"],
  contractor: ["lead"],
};

function Invitations({
  c,
  invitations,
  tenants,
  language,
  link,
  mailedTo,
  fields,
}: {
  c: WebContext;
  invitations: Invitation[];
  tenants: Tenant[];
  /** The language the form offers first: the inviter's own. */
  language: Lang;
  link?: string;
  /** The address the invitation was e-mailed to, when e-mail is on. */
  mailedTo?: string | undefined;
  fields?: { path: string; message: string }[];
}) {
  const t = c.get("t");
  const lang = c.get("lang");
  const role = c.get("user")?.role ?? "engineer";
  return (
    <Layout c={c} title={t("invitations.title")}>
      {link ? (
        <Notice kind="ok">
          <p>{t("invitations.created")}</p>
          {mailedTo ? <p id="invitation-mailed">{t("invitations.mailed", { email: mailedTo })}</p> : null}
          <code class="token" id="invitation-link">
            {link}
          </code>
        </Notice>
      ) : null}
      {fields ? <FieldErrors c={c} fields={fields} /> : null}
      <form method="post" action="/invitations" class="row card">
        <CsrfField c={c} />
        <label>
          {t("invitations.email")}
          <input type="email" name="email" required autocomplete="off" />
        </label>
        <label>
          {t("invitations.role")}
          <select name="role">
            {(invitable[role] ?? []).map((r) => (
              <option value={r}>{t(`role.${r}`)}</option>
            ))}
          </select>
        </label>
        {role === "operator" ? (
          <label>
            {t("invitations.tenant")}
            <select name="tenantId">
              <option value="">—</option>
              {tenants.map((tenant) => (
                <option value={tenant.id}>{tenant.name}</option>
              ))}
            </select>
          </label>
        ) : null}
        <label>
          {t("invitations.language")}
          <select name="language" aria-describedby="invitation-language-hint">
            <option value="ja" selected={language === "ja"}>
              日本語
            </option>
            <option value="en" selected={language === "en"}>
              English
            </option>
          </select>
        </label>
        <button type="submit">{t("invitations.submit")}</button>
        <p class="hint" id="invitation-language-hint">
          {t("invitations.languageHint")}
        </p>
      </form>
      <DataTable
        empty={t("invitations.empty")}
        count={invitations.length}
        cols={[
          t("invitations.email"),
          t("invitations.role"),
          t("invitations.languageCol"),
          t("invitations.status"),
          t("invitations.expires"),
        ]}
      >
        {invitations.map((i) => (
          <tr>
            <td>{i.email}</td>
            <td>{t(`role.${i.role}`)}</td>
            <td lang={i.language}>{i.language === "ja" ? "日本語" : "English"}</td>
            <td>{invitationStatus(t, i.status)}</td>
            <td>{formatDateTime(lang, i.expiresAt)}</td>
          </tr>
        ))}
      </DataTable>
    </Layout>
  );
}

/** The invitation pages of operators and contractors. */
export function invitationPages(deps: WebDeps) {
  const page = async (
    c: WebContext,
    extra: { link?: string; mailedTo?: string; fields?: { path: string; message: string }[] } = {},
  ) => {
    const user = requireRole(c, "operator", "contractor");
    const [invitations, tenants, prefs] = await Promise.all([
      deps.accounts.listInvitations(user),
      user.role === "operator" ? deps.tenants.list(user) : Promise.resolve([]),
      deps.preferences.get(user),
    ]);
    // The inviter's own language is offered first, as the service defaults to it.
    return <Invitations c={c} invitations={invitations} tenants={tenants} language={prefs.language} {...extra} />;
  };

  return new Hono<WebEnv>()
    .get("/invitations", async (c) => render(c, await page(c)))
    .post("/invitations", async (c) => {
      const user = requireRole(c, "operator", "contractor");
      const form = await c.req.parseBody();
      const email = String(form.email ?? "").trim();
      const role = String(form.role ?? "");
      const language = String(form.language ?? "");
      if (!email || !(invitable[user.role] ?? []).includes(role as Role)) {
        const fields = [{ path: email ? "role" : "email", message: c.get("t")("common.required") }];
        return render(c, await page(c, { fields }), 400);
      }
      if (language && !isLang(language)) {
        const fields = [{ path: "language", message: c.get("t")("settings.languageInvalid") }];
        return render(c, await page(c, { fields }), 400);
      }
      try {
        const inv = await deps.accounts.invite(user, {
          email,
          role: role as Role,
          tenantId: String(form.tenantId ?? "") || null,
          ...(isLang(language) ? { language } : {}),
        });
        const link = invitationLink(deps.baseUrl, inv.token, inv.language);
        return render(c, await page(c, { link, ...(deps.mailer ? { mailedTo: inv.email } : {}) }));
      } catch (err) {
        if (!(err instanceof AppError) || (err.code !== "VALIDATION" && err.code !== "CONFLICT")) throw err;
        const fields = problemsOf(c, err, "email");
        return render(c, await page(c, { fields }), 400);
      }
    });
}
