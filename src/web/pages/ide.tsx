// The web IDE: the workspace folder's tree, an editor (Monaco, served by Azusa, over a plain form that works
// without it), save, search in files and the terminal, in one page. Files go through src/gateway/workspace-files.ts.
import { isUtf8 } from "node:buffer";
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, extname, join, normalize } from "node:path";
import { Hono } from "hono";
import { sessionCookiePair } from "../../auth/credentials.ts";
import type { FileEntry, SearchHit } from "../../domain/workspaces/workspace-files.ts";
import { clientIp } from "../../http/client-ip.ts";
import { AppError, notFound } from "../../kernel/errors.ts";
import { CsrfField, Layout, Notice } from "../layout.tsx";
import { render, requireRole, sayError, type WebContext, type WebDeps, type WebEnv } from "../web-env.ts";
import { terminalPath } from "./terminal.tsx";

// The package's "require" entry is min/vs/index.js: its folder is the AMD build the page loads.
const monacoDir = dirname(createRequire(import.meta.url).resolve("monaco-editor"));
const types: Record<string, string> = {
  ".js": "text/javascript",
  ".css": "text/css",
  ".json": "application/json",
  ".ttf": "font/ttf",
};

/** Monaco's own stylesheet embeds its icon font as a data: URL, which the policy's font-src refuses. */
const embeddedFont = /url\(data:font\/ttf;base64,([A-Za-z0-9+/=]+)\)/;

/**
 * Monaco's stylesheet with its icon font served beside it ('self'), and the font. Monaco's files are
 * served as they are otherwise.
 */
function monacoStyles(): { css: ArrayBuffer; font: ArrayBuffer } {
  const css = readFileSync(join(monacoDir, "editor/editor.main.css"), "utf8");
  const font = embeddedFont.exec(css)?.[1];
  if (!font) throw new Error("monaco-editor's editor.main.css no longer embeds its codicon font");
  const bytes = (b: Buffer) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
  return {
    css: bytes(Buffer.from(css.replace(embeddedFont, "url(/assets/monaco/vs/editor/codicon.ttf)"))),
    font: bytes(Buffer.from(font, "base64")),
  };
}

/**
 * Monaco's language workers by kind (editor, json, css, html, ts): files of its build, started by the page
 * from their own address ('self') rather than from the blob: URLs Monaco's loader would make.
 */
function monacoWorkers(): Record<string, string> {
  const workers: Record<string, string> = {};
  for (const name of readdirSync(join(monacoDir, "assets"))) {
    const kind = /^(\w+)\.worker-[\w-]+\.js$/.exec(name)?.[1];
    if (kind) workers[kind] = `/assets/monaco/vs/assets/${name}`;
  }
  return workers;
}

/** Monaco's language for a file name; plain text when it is not one of these. */
const languages: Record<string, string> = {
  ".ts": "typescript",
  ".tsx": "typescript",
  ".js": "javascript",
  ".mjs": "javascript",
  ".json": "json",
  ".md": "markdown",
  ".py": "python",
  ".java": "java",
  ".go": "go",
  ".sh": "shell",
  ".yml": "yaml",
  ".yaml": "yaml",
  ".css": "css",
  ".html": "html",
  ".sql": "sql",
  ".xml": "xml",
  ".rs": "rust",
  ".c": "c",
  ".cpp": "cpp",
  ".kt": "kotlin",
};

/** The IDE's address for a package, with the folder shown, the file open and the search asked. */
export const idePath = (
  packageId: string,
  q: { dir?: string; file?: string; q?: string; builtin?: "1" | undefined } = {},
) => {
  const params = new URLSearchParams(Object.entries(q).filter(([, v]) => v) as [string, string][]);
  return `/my-packages/${packageId}/ide${params.size ? `?${params}` : ""}`;
};

interface View {
  packageId: string;
  /** Azusa's own editor although the template names an IDE: kept on every link of the page. */
  builtin?: "1";
  title: string;
  folder: string;
  dir: string;
  entries: FileEntry[];
  file: { path: string; content: string; crlf: boolean } | null;
  search: { q: string; hits: SearchHit[] } | null;
  notice?: string;
  error?: string;
  /** Monaco's workers by kind, as the page starts them. */
  workers: Record<string, string>;
}

