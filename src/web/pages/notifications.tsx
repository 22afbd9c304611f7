// Every role: the notifications Azusa sent the signed-in person, newest first, each marked as read on its own.
import { Hono } from "hono";
import type { Notification } from "../../domain/notifications/notifications.service.ts";
import { formatDateTime } from "../i18n/i18n.ts";
import { CsrfField, Layout, Notice } from "../layout.tsx";
import { render, requireRole, type WebContext, type WebDeps, type WebEnv } from "../web-env.ts";

function Notifications({ c, items }: { c: WebContext; items: Notification[] }) {
  const t = c.get("t");
  return (
    <Layout c={c} title={t("notifications.title")}>
      {c.req.query("notice") === "read" ? <Notice kind="ok">{t("notifications.marked")}</Notice> : null}
      {items.length === 0 ? <p>{t("notifications.empty")}</p> : null}
      <ul class="notifications">
        {items.map((n) => (
          <li class={n.readAt ? "read" : "unread"}>
            <strong>{n.title}</strong> <span class="hint">{formatDateTime(c.get("lang"), n.createdAt)}</span>
            {n.body ? <p class="note">{n.body}</p> : null}
            {n.readAt ? (
              <span class="badge">{t("notifications.read")}</span>
            ) : (
              <form method="post" action={`/notifications/${n.id}/read`} class="inline">
                <CsrfField c={c} />
                <button type="submit" class="secondary" aria-label={`${t("notifications.markRead")}: ${n.title}`}>
                  {t("notifications.markRead")}
                </button>
              </form>
            )}
          </li>
        ))}
      </ul>
    </Layout>
  );
}

/** The notification pages. */
export function notificationPages(deps: WebDeps) {
  return new Hono<WebEnv>()
    .get("/notifications", async (c) => {
      const user = requireRole(c, "operator", "contractor", "lead", "engineer");
      return render(c, <Notifications c={c} items={await deps.notifications.list(user)} />);
    })
    .post("/notifications/:id/read", async (c) => {
      const user = requireRole(c, "operator", "contractor", "lead", "engineer");
      await deps.notifications.markRead(user, c.req.param("id"));
      return c.redirect("/notifications?notice=read", 303);
    });
}
