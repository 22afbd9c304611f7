// Every role: one's own settings — the language of notices and e-mail, and whether notices that can wait are e-mailed.
import { Hono } from "hono";
import { setCookie } from "hono/cookie";
import type { Preferences } from "../../domain/accounts/preferences.service.ts";
import { isLang } from "../i18n/i18n.ts";
import { CsrfField, FieldErrors, Layout, Notice } from "../layout.tsx";
import { render, requireRole, type WebContext, type WebDeps, type WebEnv } from "../web-env.ts";

function Settings({
  c,
  prefs,
  mailOn,
  fields,
}: {
  c: WebContext;
  prefs: Preferences;
  /** Whether this Azusa sends e-mail at all (SMTP set). */
  mailOn: boolean;
  fields?: { path: string; message: string }[];
}) {
  const t = c.get("t");
  return (
    <Layout c={c} title={t("settings.title")}>
      {c.req.query("saved") === "1" ? <Notice kind="ok">{t("settings.saved")}</Notice> : null}
      {fields ? <FieldErrors c={c} fields={fields} /> : null}
      <form method="post" action="/settings" class="stack card">
        <CsrfField c={c} />
        <label>
          {t("settings.language")}
          <select name="language">
            <option value="ja" selected={prefs.language === "ja"}>
              日本語
            </option>
            <option value="en" selected={prefs.language === "en"}>
              English
            </option>
          </select>
        </label>
        <p class="hint">{t("settings.languageHint")}</p>
        <label class="check">
          <input type="checkbox" name="emailNotices" value="1" checked={prefs.emailNotices} />{" "}
          {t("settings.emailNotices")}
        </label>
        <p class="hint" id="essential-mail">
          {t("settings.emailEssential")}
        </p>
        {mailOn ? null : <p class="hint">{t("settings.mailOff")}</p>}
        <button type="submit">{t("settings.submit")}</button>
      </form>
    </Layout>
  );
}

/** The settings page of every role. */
export function settingsPages(deps: WebDeps) {
  const everyone = ["operator", "contractor", "lead", "engineer"] as const;
  return new Hono<WebEnv>()
    .get("/settings", async (c) => {
      const user = requireRole(c, ...everyone);
      return render(c, <Settings c={c} prefs={await deps.preferences.get(user)} mailOn={!!deps.mailer} />);
    })
    .post("/settings", async (c) => {
      const user = requireRole(c, ...everyone);
      const form = await c.req.parseBody();
      const language = String(form.language ?? "");
      if (!isLang(language)) {
        const fields = [{ path: "language", message: c.get("t")("settings.languageInvalid") }];
        const prefs = await deps.preferences.get(user);
        return render(c, <Settings c={c} prefs={prefs} mailOn={!!deps.mailer} fields={fields} />, 400);
      }
      await deps.preferences.update(user, { language, emailNotices: form.emailNotices === "1" });
      // The pages follow the language chosen here, as the header's switch would.
      setCookie(c, "lang", language, { path: "/", sameSite: "Lax", maxAge: 365 * 86400, httpOnly: true });
      return c.redirect("/settings?saved=1", 303);
    });
}
