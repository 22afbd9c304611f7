// The frame of every page: language, landmarks, the menu of the signed-in role, sign-out and the language switch.
import type { Child } from "hono/jsx";
import type { ServiceProcess } from "../domain/workspaces/workspace-processes.ts";
import type { Unavailable, Workspace } from "../domain/workspaces/workspaces.service.ts";
import type { Role } from "../kernel/actor.ts";
import { type FieldProblem, fieldLabel } from "../kernel/errors.ts";
import { say } from "../kernel/messages.ts";
import { formatDateTime, type MessageKey } from "./i18n/i18n.ts";
import { knownHostReasons } from "./i18n/stored.ts";
import type { WebContext } from "./web-env.ts";

/** The menu of each role; a new page (pull requests, timesheets, terminal) adds one line here. */
export const menus: Record<Role, { href: string; label: MessageKey }[]> = {
  contractor: [
    { href: "/contracts", label: "nav.contracts" },
    { href: "/invitations", label: "nav.invitations" },
    { href: "/deliveries", label: "nav.deliveries" },
    { href: "/hours", label: "nav.hours" },
  ],
  lead: [
    { href: "/board", label: "nav.board" },
    { href: "/contracts", label: "nav.contracts" },
    { href: "/reviews", label: "nav.reviews" },
    { href: "/timesheets", label: "nav.timesheets" },
    { href: "/task-disputes", label: "nav.taskDisputes" },
  ],
  engineer: [
    { href: "/offers", label: "nav.offers" },
    { href: "/my-packages", label: "nav.myPackages" },
    { href: "/my-pulls", label: "nav.myPulls" },
    { href: "/my-hours", label: "nav.myHours" },
    { href: "/my-availability", label: "nav.myAvailability" },
    { href: "/tasks", label: "nav.myTasks" },
  ],
  operator: [
    { href: "/engineers", label: "nav.engineers" },
    { href: "/workspaces", label: "nav.workspaces" },
    { href: "/workspace-hosts", label: "nav.workspaceHosts" },
    { href: "/audit", label: "nav.audit" },
    { href: "/invitations", label: "nav.invitations" },
    { href: "/recordings", label: "nav.recordings" },
    { href: "/templates", label: "nav.templates" },
    { href: "/offices", label: "nav.offices" },
    { href: "/mail", label: "nav.mail" },
  ],
};

/** The page's own address with `lang` set, for the switch link. */
function withLang(c: WebContext, lang: string): string {
  const url = new URL(c.req.url);
  url.searchParams.set("lang", lang);
  return `${url.pathname}${url.search}`;
}

/** A hidden field carrying the session's form token; every form of a signed-in page includes it. */
export const CsrfField = ({ c }: { c: WebContext }) => <input type="hidden" name="_csrf" value={c.get("csrfToken")} />;

/** Whether a workspace's code is checked out yet, and when it was, with how long that took from the offer accepted. */
export const CheckoutNote = ({
  c,
  workspace,
}: {
  c: WebContext;
  workspace: Pick<Workspace, "checkout" | "checkedOutAt" | "checkoutMs">;
}) => {
  const t = c.get("t");
  const text =
    workspace.checkout === "done"
      ? t("ws.checkout.done", {
          at: formatDateTime(c.get("lang"), workspace.checkedOutAt),
          seconds: ((workspace.checkoutMs ?? 0) / 1000).toFixed(1),
        })
      : t(`ws.checkout.${workspace.checkout}`);
  return (
    <span class={`badge checkout-${workspace.checkout}`} data-checkout={workspace.checkout}>
      {text}
    </span>
  );
};

/** Why a workspace cannot be reached now (its host marked down or not answering); nothing when it can. */
export const UnavailableNote = ({ c, unavailable }: { c: WebContext; unavailable: Unavailable | null }) => {
  if (!unavailable) return null;
  const t = c.get("t");
  const known = Object.hasOwn(knownHostReasons, unavailable.detail) ? knownHostReasons[unavailable.detail] : undefined;
  const detail = known ? t(known) : unavailable.detail;
  return (
    <strong class="unavailable" data-unavailable={unavailable.why}>
      {t(`ws.unavailable.${unavailable.why}`, { host: unavailable.hostName, detail })}
    </strong>
  );
};

/**
 * The services a workspace's sessions left running (the template lets them outlive a session): name, pid, since
 * when and which session started them; nothing when there are none, a note when they could not be read.
 */
export const ServicesNote = ({ c, services }: { c: WebContext; services: ServiceProcess[] | null }) => {
  const t = c.get("t");
  if (services === null) return <p class="hint services-unknown">{t("ws.services.unknown")}</p>;
  if (!services.length) return null;
  return (
    <div class="services">
      <p>{t("ws.services.title")}</p>
      <ul>
        {services.map((s) => (
          <li data-pid={s.pid}>
            {t("ws.services.item", {
              name: s.name,
              pid: s.pid,
              since: formatDateTime(c.get("lang"), s.since),
              session: s.sessionId,
            })}
          </li>
        ))}
      </ul>
    </div>
  );
};

