// The API reference page: Swagger UI served from Azusa itself, so it works inside a closed network.
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import { Hono } from "hono";
import type { AppEnv } from "../../http/router.ts";

const assets: Record<string, string> = {
  "swagger-ui.css": "text/css; charset=utf-8",
  "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
  "favicon-32x32.png": "image/png",
};

const page = (base: string) => `<!doctype html>
<html lang="ja">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Azusa API リファレンス</title>
  <link rel="stylesheet" href="${base}/assets/swagger-ui.css">
  <link rel="icon" href="${base}/assets/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="${base}/assets/swagger-ui-bundle.js"></script>
  <script src="${base}/init.js"></script>
</body>
</html>`;

const init = (specUrl: string) => `window.ui = SwaggerUIBundle({
  url: ${JSON.stringify(specUrl)},
  dom_id: "#swagger-ui",
  deepLinking: true,
  withCredentials: true,
});`;

/**
 * The reference page's Content-Security-Policy: Swagger UI's script and style sheet from Azusa, the document read from
 * Azusa, nothing inline, and no other site framing the page or receiving a form from it.
 */
export const DOCS_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** Serves the reference page at `/` and its assets, reading the OpenAPI document from `specUrl`. */
export function docsRoutes({ base, specUrl }: { base: string; specUrl: string }) {
  const require = createRequire(import.meta.url);
  // absolute-path.js only names the folder; the package's main would load the whole bundle into the server.
  const dir = (require("swagger-ui-dist/absolute-path.js") as () => string)();
  const cache = new Map<string, Buffer>();
  return new Hono<AppEnv>()
    .get("/", (c) => c.html(page(base), 200, { "content-security-policy": DOCS_CSP }))
    .get("/init.js", (c) => c.body(init(specUrl), 200, { "content-type": "text/javascript; charset=utf-8" }))
    .get("/assets/:name", async (c) => {
      const name = c.req.param("name");
      const type = assets[name];
      if (!type) return c.notFound();
      let body = cache.get(name);
      if (!body) {
        body = await readFile(join(dir, name));
        cache.set(name, body);
      }
      return c.body(new Uint8Array(body), 200, { "content-type": type, "cache-control": "public, max-age=86400" });
    });
}
