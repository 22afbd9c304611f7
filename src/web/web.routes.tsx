// The pages: server-rendered with Hono's JSX over the same domain services as the API, so that a page
// shows exactly what its role may see. Mounted at "/" beside /api; see src/web/pages/* for each area.
import { readFileSync } from "node:fs";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { getCookie, setCookie } from "hono/cookie";
import { sessionCookieFrom } from "../auth/credentials.ts";
import { errorResponse, RETRY_AFTER_SECONDS, statusOf, toAppError } from "../http/errors.ts";
import { type AppError, fail, notFound } from "../kernel/errors.ts";
import { text } from "../kernel/messages.ts";
import { chooseLang, translator } from "./i18n/i18n.ts";
import { Layout } from "./layout.tsx";
import { availabilityPages } from "./pages/availability.tsx";
import { contractPages } from "./pages/contracts.tsx";
import { deliveryPages } from "./pages/deliveries.tsx";
import { engineerPages } from "./pages/engineer.tsx";
import { guidePages } from "./pages/guide.tsx";
import { hoursPages } from "./pages/hours.tsx";
import { idePages } from "./pages/ide.tsx";
import { interestPages } from "./pages/interests.tsx";
import { invitationPages } from "./pages/invitations.tsx";
import { mailPages } from "./pages/mail.tsx";
import { notificationPages } from "./pages/notifications.tsx";
import { officePages } from "./pages/offices.tsx";
import { operatorPages } from "./pages/operator.tsx";
import { packagePages } from "./pages/packages.tsx";
import { planPages } from "./pages/plan.tsx";
import { programmeReportPages } from "./pages/programme-report.tsx";
import { pullPages } from "./pages/pulls.tsx";
import { recordingPages } from "./pages/recordings.tsx";
import { sessionPages } from "./pages/session.tsx";
import { settingsPages } from "./pages/settings.tsx";
import { taskBatchPages } from "./pages/task-batches.tsx";
import { taskDisputePages } from "./pages/task-disputes.tsx";
import { taskStatsPages } from "./pages/task-stats.tsx";
import { taskPages } from "./pages/tasks.tsx";
import { templatePages } from "./pages/templates.tsx";
import { terminalPages } from "./pages/terminal.tsx";
import { timesheetPages } from "./pages/timesheets.tsx";
import { workspaceHostPages } from "./pages/workspace-hosts.tsx";
import {
  csrfTokenFor,
  csrfTokenMatches,
  render,
  sayError,
  type WebContext,
  type WebDeps,
  type WebEnv,
} from "./web-env.ts";

/** Paths that are not pages: the API, better-auth, and the operational endpoints. */
const notAPage = (path: string) =>
  path.startsWith("/api/") || path === "/api" || path === "/healthz" || path === "/readyz" || path === "/metrics";

/** Pages anyone may open; every other page sends a stranger to sign in. */
const publicPages = new Set(["/sign-in", "/invite"]);
/** An office's public page (its description, life guide and interest form) needs no sign-in either. */
const isPublicPage = (path: string) => publicPages.has(path) || /^\/office-guide\/[^/]+(\/interest)?$/.test(path);

const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

/** Azusa's icon: the letter A on the header's navy. */
const FAVICON =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#15304f"/>' +
  '<path d="M16 6 8 26h4l1.6-4.5h4.8L20 26h4L16 6Zm-1.3 12 1.3-4 1.3 4h-2.6Z" fill="#fff"/></svg>';

const stylesheet = readFileSync(new URL("./assets/azusa.css", import.meta.url), "utf8");

/** The page for a failure: 404 looks like any missing page, whatever the reason. */
function ErrorPage({ c, err }: { c: WebContext; err: AppError }) {
  const t = c.get("t");
  const title =
    err.code === "NOT_FOUND"
      ? t("error.notFound.title")
      : err.code === "FORBIDDEN"
        ? t("error.forbidden.title")
        : err.code === "CONFLICT" || err.code === "INVALID_STATE"
          ? t("error.conflict.title")
          : t("error.generic.title");
  const body =
    err.code === "NOT_FOUND"
      ? t("error.notFound.body")
      : err.code === "FORBIDDEN"
        ? t("error.forbidden.body")
        : err.code === "INTERNAL"
          ? ""
          : sayError(c, err);
  return (
    <Layout c={c} title={title}>
      <div class="notice notice-error" role="alert">
        {body ? <p>{body}</p> : null}
        <p class="hint">{t("error.requestId", { id: c.get("requestId") ?? "" })}</p>
      </div>
      <p>
        <a href="/">{t("common.back")}</a>
      </p>
    </Layout>
  );
}