function IdePage({ c, v }: { c: WebContext; v: View }) {
  const t = c.get("t");
  const parent = v.dir.includes("/") ? v.dir.slice(0, v.dir.lastIndexOf("/")) : "";
  return (
    <Layout
      c={c}
      title={v.title}
      scripts={["/assets/ide.js", "/assets/terminal.js"]}
      styles={["/assets/xterm/xterm.css", "/assets/terminal.css", "/assets/ide.css"]}
    >
      {/* The part the page's script swaps when a file is opened or saved; the terminal below stays. */}
      <div id="ide-view" data-unsaved={t("ide.unsaved")}>
        {v.notice ? <Notice kind="ok">{v.notice}</Notice> : null}
        {v.error ? <Notice kind="error">{v.error}</Notice> : null}
        <div class="ide">
          <nav class="ide-tree" aria-label={t("ide.files")}>
            <h2>{v.dir ? `${v.folder}/${v.dir}` : v.folder}</h2>
            <ul>
              {v.dir ? (
                <li>
                  <a href={idePath(v.packageId, { dir: parent, builtin: v.builtin })}>{t("ide.up")}</a>
                </li>
              ) : null}
              {v.entries.map((e) => (
                <li class={`ide-${e.kind}`}>
                  {e.kind === "dir" ? (
                    <a href={idePath(v.packageId, { dir: e.path, builtin: v.builtin })}>{`${e.name}/`}</a>
                  ) : e.kind === "file" ? (
                    <a
                      href={idePath(v.packageId, { dir: v.dir, file: e.path, builtin: v.builtin })}
                      aria-current={v.file?.path === e.path ? "page" : undefined}
                    >
                      {e.name}
                    </a>
                  ) : (
                    <span title={t("ide.link")}>{`${e.name} ↪`}</span>
                  )}
                </li>
              ))}
            </ul>
            <form method="post" action={`/my-packages/${v.packageId}/ide/save`} class="ide-new">
              <CsrfField c={c} />
              <input type="hidden" name="dir" value={v.dir} />
              {v.builtin ? <input type="hidden" name="builtin" value="1" /> : null}
              <input type="hidden" name="content" value="" />
              <input type="hidden" name="create" value="1" />
              <label>
                {t("ide.newFile")}
                <input type="text" name="path" value={v.dir ? `${v.dir}/` : ""} required maxlength={500} />
              </label>
              <button type="submit" class="secondary">
                {t("ide.create")}
              </button>
            </form>
          </nav>
          <div class="ide-main">
            <form method="get" action={idePath(v.packageId)} class="row">
              <input type="hidden" name="dir" value={v.dir} />
              {v.builtin ? <input type="hidden" name="builtin" value="1" /> : null}
              {v.file ? <input type="hidden" name="file" value={v.file.path} /> : null}
              <label>
                {t("ide.search")}
                <input type="search" name="q" value={v.search?.q ?? ""} maxlength={200} />
              </label>
              <button type="submit" class="secondary">
                {t("ide.searchButton")}
              </button>
            </form>
            {v.search ? (
              <section aria-labelledby="ide-hits">
                <h2 id="ide-hits">{t("ide.hits", { count: v.search.hits.length })}</h2>
                <ul class="ide-hits">
                  {v.search.hits.map((h) => (
                    <li>
                      <a
                        href={idePath(v.packageId, { dir: v.dir, file: h.path, builtin: v.builtin })}
                      >{`${h.path}:${h.line}`}</a>{" "}
                      <code>{h.text}</code>
                    </li>
                  ))}
                </ul>
              </section>
            ) : null}
            {v.file ? (
              <form method="post" action={`/my-packages/${v.packageId}/ide/save`} id="ide-form">
                <CsrfField c={c} />
                <input type="hidden" name="path" value={v.file.path} />
                <input type="hidden" name="dir" value={v.dir} />
                {v.builtin ? <input type="hidden" name="builtin" value="1" /> : null}
                <input type="hidden" name="eol" value={v.file.crlf ? "crlf" : "lf"} />
                <label for="ide-content">{v.file.path}</label>
                {/* The parser drops a textarea's first newline: one is added so that the file's own survives. */}
                <textarea
                  id="ide-content"
                  name="content"
                  spellcheck={false}
                  data-language={languages[extname(v.file.path).toLowerCase()] ?? "plaintext"}
                >{`\n${v.file.content}`}</textarea>
                <div id="ide-editor" class="ide-editor" hidden data-workers={JSON.stringify(v.workers)} />
                <button type="submit">{t("ide.save")}</button>
              </form>
            ) : (
              <p class="hint">{t("ide.pick")}</p>
            )}
          </div>
        </div>
      </div>
      <h2>{t("terminal.label")}</h2>
      <p id="terminal-status" role="status" data-connected={t("terminal.connected")} data-ended={t("terminal.ended")}>
        {t("terminal.connecting")}
      </p>
      <section
        id="terminal"
        class="terminal terminal-small"
        aria-label={t("terminal.label")}
        data-socket={`${terminalPath(v.packageId)}/socket`}
      />
      <p>
        <a
          href={idePath(v.packageId, { dir: v.dir, file: v.file?.path, builtin: v.builtin })}
          id="terminal-reconnect"
          hidden
        >
          {t("terminal.reconnect")}
        </a>
      </p>
    </Layout>
  );
}

