// Signing in and out through better-auth, accepting an invitation, and the way home for each role.
import { Hono } from "hono";
import type { Role } from "../../kernel/actor.ts";
import { AppError } from "../../kernel/errors.ts";
import type { MessageKey } from "../i18n/i18n.ts";
import { FieldErrors, Layout, menus, Notice } from "../layout.tsx";
import { formName, render, sayError, type WebContext, type WebDeps, type WebEnv } from "../web-env.ts";

const HERE = "http://azusa.invalid";

/**
 * Only a path on this site may follow sign-in; anything else would make the form an open redirect, so `next` is
 * resolved the way a browser resolves a `Location` (which drops tabs and newlines and reads a backslash as `/`), and only a
 * path that stays on this origin, written out normalised, is kept. Anything else goes home (`/`).
 */
export const safeNext = (next: unknown): string => {
  if (typeof next !== "string" || !next.startsWith("/") || next.length > 2000) return "/";
  let url: URL;
  try {
    url = new URL(next, HERE);
  } catch {
    return "/";
  }
  const path = `${url.pathname}${url.search}${url.hash}`;
  // A path normalised to start with `//` (from `/.//host` or `/a/../..//host`) is another host's address again.
  return url.origin === HERE && path.startsWith("/") && !path.startsWith("//") ? path : "/";
};

/** The first page of each role. */
const homeOf = (role: Role) => menus[role][0]?.href ?? "/";

function SignIn({
  c,
  next,
  message,
  brandLine,
  email,
}: {
  c: WebContext;
  next: string;
  message?: { kind: "ok" | "error"; key: MessageKey };
  brandLine: string | undefined;
  /** Filled in: the address of the account just made, or the one that failed to sign in. */
  email?: string | undefined;
}) {
  const t = c.get("t");
  return (
    <Layout c={c} title={t("signIn.title")}>
      <p class="hint" id="brand-line">
        {brandLine ?? t("app.tagline")}
      </p>
      {message ? <Notice kind={message.kind}>{t(message.key)}</Notice> : null}
      <form method="post" action="/sign-in" class="stack card">
        <input type="hidden" name="next" value={next} />
        <label>
          {t("signIn.email")}
          <input type="email" name="email" value={email} autocomplete="username" required autofocus={!email} />
        </label>
        <label>
          {t("signIn.password")}
          <input type="password" name="password" autocomplete="current-password" required autofocus={!!email} />
        </label>
        <button type="submit">{t("signIn.submit")}</button>
      </form>
    </Layout>
  );
}

function AcceptInvitation({
  c,
  token,
  invited,
  error,
}: {
  c: WebContext;
  token: string;
  /** The address and role the token's invitation is for, when it is one. */
  invited?: { email: string; role: Role } | undefined;
  error?: { message: string; fields?: { path: string; message: string }[] };
}) {
  const t = c.get("t");
  return (
    <Layout c={c} title={t("invite.title")}>
      {error?.fields ? <FieldErrors c={c} fields={error.fields} /> : null}
      {error && !error.fields ? <Notice kind="error">{t("invite.failed", { message: error.message })}</Notice> : null}
      <form method="post" action="/invite" class="stack card">
        {invited ? (
          <>
            <p id="invited-as">{t("invite.as", { role: t(`role.${invited.role}`) })}</p>
            <label>
              {t("signIn.email")}
              <input type="email" name="email" value={invited.email} readonly autocomplete="username" />
            </label>
            <input type="hidden" name="token" value={token} />
          </>
        ) : (
          <label>
            {t("invite.token")}
            <input type="text" name="token" value={token} required autocomplete="off" />
          </label>
        )}
        <label>
          {t("invite.name")}
          <input type="text" name="name" autocomplete="name" required />
        </label>
        <label>
          {t("invite.password")}
          <input type="password" name="password" autocomplete="new-password" minlength={12} required />
        </label>
        <button type="submit">{t("invite.submit")}</button>
      </form>
    </Layout>
  );
}

