// Operators: the e-mail outbox — what waits, what went, what failed and why — with a retry now; never a body.
import { Hono } from "hono";
import type { MailState, OutboxMail } from "../../domain/notifications/mail.ts";
import { mailStates } from "../../domain/notifications/mail.ts";
import { AppError } from "../../kernel/errors.ts";
import { formatDateTime } from "../i18n/i18n.ts";
import { CsrfField, DataTable, Layout, Notice } from "../layout.tsx";
import { render, requireRole, sayError, type WebContext, type WebDeps, type WebEnv } from "../web-env.ts";

function Outbox({
  c,
  items,
  enabled,
  state,
  error,
}: {
  c: WebContext;
  items: OutboxMail[];
  enabled: boolean;
  state: MailState | undefined;
  error?: string;
}) {
  const t = c.get("t");
  const lang = c.get("lang");
  return (
    <Layout c={c} title={t("mail.title")}>
      {enabled ? null : <Notice kind="error">{t("mail.off")}</Notice>}
      {c.req.query("retried") ? <Notice kind="ok">{t("mail.retried")}</Notice> : null}
      {error ? <Notice kind="error">{error}</Notice> : null}
      <p class="hint">{t("mail.hint")}</p>
      <nav class="row" aria-label={t("mail.filter")}>
        <a href="/mail" aria-current={state ? undefined : "page"}>
          {t("mail.all")}
        </a>
        {mailStates.map((s) => (
          <a href={`/mail?state=${s}`} aria-current={state === s ? "page" : undefined}>
            {t(`mail.state.${s}`)}
          </a>
        ))}
      </nav>
      <DataTable
        empty={t("mail.empty")}
        count={items.length}
        cols={[
          t("mail.created"),
          t("mail.to"),
          t("mail.subject"),
          t("mail.stateCol"),
          t("mail.attempts"),
          t("mail.lastError"),
          null,
        ]}
      >
        {items.map((m) => (
          <tr id={`mail-${m.id}`}>
            <td>{formatDateTime(lang, m.createdAt)}</td>
            <td>{m.to}</td>
            <td>{m.subject}</td>
            <td>
              {t(`mail.state.${m.state}`)}
              {m.state === "pending" && m.nextAttemptAt ? (
                <span class="hint"> {t("mail.next", { at: formatDateTime(lang, m.nextAttemptAt) })}</span>
              ) : null}
            </td>
            <td class="num">{m.attempts}</td>
            <td>{m.lastError ? <span translate="no">{m.lastError}</span> : ""}</td>
            <td>
              {m.state === "sent" ? null : (
                <form method="post" action={`/mail/${m.id}/retry`} class="inline">
                  <CsrfField c={c} />
                  <button type="submit" class="secondary" aria-label={`${t("mail.retry")}: ${m.subject}`}>
                    {t("mail.retry")}
                  </button>
                </form>
              )}
            </td>
          </tr>
        ))}
      </DataTable>
    </Layout>
  );
}

/** The operators' outbox page. */
export function mailPages(deps: WebDeps) {
  const page = async (c: WebContext, status: 200 | 400 | 409 = 200, error?: string) => {
    const user = requireRole(c, "operator");
    const q = c.req.query("state");
    const state = mailStates.find((s) => s === q);
    // A state it does not know lists nothing and says so, with 400 as the API answers (not every message).
    if (q && !state) {
      const t = c.get("t");
      const states = mailStates.map((s) => t(`mail.state.${s}`)).join(t("mail.stateSeparator"));
      const said = t("mail.unknownState", { state: q.slice(0, 40), states });
      return render(c, <Outbox c={c} items={[]} enabled={!!deps.mailer} state={undefined} error={said} />, 400);
    }
    const items = deps.mailer ? await deps.mailer.outbox(user, state) : [];
    return render(
      c,
      <Outbox c={c} items={items} enabled={!!deps.mailer} state={state} {...(error ? { error } : {})} />,
      status,
    );
  };
  return new Hono<WebEnv>()
    .get("/mail", (c) => page(c))
    .post("/mail/:id/retry", async (c) => {
      const user = requireRole(c, "operator");
      if (!deps.mailer) return page(c);
      try {
        await deps.mailer.retry(user, c.req.param("id"));
      } catch (err) {
        if (!(err instanceof AppError) || err.code !== "INVALID_STATE") throw err;
        return page(c, 409, sayError(c, err));
      }
      return c.redirect("/mail?retried=1", 303);
    });
}