/** The IDE page, its save, and Monaco's files. */
export function idePages(deps: WebDeps) {
  const cache = new Map<string, ArrayBuffer>();
  const socketOrigin = new URL(deps.baseUrl).origin.replace(/^http/, "ws");
  const own = readFileSync(new URL("../assets/ide.js", import.meta.url), "utf8");
  const ownCss = readFileSync(new URL("../assets/ide.css", import.meta.url), "utf8");
  const inlineStyles = readFileSync(new URL("../assets/inline-styles.js", import.meta.url), "utf8");
  const workers = monacoWorkers();

  const page = async (
    c: WebContext,
    extra: { notice?: string; error?: string; builtin?: "1" } = {},
    status: 200 | 400 = 200,
  ) => {
    const user = requireRole(c, "engineer");
    const packageId = c.req.param("packageId") as string;
    const files = deps.workspaceFiles;
    const scope = await files.scope(user.userId, packageId, clientIp(c, deps.trustProxy));
    const pkg = await deps.packages.get(user, packageId);
    const dir = c.req.query("dir") ?? "";
    const q = c.req.query("q");
    const fileName = c.req.query("file");
    const opened = fileName ? await files.read(scope, fileName) : null;
    // A file that is not UTF-8 text (a NUL byte, or bytes UTF-8 cannot read) is not opened: saving it
    // back from the editor would change it.
    const binary = opened ? opened.content.includes(0) || !isUtf8(opened.content) : false;
    const text = binary ? undefined : opened?.content.toString("utf8");
    const view: View = {
      packageId,
      ...(c.req.query("builtin") === "1" ? { builtin: "1" as const } : {}),
      title: c.get("t")("ide.title", { wbs: pkg.wbsId, title: pkg.title }),
      folder: scope.folder,
      dir,
      entries: await files.list(scope, dir),
      file:
        opened && text !== undefined
          ? { path: opened.path, content: text.replace(/\r\n/g, "\n"), crlf: text.includes("\r\n") }
          : null,
      search: q ? { q, hits: await files.search(scope, q) } : null,
      ...(binary ? { error: c.get("t")("ide.binary", { path: opened?.path ?? "" }) } : {}),
      ...extra,
      workers,
    };
    const res = render(c, <IdePage c={c} v={view} />, status);
    // The policy stays the site's (styles, fonts and workers from 'self' only), with the terminal's socket.
    const csp = res.headers.get("content-security-policy");
    res.headers.set("content-security-policy", `${csp}; connect-src 'self' ${socketOrigin}`);
    return res;
  };

  return new Hono<WebEnv>()
    .get("/assets/ide.js", (c) => c.body(own, 200, { "content-type": "text/javascript; charset=utf-8" }))
    .get("/assets/ide.css", (c) => c.body(ownCss, 200, { "content-type": "text/css; charset=utf-8" }))
    .get("/assets/inline-styles.js", (c) =>
      c.body(inlineStyles, 200, { "content-type": "text/javascript; charset=utf-8" }),
    )
    .get("/assets/monaco/vs/*", (c, next) => {
      const rel = normalize(c.req.path.slice("/assets/monaco/vs/".length));
      const type = types[extname(rel)];
      if (!type || rel.startsWith("..") || rel.startsWith("/")) return next();
      if (!cache.has("editor/codicon.ttf")) {
        const styles = monacoStyles();
        cache.set("editor/editor.main.css", styles.css);
        cache.set("editor/codicon.ttf", styles.font);
      }
      let body = cache.get(rel);
      if (!body) {
        try {
          const bytes = readFileSync(join(monacoDir, rel));
          body = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
        } catch {
          return next();
        }
        cache.set(rel, body);
      }
      return c.body(body, 200, { "content-type": type, "cache-control": "public, max-age=86400" });
    })
    .get("/my-packages/:packageId/ide", async (c) => {
      const saved = c.req.query("notice") === "saved" ? c.req.query("file") : undefined;
      // A template that names its own IDE gets that IDE (started when it is not running), on an origin of
      // its own entered with a ticket; Azusa's editor stays one link away (?builtin=1) and takes over, with
      // the reason, when the template's IDE cannot be opened.
      if (c.req.query("builtin") !== "1") {
        const user = requireRole(c, "engineer");
        const packageId = c.req.param("packageId");
        const source = clientIp(c, deps.trustProxy);
        const ide = await deps.ideProxy
          .ensure({ engineerId: user.userId, packageId, source, transport: "browser" })
          .catch((err: Error) => ({ kind: "failed" as const, status: 502 as const, reason: err.message }));
        if (ide.kind === "failed" && ide.status === 404) throw notFound("page");
        const signIn = sessionCookiePair(c.req.raw.headers);
        if (ide.kind === "ready" && deps.ideOrigin && signIn) {
          return c.redirect(deps.ideOrigin.enter(signIn, user.userId, packageId), 303);
        }
        if (ide.kind !== "none") {
          const reason = ide.kind === "failed" ? ide.reason : "the IDE listener is off (AZUSA_IDE_PORT=off)";
          return page(c, { error: c.get("t")("ide.appFailed", { reason }), builtin: "1" });
        }
      }
      return page(c, saved ? { notice: c.get("t")("ide.saved", { path: saved }) } : {});
    })
    .post("/my-packages/:packageId/ide/save", async (c) => {
      const user = requireRole(c, "engineer");
      const packageId = c.req.param("packageId");
      const form = await c.req.parseBody();
      const path = String(form.path ?? "");
      // A form sends a textarea's lines with CRLF, whatever the file had: LF unless the file used CRLF.
      const raw = String(form.content ?? "").replace(/\r\n/g, "\n");
      const content = form.eol === "crlf" ? raw.replace(/\n/g, "\r\n") : raw;
      const scope = await deps.workspaceFiles.scope(user.userId, packageId, clientIp(c, deps.trustProxy));
      try {
        await deps.workspaceFiles.save(user, scope, path, Buffer.from(content, "utf8"), {
          create: form.create === "1",
        });
      } catch (err) {
        if (!(err instanceof AppError) || err.code !== "VALIDATION") throw err;
        return page(c, { error: sayError(c, err) }, 400);
      }
      const builtin = form.builtin === "1" ? "1" : undefined;
      const back = idePath(packageId, { dir: String(form.dir ?? ""), file: path, builtin });
      return c.redirect(`${back}${back.includes("?") ? "&" : "?"}notice=saved`, 303);
    });
}
