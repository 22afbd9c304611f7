// The Hono application: request context, errors, authentication and operational endpoints; mounts src/api and src/web.
import { timingSafeEqual } from "node:crypto";
import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { csrf } from "hono/csrf";
import { HTTPException } from "hono/http-exception";
import { API, type ApiDeps, isPublicApiPath, mountApi } from "../api/api.routes.ts";
import { taskDocumentUpload } from "../api/tasks/tasks.routes.ts";
import type { Auth } from "../auth/auth.ts";
import { CLIENT_IP_HEADER } from "../auth/auth.ts";
import { apiKeyFrom, sessionCookieFrom } from "../auth/credentials.ts";
import type { AttemptLimit } from "../domain/accounts/sign-in-throttle.ts";
import type { AuditService } from "../domain/audit/audit.service.ts";
import { type Actor, isRole, system } from "../kernel/actor.ts";
import { type ErrorCode, fail } from "../kernel/errors.ts";
import { catalogue, type MessageId, text } from "../kernel/messages.ts";
import type { Logger } from "../logger.ts";
import type { EngineProbe } from "../provisioner/docker-engine.ts";
import { webRoutes } from "../web/web.routes.tsx";
import type { WebDeps } from "../web/web-env.ts";
import { clientIp } from "./client-ip.ts";
import { errorResponse, toAppError } from "./errors.ts";
import { type Metrics, observe } from "./metrics.ts";
import { requestStamp } from "./request-context.ts";
import { roundNoise } from "./round-noise.ts";
import { type AppEnv, createRouter } from "./router.ts";

/** What the application needs: what the API modules and the pages take, and what this layer uses itself. */
export type AppDeps = ApiDeps &
  Omit<WebDeps, "dispatch"> & {
    auth: Auth;
    audit: AuditService;
    logger: Logger;
    metrics: Metrics;
    probes: { database(): Promise<void>; docker: EngineProbe };
    bodyLimit: number;
    trustProxy: boolean;
    /** When set, /metrics needs it as a bearer token. */
    metricsToken?: string;
    /** Sign-in attempts per client address (AZUSA_SIGNIN_LIMIT a minute), counted in the database. */
    signIns: AttemptLimit;
  };

const safeEqual = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/** better-auth endpoints exposed under /api/auth; everything else it offers stays internal. */
const authPaths = new Set([
  "/sign-in/email",
  "/sign-out",
  "/get-session",
  "/list-sessions",
  "/revoke-session",
  "/revoke-sessions",
  "/revoke-other-sessions",
  "/change-password",
]);

const authErrorCode = (status: number): ErrorCode =>
  status === 401
    ? "UNAUTHENTICATED"
    : status === 403
      ? "FORBIDDEN"
      : status === 404
        ? "NOT_FOUND"
        : status === 429
          ? "RATE_LIMITED"
          : status < 500
            ? "VALIDATION"
            : "INTERNAL";