/** Sign-in, sign-out, invitations' acceptance and the home redirect. */
export function sessionPages(deps: WebDeps) {
  const origin = new URL(deps.baseUrl).origin;
  /** A request to better-auth's routes, as the browser would have sent it. */
  const authRequest = (c: WebContext, path: string, body: unknown) => {
    const headers = new Headers({ "content-type": "application/json", origin });
    for (const name of ["cookie", "user-agent", "x-forwarded-for"]) {
      const value = c.req.header(name);
      if (value) headers.set(name, value);
    }
    return deps.dispatch(
      new Request(`${origin}/api/auth${path}`, { method: "POST", headers, body: JSON.stringify(body) }),
      c.env,
    );
  };
  /** The address and role of a pending invitation the token opens; nothing for any other token. */
  const pendingInvitation = async (token: string) => {
    const inv = await deps.accounts.invitationByToken(token);
    return inv?.status === "pending" ? { email: inv.email, role: inv.role } : undefined;
  };
  const passCookies = (c: WebContext, res: Response) => {
    for (const value of res.headers.getSetCookie()) c.header("set-cookie", value, { append: true });
  };

  return new Hono<WebEnv>()
    .get("/", (c) => {
      const user = c.get("user");
      return c.redirect(user ? homeOf(user.role) : "/sign-in", 303);
    })
    .get("/sign-in", (c) => {
      const user = c.get("user");
      const next = safeNext(c.req.query("next"));
      if (user) return c.redirect(next === "/" ? homeOf(user.role) : next, 303);
      const message = c.req.query("expired")
        ? ({ kind: "error", key: "signIn.expired" } as const)
        : c.req.query("out")
          ? ({ kind: "ok", key: "signIn.signedOut" } as const)
          : c.req.query("welcome")
            ? ({ kind: "ok", key: "signIn.welcome" } as const)
            : undefined;
      const email = c.req.query("email")?.slice(0, 320);
      return render(c, <SignIn c={c} next={next} message={message} brandLine={deps.brandLine} email={email} />);
    })
    .post("/sign-in", async (c) => {
      const form = await c.req.parseBody();
      const next = safeNext(form.next);
      const res = await authRequest(c, "/sign-in/email", {
        email: String(form.email ?? ""),
        password: String(form.password ?? ""),
      });
      if (!res.ok) {
        const key = res.status === 429 ? "signIn.throttled" : "signIn.failed";
        return render(
          c,
          <SignIn c={c} next={next} message={{ kind: "error", key }} brandLine={deps.brandLine} />,
          res.status === 429 ? 429 : 401,
        );
      }
      passCookies(c, res);
      const { user } = (await res.json()) as { user: { role: Role } };
      return c.redirect(next === "/" ? homeOf(user.role) : next, 303);
    })
    .post("/sign-out", async (c) => {
      passCookies(c, await authRequest(c, "/sign-out", {}));
      return c.redirect("/sign-in?out=1", 303);
    })
    .get("/invite", async (c) => {
      const token = c.req.query("token") ?? "";
      return render(c, <AcceptInvitation c={c} token={token} invited={await pendingInvitation(token)} />);
    })
    .post("/invite", async (c) => {
      const form = await c.req.parseBody();
      const token = String(form.token ?? "");
      const invited = await pendingInvitation(token);
      const fields = (["token", "name", "password"] as const)
        .filter((f) => !String(form[f] ?? "").trim())
        .map((path) => ({ path, message: c.get("t")("common.required") }));
      if (fields.length)
        return render(
          c,
          <AcceptInvitation c={c} token={token} invited={invited} error={{ message: "", fields }} />,
          400,
        );
      let email: string;
      try {
        const name = formName(form, "name", 200);
        ({ email } = await deps.accounts.acceptInvitation({ token, name, password: String(form.password) }));
      } catch (err) {
        if (!(err instanceof AppError) || err.code === "INTERNAL") throw err;
        return render(
          c,
          <AcceptInvitation c={c} token={token} invited={invited} error={{ message: sayError(c, err) }} />,
          400,
        );
      }
      // The sign-in form comes back with the new account's address filled in.
      return c.redirect(`/sign-in?${new URLSearchParams({ welcome: "1", email })}`, 303);
    });
}
