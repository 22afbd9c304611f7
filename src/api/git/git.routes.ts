// Read access to a package's canonical repository over Git's smart HTTP (`git clone <base>/git/<package>.git`)
// with the caller's email and password, or an API key as the password. Pushing is never accepted.
import { Hono } from "hono";
import type { CredentialStore, Principal } from "../../auth/credentials.ts";
import type { Lockout } from "../../domain/accounts/sign-in-throttle.ts";
import type { AuditService } from "../../domain/audit/audit.service.ts";
import type { PullService } from "../../domain/pulls/pulls.service.ts";
import type { BuiltinForge } from "../../git/builtin-forge.ts";
import { advertiseRefs, uploadPack } from "../../git/smart-http.ts";
import { clientIp } from "../../http/client-ip.ts";
import type { AppEnv } from "../../http/router.ts";
import { type Actor, system } from "../../kernel/actor.ts";
import { fail } from "../../kernel/errors.ts";
import { text } from "../../kernel/messages.ts";

const challenge = { "www-authenticate": 'Basic realm="Azusa", charset="UTF-8"' };

/** Who the Basic credentials name: email and password, or anything and an API key (azk_…) as the password. */
async function principalOf(credentials: CredentialStore, header: string | undefined): Promise<Principal | null> {
  if (!header?.startsWith("Basic ")) return null;
  const decoded = Buffer.from(header.slice(6), "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return null;
  const user = decoded.slice(0, colon);
  const password = decoded.slice(colon + 1);
  if (!password) return null;
  if (password.startsWith("azk_")) return credentials.principal(new Headers({ "x-api-key": password }));
  return credentials.verifyPassword(user, password);
}

/** Mounted at /git, outside /api/v1: git clients send Basic credentials, not cookies. */
export function gitRoutes(deps: {
  credentials: CredentialStore;
  pulls: PullService;
  forge: BuiltinForge;
  audit: AuditService;
  /**
   * Failed Basic sign-ins per client address (AZUSA_SIGNIN_LIMIT within a minute lock it for a minute), counted in
   * the database: passwords sent to Git get the same limit as the sign-in form, or /git would be a way around it.
   */
  gitFailures: Lockout;
  /** Behind a trusted proxy the client is the last X-Forwarded-For hop (the proxy's), as for sign-in. */
  trustProxy: boolean;
}) {
  const app = new Hono<AppEnv>();

  async function repository(
    c: { req: { header(name: string): string | undefined }; env?: AppEnv["Bindings"] },
    name: string,
  ) {
    const ip = clientIp(c, deps.trustProxy);
    if (await deps.gitFailures.locked(ip)) throw fail("RATE_LIMITED", text("git.throttled"));
    const header = c.req.header("authorization");
    const principal = await principalOf(deps.credentials, header);
    if (!principal) {
      // A client first asks without credentials to learn that it must send some: that is not a failure.
      if (header) {
        await deps.gitFailures.fail(ip);
        await deps.audit.record(system("git-http"), "auth.sign_in_failed", `repository:${name}`, {
          ip,
          via: "git-http",
        });
      }
      return { denied: "unauthenticated" as const };
    }
    const actor: Actor = { kind: "user", ...principal, via: "session" };
    const packageId = name.replace(/\.git$/, "");
    const repo = await deps.pulls.readable(actor, packageId);
    return { actor, packageId, dir: deps.forge.pathOf(repo) };
  }

  const unauthenticated = () =>
    new Response("Authentication required: your Azusa email and password, or an API key as the password\n", {
      status: 401,
      headers: challenge,
    });

  app.get("/:name/info/refs", async (c) => {
    const service = c.req.query("service");
    if (service === "git-receive-pack") throw fail("FORBIDDEN", text("git.readOnly"));
    if (service !== "git-upload-pack") throw fail("FORBIDDEN", text("git.smartOnly"));
    const r = await repository(c, c.req.param("name"));
    if ("denied" in r) return unauthenticated();
    return advertiseRefs(r.dir);
  });

  app.post("/:name/git-upload-pack", async (c) => {
    const r = await repository(c, c.req.param("name"));
    if ("denied" in r) return unauthenticated();
    await deps.audit.record(
      r.actor,
      "repository.read",
      `package:${r.packageId}`,
      { via: "git-http" },
      {
        tenantId: await deps.pulls.tenantOf(r.packageId),
      },
    );
    return uploadPack(r.dir, c.req.raw.body, c.req.header("content-encoding") === "gzip");
  });

  app.post("/:name/git-receive-pack", () => {
    throw fail("FORBIDDEN", text("git.pushToWorkspace"));
  });

  return app;
}