/** Every page, ready to be mounted at "/" of the application. */
export function webRoutes(deps: WebDeps) {
  const web = new Hono<WebEnv>();

  web.onError((err, c) => {
    const appError = toAppError(err);
    if (notAPage(c.req.path)) return errorResponse(c, appError);
    if (appError.code === "INTERNAL") deps.logger.error({ requestId: c.get("requestId"), err }, "page failed");
    if (appError.code === "UNAUTHENTICATED") return c.redirect(signInUrl(c, true), 303);
    if (!c.get("t")) {
      c.set("lang", "ja");
      c.set("t", translator("ja"));
      c.set("user", null);
      c.set("csrfToken", "");
      c.set("unread", 0);
    }
    if (appError.code === "UNAVAILABLE") c.header("retry-after", String(RETRY_AFTER_SECONDS));
    return render(c, <ErrorPage c={c} err={appError} />, statusOf[appError.code]);
  });

  // Browsers ask for /favicon.ico on every site; an SVG answers it (a 404 filled the logs and the console).
  web.get("/favicon.ico", (c) =>
    c.body(FAVICON, 200, { "content-type": "image/svg+xml", "cache-control": "public, max-age=86400" }),
  );

  web.get("/assets/azusa.css", (c) =>
    c.body(stylesheet, 200, { "content-type": "text/css; charset=utf-8", "cache-control": "public, max-age=3600" }),
  );

  // A WBS is larger than other forms (src/http/app.ts exempts this path from the general limit).
  web.use(
    "/contracts/:id/wbs",
    bodyLimit({
      maxSize: deps.wbsLimit,
      onError: () => {
        throw fail("PAYLOAD_TOO_LARGE", text("wbs.tooLarge", { bytes: deps.wbsLimit }));
      },
    }),
  );

  // Language, the signed-in person and the form token, for every page.
  web.use("*", async (c, next) => {
    const path = c.req.path;
    if (notAPage(path) || path.startsWith("/assets/")) return next();
    const chosen = c.req.query("lang");
    const lang = chooseLang({ query: chosen, cookie: getCookie(c, "lang") });
    if (chosen === lang) {
      setCookie(c, "lang", lang, { path: "/", sameSite: "Lax", maxAge: 365 * 86400, httpOnly: true });
    }
    c.set("lang", lang);
    c.set("t", translator(lang));
    c.header("content-security-policy", CSP);
    c.header("cache-control", "no-store");
    const principal = await deps.credentials.principal(c.req.raw.headers);
    const cookie = sessionCookieFrom(c.req.raw.headers);
    const user = principal && principal.via === "session" && cookie ? { kind: "user" as const, ...principal } : null;
    c.set("user", user);
    c.set("csrfToken", user && cookie ? csrfTokenFor(cookie) : "");
    c.set("unread", user ? (await deps.notifications.list(user, { unread: true })).length : 0);
    if (!user && !isPublicPage(path)) {
      return c.redirect(signInUrl(c, cookie !== null), 303);
    }
    if (user && c.req.method === "POST") {
      // `all`: the body is parsed once and kept, so repeated fields (checkboxes) must stay lists for the page.
      const form = await c.req.parseBody({ all: true });
      if (!csrfTokenMatches(c.get("csrfToken"), form._csrf)) {
        throw fail("FORBIDDEN", text("error.csrf"));
      }
    }
    await next();
  });

  web.route("/", sessionPages(deps));
  web.route("/", contractPages(deps));
  web.route("/", planPages(deps));
  web.route("/", packagePages(deps));
  web.route("/", engineerPages(deps));
  web.route("/", operatorPages(deps));
  web.route("/", workspaceHostPages(deps));
  web.route("/", invitationPages(deps));
  web.route("/", pullPages(deps));
  web.route("/", timesheetPages(deps));
  web.route("/", deliveryPages(deps));
  web.route("/", hoursPages(deps));
  web.route("/", notificationPages(deps));
  web.route("/", settingsPages(deps));
  web.route("/", mailPages(deps));
  web.route("/", terminalPages(deps));
  web.route("/", idePages(deps));
  web.route("/", recordingPages(deps));
  web.route("/", templatePages(deps));
  web.route("/", officePages(deps));
  web.route("/", guidePages(deps));
  web.route("/", interestPages(deps));
  web.route("/", programmeReportPages(deps));
  web.route("/", availabilityPages(deps));
  web.route("/", taskPages(deps));
  web.route("/", taskBatchPages(deps));
  web.route("/", taskDisputePages(deps));
  web.route("/", taskStatsPages(deps));
  // Any other page is "not found" as a page; other paths keep the application's JSON answer.
  web.get("*", (c, next) => {
    if (notAPage(c.req.path)) return next();
    throw notFound("page");
  });
  return web;
}

/** Where a stranger goes: the sign-in page, coming back here afterwards. */
function signInUrl(c: WebContext, expired: boolean): string {
  const url = new URL(c.req.url);
  const back = c.req.method === "GET" ? `${url.pathname}${url.search}` : "/";
  const params = new URLSearchParams({ next: back });
  if (expired) params.set("expired", "1");
  return `/sign-in?${params}`;
}
