// A template's own IDE (code-server, openvscode-server) under /my-packages/:id/ide/app/, behind the pages'
// sign-in: its requests and its WebSockets go to the workspace through src/gateway/ide-proxy.ts.
import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { Hono } from "hono";
import { clientIp } from "../../api/client-ip.ts";
import { sessionCookieFrom } from "../../auth/credentials.ts";
import { AppError, notFound } from "../../domain/errors.ts";
import type { Principal } from "../../gateway/bridge.ts";
import { ideAppPath, ideAppTarget } from "../../gateway/ide-proxy.ts";
import type { WebDeps, WebEnv } from "../web-env.ts";

type Deps = Pick<WebDeps, "credentials" | "ideProxy" | "trustProxy" | "baseUrl" | "logger">;

/** Who is signed in with a session on these headers, or null (API keys never open pages). */
async function signedIn(deps: Deps, headers: Headers) {
  const principal = await deps.credentials.principal(headers);
  return principal && principal.via === "session" && sessionCookieFrom(headers) ? principal : null;
}

/** The engineer signed in on these headers, or null. */
const engineerOf = async (deps: Deps, headers: Headers) => {
  const principal = await signedIn(deps, headers);
  return principal?.role === "engineer" ? principal.userId : null;
};

/** Every request under a package's IDE path, answered by the IDE itself. */
export function ideAppPages(deps: Deps) {
  const origin = new URL(deps.baseUrl).origin;
  return new Hono<WebEnv>().all("*", async (c, next) => {
    const target = ideAppTarget(c.req.path);
    if (!target) return next();
    const headers = c.req.raw.headers;
    const principal = await signedIn(deps, headers);
    if (!principal) throw new AppError("UNAUTHENTICATED", "sign in to open the IDE");
    if (principal.role !== "engineer") throw notFound("page");
    // Only Azusa's own pages (the IDE among them) may change anything through it.
    if (c.req.method !== "GET" && c.req.method !== "HEAD" && c.req.header("origin") !== origin) {
      throw new AppError("FORBIDDEN", "the IDE takes changes only from its own pages");
    }
    const prefix = ideAppPath(target.packageId);
    // The IDE's pages load what they need relative to their own address, which must end in "/".
    if (target.rest === "") return c.redirect(`${prefix}/${new URL(c.req.url).search}`, 308);
    const who: Principal = {
      engineerId: principal.userId,
      packageId: target.packageId,
      source: clientIp(c, deps.trustProxy),
      transport: "browser",
    };
    const port = await deps.ideProxy.portFor(who);
    if ("reason" in port) throw notFound("page");
    try {
      return await deps.ideProxy.request(port.principal, port.port, c.req.raw, target.rest, prefix);
    } catch (err) {
      deps.logger.warn({ err: (err as Error).message, packageId: target.packageId }, "ide did not answer");
      throw new AppError(
        "UNAVAILABLE",
        "the workspace's IDE does not answer; open the IDE again from your package to start it",
      );
    }
  });
}

/**
 * The upgrade handler for WebSockets under a package's IDE path: true when it took the request (the
 * others go on to the application's own WebSockets). Same sign-in, role and origin rules as the pages.
 */
export function ideUpgradeHandler(deps: Deps) {
  const origin = new URL(deps.baseUrl).origin;
  const refuse = (socket: Duplex, status: number, text: string) => {
    if (!socket.destroyed) {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    }
  };
  return (incoming: IncomingMessage, socket: Duplex, head: Buffer): boolean => {
    const url = new URL(incoming.url ?? "/", origin);
    const target = ideAppTarget(url.pathname);
    if (!target?.rest) return false;
    const requestId = randomUUID();
    socket.on("error", () => undefined);
    void (async () => {
      const headers = new Headers();
      for (const [name, value] of Object.entries(incoming.headers)) {
        if (typeof value === "string") headers.set(name, value);
      }
      // A WebSocket is not bound by the same-origin policy: a page elsewhere could open one with this
      // person's cookie (cross-site WebSocket hijacking). Only pages of Azusa's origin may.
      if (headers.get("origin") !== origin) return refuse(socket, 403, "Forbidden");
      const engineerId = await engineerOf(deps, headers);
      if (!engineerId) return refuse(socket, 404, "Not Found");
      const source = clientIp(
        { req: { header: (name: string) => headers.get(name) ?? undefined }, env: { incoming } },
        deps.trustProxy,
      );
      const who: Principal = {
        engineerId,
        packageId: target.packageId,
        source,
        transport: "browser",
        // Signing out (or the session expiring) ends the IDE's sockets it opened.
        recheck: async () => ((await engineerOf(deps, headers)) === engineerId ? null : "signed out"),
      };
      const port = await deps.ideProxy.portFor(who);
      if ("reason" in port) return refuse(socket, 404, "Not Found");
      deps.logger.info({ requestId, packageId: target.packageId, path: target.rest }, "ide websocket");
      await deps.ideProxy.upgrade(
        port.principal,
        port.port,
        incoming,
        socket,
        head,
        `${target.rest}${url.search}`,
        ideAppPath(target.packageId),
      );
    })().catch((err: Error) => {
      deps.logger.warn({ requestId, err: err.message }, "ide websocket failed");
      refuse(socket, 502, "Bad Gateway");
    });
    return true;
  };
}
