// Read access to a package's canonical repository over Git's smart HTTP (`git clone <base>/git/<package>.git`)
// with the caller's email and password, or an API key as the password. Pushing is never accepted.
import { Hono } from "hono";
import type { CredentialStore, Principal } from "../../auth/credentials.ts";
import type { Actor } from "../../domain/actor.ts";
import type { AuditService } from "../../domain/audit/audit.service.ts";
import { AppError } from "../../domain/errors.ts";
import type { PullService } from "../../domain/pulls/pulls.service.ts";
import type { BuiltinForge } from "../../git/builtin-forge.ts";
import { advertiseRefs, uploadPack } from "../../git/smart-http.ts";
import type { AppEnv } from "../router.ts";

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
}) {
  const app = new Hono<AppEnv>();

  async function repository(c: { req: { header(name: string): string | undefined } }, name: string) {
    const principal = await principalOf(deps.credentials, c.req.header("authorization"));
    if (!principal) return { denied: "unauthenticated" as const };
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
    if (service === "git-receive-pack") throw new AppError("FORBIDDEN", "repositories are read-only over HTTP");
    if (service !== "git-upload-pack") throw new AppError("FORBIDDEN", "only smart HTTP clients are served");
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
    throw new AppError("FORBIDDEN", "repositories are read-only over HTTP: push to your workspace's origin");
  });

  return app;
}