export function createApp(deps: AppDeps) {
  const app = createRouter({ memo: true });
  const { logger } = deps;

  // One frame for the request id, the security headers, the request log and the metrics: every middleware
  // costs a frame on every request.
  const stamp = requestStamp({ https: deps.baseUrl.startsWith("https:") });
  const measured = observe<AppEnv>(deps.metrics, (c, ms) => {
    if (!logger.isLevelEnabled("info")) return;
    const actor = c.get("actor");
    logger.info(
      {
        requestId: c.get("requestId"),
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round(ms * 10) / 10,
        actor: actor?.kind === "user" ? actor.userId : undefined,
      },
      "request",
    );
  });
  app.use("*", (c, next) => {
    stamp(c);
    return measured(c, next);
  });
  const limitBody = bodyLimit({
    maxSize: deps.bodyLimit,
    onError: () => {
      throw fail("PAYLOAD_TOO_LARGE", text("error.bodyLarger", { bytes: deps.bodyLimit }));
    },
  });
  // A request that a session cookie authenticates must come from Azusa's own pages, whatever its body: browsers
  // name the origin of every POST, PUT, PATCH and DELETE, and a JSON body is no guarantee (a foreign page can send
  // one as text/plain, or a same-site one can send it outright). Scripts holding an API key are not browsers and
  // are exempt, as are requests with no cookie (a sign-in, Git's Basic credentials, webhooks); a form-like POST of
  // those must still come from this origin, as browsers send those cross-site without a preflight.
  const ownOrigin = new URL(deps.baseUrl).origin;
  const sameOrigin = csrf({ origin: ownOrigin });
  const checkOrigin = async (c: Context<AppEnv>, next: () => Promise<void>): Promise<void> => {
    const headers = c.req.raw.headers;
    if (sessionCookieFrom(headers) && !apiKeyFrom(headers)) {
      const origin = headers.get("origin");
      if (origin !== ownOrigin) {
        const named = origin
          ? text("error.originNamed", { origin: JSON.stringify(origin.slice(0, 200)) })
          : text("error.originMissing");
        throw fail("FORBIDDEN", text("error.origin", { origin: named, own: ownOrigin }));
      }
      return next();
    }
    if (c.req.method !== "POST") return next();
    try {
      await sameOrigin(c, next);
    } catch (err) {
      if (err instanceof HTTPException && err.status === 403) {
        throw fail("FORBIDDEN", text("error.crossSite"));
      }
      throw err;
    }
  };
  // Reads carry no body and need no origin check: they pass straight through, sparing a full Request.
  // A WBS upload and a task document upload have larger limits of their own (contracts.routes.ts, tasks.routes.ts).
  const wbsUpload = /^(\/api\/v1)?\/contracts\/[^/]+\/wbs$/;
  app.use("*", (c, next) => {
    const method = c.req.method;
    if (method === "GET" || method === "HEAD") return next();
    const inner = method === "OPTIONS" ? next : () => checkOrigin(c, next);
    const path = c.req.path;
    return wbsUpload.test(path) || taskDocumentUpload.test(path) ? inner() : limitBody(c, inner);
  });

  app.onError((err, c) => {
    const appError = toAppError(err, c.req.header("content-type"));
    if (appError.code === "INTERNAL") {
      logger.error({ requestId: c.get("requestId"), err }, "unexpected error");
    }
    return errorResponse(c, appError);
  });
  app.notFound((c) =>
    errorResponse(c, fail("NOT_FOUND", text("error.noRoute", { method: c.req.method, path: c.req.path }))),
  );

  // Liveness, readiness and metrics.
  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/readyz", async (c) => {
    const check = async (probe: () => Promise<void>) => {
      try {
        await probe();
        return { ok: true as const };
      } catch (err) {
        // The detail (addresses, user names) goes to the log, not to an anonymous caller.
        logger.warn({ err: err instanceof Error ? err.message : String(err) }, "readiness check failed");
        return { ok: false as const, error: "unreachable" };
      }
    };
    const [database, docker] = await Promise.all([check(deps.probes.database), check(() => deps.probes.docker.ping())]);
    const ready = database.ok && docker.ok;
    return c.json({ status: ready ? "ready" : "unavailable", checks: { database, docker } }, ready ? 200 : 503);
  });
  app.get("/metrics", async (c) => {
    if (deps.metricsToken && !safeEqual(c.req.header("authorization") ?? "", `Bearer ${deps.metricsToken}`)) {
      throw fail("UNAUTHENTICATED", text("error.metricsToken"));
    }
    return c.body(await deps.metrics.registry.metrics(), 200, { "content-type": deps.metrics.registry.contentType });
  });

  // better-auth, with the client address pinned from the socket and sign-ins audited.
  app.on(["GET", "POST"], "/api/auth/*", async (c) => {
    // Only the endpoints Azusa uses are reachable: API keys, for one, go through /api/v1 so that
    // their rules and audit apply.
    if (!authPaths.has(c.req.path.slice("/api/auth".length))) {
      throw fail("NOT_FOUND", text("error.noRoute", { method: c.req.method, path: c.req.path }));
    }
    const headers = new Headers(c.req.raw.headers);
    headers.set(CLIENT_IP_HEADER, clientIp(c, deps.trustProxy));
    const body = c.req.method === "POST" ? await c.req.arrayBuffer() : undefined;
    const signIn = c.req.path === "/api/auth/sign-in/email";
    if (signIn) {
      // Counted in the database before the password is looked at, so that every process shares one limit.
      const ip = clientIp(c, deps.trustProxy);
      const admitted = await deps.signIns.admit(ip);
      if (!admitted.ok) {
        await auditSignIn(deps.audit, c, body, new Response(null, { status: 429 }), ip);
        const out = errorResponse(c, fail("RATE_LIMITED", text("error.signInThrottled")));
        out.headers.set("retry-after", String(admitted.retryAfterSeconds));
        return out;
      }
    }
    // Sign-out, session revocation and a password change end sessions: forget them before better-auth acts,
    // and after (a lookup that read the session before better-auth ended it must not have left it remembered).
    const endsSessions = c.req.method === "POST" && !signIn;
    if (endsSessions) deps.credentials.forget(headers);
    const res = await deps.auth.handler(new Request(c.req.raw.url, { method: c.req.method, headers, body }));
    if (endsSessions) deps.credentials.forget(headers);
    if (signIn) await auditSignIn(deps.audit, c, body, res, clientIp(c, deps.trustProxy));
    if (res.ok) return res;
    const payload = (await res.json().catch(() => ({}))) as { code?: string; message?: string };
    const known = `auth.${payload.code}`;
    const said =
      known in catalogue
        ? text(known as MessageId)
        : text("error.authRefused", { words: payload.message ?? res.statusText });
    const err = fail(authErrorCode(res.status), said);
    const out = errorResponse(c, err);
    const retry = res.headers.get("x-retry-after");
    if (retry) out.headers.set("retry-after", retry);
    return new Response(out.body, { status: res.status, headers: out.headers });
  });

  // Everything under /api/v1 needs a caller, but the OpenAPI document, the docs and accepting an invitation.
  app.use(`${API}/*`, (c, next) => {
    // A credential checked moments ago needs no await: most requests of a signed-in caller pass here.
    const known = deps.credentials.remembered(c.req.raw.headers);
    if (known) {
      c.set("actor", { kind: "user", ...known });
      c.set("principal", known);
      return next();
    }
    return authenticate(c, next);
  });
  const authenticate = async (c: Context<AppEnv>, next: () => Promise<void>): Promise<void> => {
    const principal = await deps.credentials.principal(c.req.raw.headers);
    const actor: Actor | null = principal ? { kind: "user", ...principal } : null;
    c.set("actor", actor);
    c.set("principal", principal);
    if (!actor && !isPublicApiPath(c.req.path)) {
      throw fail("UNAUTHENTICATED", text("error.signInOrKey"));
    }
    await next();
  };

  // Figures reach clients as people write them (139.08), never with floating-point noise (139.07999999999998).
  app.use(`${API}/*`, roundNoise());
  mountApi(app, deps);
  // The pages (src/web), outside /api: the same services, so the same visibility; sign-in goes through /api/auth.
  app.route("/", webRoutes({ ...deps, dispatch: (request, env) => app.fetch(request, env) }));

  return app;
}

async function auditSignIn(
  audit: AuditService,
  c: Context<AppEnv>,
  body: ArrayBuffer | undefined,
  res: Response,
  ip: string,
) {
  let email = "";
  try {
    email = String((JSON.parse(new TextDecoder().decode(body)) as { email?: unknown }).email ?? "").toLowerCase();
  } catch {
    // An unreadable body is still a failed attempt; it is recorded without an email.
  }
  if (res.ok) {
    const { user } = (await res.clone().json()) as { user: { id: string; role: unknown; tenantId?: string | null } };
    if (!isRole(user.role)) return;
    await audit.record(
      { kind: "user", userId: user.id, email, role: user.role, tenantId: user.tenantId ?? null, via: "session" },
      "auth.sign_in",
      `user:${user.id}`,
      { ip },
    );
  } else {
    await audit.record(system("auth"), "auth.sign_in_failed", `email:${email}`, {
      ip,
      status: res.status,
      requestId: c.get("requestId"),
    });
  }
}