/** A notice above the content: `status` for news, `alert` for problems, so screen readers announce it. */
export const Notice = ({ kind, children }: { kind: "ok" | "error"; children: Child }) => (
  <div class={`notice notice-${kind}`} role={kind === "error" ? "alert" : "status"}>
    {children}
  </div>
);

/** Problems with what was submitted, each naming its field. */
export const FieldErrors = ({ c, fields }: { c: WebContext; fields: FieldProblem[] }) => {
  const t = c.get("t");
  const reader = { lang: c.get("lang") };
  return (
    <div class="notice notice-error" role="alert">
      <p>{t("common.errors")}</p>
      <ul>
        {fields.map((f) => (
          <li>
            <strong>{fieldLabel(reader, f.path)}</strong>: {f.text ? say(reader, f.text) : f.message}
          </li>
        ))}
      </ul>
    </div>
  );
};

/**
 * A whole page: `title` is the heading and the document title; `scripts` (ES modules) and `styles` are
 * Azusa's own files a page adds (the policy allows no other).
 */
export function Layout({
  c,
  title,
  children,
  scripts = [],
  styles = [],
}: {
  c: WebContext;
  title: string;
  children: Child;
  scripts?: string[];
  styles?: string[];
}) {
  const t = c.get("t");
  const lang = c.get("lang");
  const user = c.get("user");
  const path = c.req.path;
  return (
    <html lang={lang}>
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${title} — ${t("app.name")}`}</title>
        <link rel="icon" href="/favicon.ico" type="image/svg+xml" />
        <link rel="stylesheet" href="/assets/azusa.css" />
        {styles.map((href) => (
          <link rel="stylesheet" href={href} />
        ))}
        {scripts.map((src) => (
          <script type="module" src={src} />
        ))}
      </head>
      <body>
        <a class="skip" href="#main">
          {t("skip")}
        </a>
        <header class="top">
          <a class="brand" href="/">
            {t("app.name")}
          </a>
          {user ? (
            <nav aria-label={t("nav.label")}>
              <ul>
                {menus[user.role].map((item) => (
                  <li>
                    <a href={item.href} aria-current={path.startsWith(item.href) ? "page" : undefined}>
                      {t(item.label)}
                    </a>
                  </li>
                ))}
              </ul>
            </nav>
          ) : null}
          <div class="tools">
            <a
              href={withLang(c, lang === "ja" ? "en" : "ja")}
              lang={lang === "ja" ? "en" : "ja"}
              hreflang={lang === "ja" ? "en" : "ja"}
              aria-label={t("lang.switchLabel")}
            >
              {t("lang.switch")}
            </a>
            {user ? (
              <a href="/notifications" class="unread" aria-current={path === "/notifications" ? "page" : undefined}>
                {t("nav.notifications")} <span class="badge">{c.get("unread")}</span>
                <span class="visually-hidden">{t("notifications.unreadCount", { count: c.get("unread") })}</span>
              </a>
            ) : null}
            {user ? (
              <a href="/settings" aria-current={path === "/settings" ? "page" : undefined}>
                {t("nav.settings")}
              </a>
            ) : null}
            {user ? (
              <form method="post" action="/sign-out" class="inline">
                <CsrfField c={c} />
                <span class="who">{t("signedInAs", { email: user.email, role: t(`role.${user.role}`) })}</span>{" "}
                <button type="submit">{t("signOut")}</button>
              </form>
            ) : null}
          </div>
        </header>
        <main id="main" tabindex={-1}>
          <h1>{title}</h1>
          {children}
        </main>
      </body>
    </html>
  );
}

/** A table's header row: each column's label, `num` for figures (right-aligned), null for a column not shown. */
export const TableHead = ({ cols }: { cols: (string | { label: string; num: true } | null)[] }) => (
  <thead>
    <tr>
      {cols.map((col) =>
        col === null ? null : typeof col === "string" ? (
          <th scope="col">{col}</th>
        ) : (
          <th scope="col" class="num">
            {col.label}
          </th>
        ),
      )}
    </tr>
  </thead>
);

/** A table of rows, or the `empty` sentence when there are none. */
export const DataTable = ({
  empty,
  count,
  cols,
  id,
  labelledBy,
  children,
}: {
  empty: string;
  count: number;
  cols: (string | { label: string; num: true } | null)[];
  id?: string;
  labelledBy?: string;
  children: Child;
}) =>
  count === 0 ? (
    <p>{empty}</p>
  ) : (
    <table id={id} aria-labelledby={labelledBy}>
      <TableHead cols={cols} />
      <tbody>{children}</tbody>
    </table>
  );
