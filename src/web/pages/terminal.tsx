// The browser terminal: a page with xterm.js (served by Azusa itself, never from a CDN) and the WebSocket
// behind it, which hands keystrokes to the same exec bridge as SSH (src/gateway/browser-terminal.ts).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { upgradeWebSocket } from "@hono/node-server";
import { Hono } from "hono";
import type { WebSocket } from "ws";
import { said } from "../../domain/sessions/access.ts";
import { clientIp } from "../../http/client-ip.ts";
import { fail, notFound } from "../../kernel/errors.ts";
import { text } from "../../kernel/messages.ts";
import { Layout } from "../layout.tsx";
import {
  type BrowserTerminal,
  render,
  requireRole,
  type WebContext,
  type WebDeps,
  type WebEnv,
  type WebUser,
} from "../web-env.ts";

const require = createRequire(import.meta.url);
const packageDir = (name: string) => dirname(require.resolve(`${name}/package.json`));

/** Files the terminal page loads, by their path under /assets/, with where they live and their type. */
const files: Record<string, { path: () => string; type: string }> = {
  "xterm/xterm.mjs": { path: () => join(packageDir("@xterm/xterm"), "lib/xterm.mjs"), type: "text/javascript" },
  "xterm/xterm.css": { path: () => join(packageDir("@xterm/xterm"), "css/xterm.css"), type: "text/css" },
  "xterm/addon-fit.mjs": {
    path: () => join(packageDir("@xterm/addon-fit"), "lib/addon-fit.mjs"),
    type: "text/javascript",
  },
  "xterm/addon-unicode11.mjs": {
    path: () => join(packageDir("@xterm/addon-unicode11"), "lib/addon-unicode11.mjs"),
    type: "text/javascript",
  },
  "constructed-styles.js": {
    path: () => new URL("../assets/constructed-styles.js", import.meta.url).pathname,
    type: "text/javascript",
  },
  "terminal.js": { path: () => new URL("../assets/terminal.js", import.meta.url).pathname, type: "text/javascript" },
  "terminal.css": { path: () => new URL("../assets/terminal.css", import.meta.url).pathname, type: "text/css" },
};

/** The page's address for a package; "my packages" links here. */
export const terminalPath = (packageId: string) => `/my-packages/${packageId}/terminal`;

function TerminalPage({
  c,
  title,
  folder,
  packageId,
}: {
  c: WebContext;
  title: string;
  folder: string;
  packageId: string;
}) {
  const t = c.get("t");
  return (
    <Layout
      c={c}
      title={title}
      scripts={["/assets/terminal.js"]}
      styles={["/assets/xterm/xterm.css", "/assets/terminal.css"]}
    >
      <p class="hint">{t("terminal.hint", { folder })}</p>
      <p
        id="terminal-status"
        role="status"
        data-connecting={t("terminal.connecting")}
        data-connected={t("terminal.connected")}
        data-ended={t("terminal.ended")}
      >
        {t("terminal.connecting")}
      </p>
      <section
        id="terminal"
        class="terminal"
        aria-label={t("terminal.label")}
        data-socket={`${terminalPath(packageId)}/socket`}
      />
      <p>
        <a href={terminalPath(packageId)} id="terminal-reconnect" hidden>
          {t("terminal.reconnect")}
        </a>
      </p>
    </Layout>
  );
}

/** The terminal's page, its socket and the files it loads. */
export function terminalPages(deps: WebDeps) {
  const cache = new Map<string, string>();
  const origin = new URL(deps.baseUrl).origin;
  const socketOrigin = origin.replace(/^http/, "ws");

  /** The engineer's own package with its workspace; anyone else, or a package not theirs, is "not found". */
  const ownPackage = async (user: WebUser, packageId: string) => {
    const access = await deps.engineers.access(user.userId, packageId);
    if (!access.ok) throw notFound("page");
    const [pkg, workspace] = await Promise.all([
      deps.packages.get(user, packageId),
      deps.workspaces.forPackage(user, packageId),
    ]);
    return { pkg, workspace };
  };

  return new Hono<WebEnv>()
    .get("/assets/*", (c, next) => {
      const name = c.req.path.slice("/assets/".length);
      const file = Object.hasOwn(files, name) ? files[name] : undefined;
      if (!file) return next();
      if (!file) throw notFound("asset");
      let body = cache.get(name);
      if (body === undefined) {
        body = readFileSync(file.path(), "utf8");
        cache.set(name, body);
      }
      return c.body(body, 200, {
        "content-type": `${file.type}; charset=utf-8`,
        "cache-control": "public, max-age=3600",
      });
    })
    .get("/my-packages/:packageId/terminal", async (c) => {
      const user = requireRole(c, "engineer");
      const { pkg, workspace } = await ownPackage(user, c.req.param("packageId"));
      const template = (await deps.workspaces.templates()).get(workspace.template);
      const title = c.get("t")("terminal.title", { wbs: pkg.wbsId, title: pkg.title });
      const folder = template?.azusa.workspaceFolder ?? "/workspace";
      const res = render(c, <TerminalPage c={c} title={title} folder={folder} packageId={pkg.id} />);
      // The page's one connection is its own socket: the policy names it, as some browsers do not count ws: as 'self'.
      res.headers.set(
        "content-security-policy",
        `${res.headers.get("content-security-policy")}; connect-src 'self' ${socketOrigin}`,
      );
      return res;
    })
    .get(
      "/my-packages/:packageId/terminal/socket",
      async (c, next) => {
        const user = requireRole(c, "engineer");
        // A WebSocket is not bound by the same-origin policy: a page elsewhere could open one with this
        // person's cookie (cross-site WebSocket hijacking). Only Azusa's own pages may.
        if (c.req.header("origin") !== origin) throw fail("FORBIDDEN", text("terminal.ownPages"));
        await ownPackage(user, c.req.param("packageId"));
        await next();
      },
      upgradeWebSocket((c) => {
        const user = requireRole(c as WebContext, "engineer");
        const headers = c.req.raw.headers;
        const size = (name: string, fallback: number) => {
          const n = Number(c.req.query(name));
          return Number.isInteger(n) && n > 0 && n <= 1000 ? n : fallback;
        };
        let terminal: BrowserTerminal | undefined;
        return {
          onOpen(_event, ws) {
            const socket = ws.raw as WebSocket;
            terminal = deps.terminals.open(
              {
                engineerId: user.userId,
                packageId: c.req.param("packageId") as string,
                source: clientIp(c, deps.trustProxy),
                transport: "browser",
                // Signing out (or the session expiring) ends the terminals it opened.
                recheck: async () =>
                  (await deps.credentials.principal(headers))?.userId === user.userId
                    ? null
                    : said(text("access.signedOut")),
                // Refusals and why the terminal ended are said in the page's language.
                lang: (c as WebContext).get("lang"),
              },
              {
                send: (data, done) => socket.send(data, done),
                close: (code, reason) => socket.close(code, reason),
                pause: () => socket.pause(),
                resume: () => socket.resume(),
              },
              { cols: size("cols", 80), rows: size("rows", 24) },
            );
          },
          onMessage(event) {
            terminal?.message(event.data as string | ArrayBuffer);
          },
          onClose() {
            terminal?.closed();
          },
        };
      }),
    );
}
