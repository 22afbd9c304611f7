// Finds English on a page that should be Japanese: the words of the page itself, code and what people typed
// left out. Used by the tests that walk the pages in Chromium (web-japanese, the walk-throughs).
import type { Page } from "playwright-core";

/** Names and words that are the same in Japanese text: products, protocols, formats, units. */
const ALLOWED = [
  "Azusa",
  "GitHub",
  "VS Code",
  "Remote-SSH",
  "PuTTY",
  "Tera Term",
  "OpenSSH",
  "Docker",
  "Chromium",
  "SSH",
  "SFTP",
  "API",
  "CSV",
  "xlsx",
  "SVG",
  "PNG",
  "JSON",
  "URL",
  "WBS",
  "ITSS",
  "IANA",
  "Asia/Tokyo",
  "Webhook",
  "English",
];

/** The English sentences in a page's visible text, code and what users typed left out. */
export async function englishIn(page: Page): Promise<string[]> {
  // Code, what a user typed or chose, and the language switch are not the page's own words.
  const visible = String(
    await page.evaluate(`(() => {
      const body = document.body.cloneNode(true);
      const away = 'code, pre, kbd, samp, script, style, template, [translate="no"], [lang="en"], input, textarea, select';
      for (const el of body.querySelectorAll(away)) el.remove();
      return body.innerText;
    })()`),
  );
  let text = visible;
  for (const word of ALLOWED) text = text.split(word).join(" ");
  // A sentence: three English words in a row (an e-mail address or an id is not one).
  const found: string[] = text.match(/[A-Za-z][a-z']+(?:[ ,:;-]+[A-Za-z][a-z']+){2,}/g) ?? [];
  return [...new Set(found)];
}

/** Where a walk of the pages does not go: leaving, switching language, files to download, live terminals. */
export const outOfWalk = (url: URL): boolean =>
  url.searchParams.has("lang") ||
  /\/(sign-out|assets)\b/.test(url.pathname) ||
  /\.(csv|xlsx|svg|png|json|cast|pdf|zip)$/.test(url.pathname) ||
  /\/(terminal|ide|download|export)\b/.test(url.pathname);

/**
 * Walks Azusa's pages breadth first from `starts` as the person signed in on `page`, at most `limit` of them: each HTML
 * page's links are gathered, then `visit` is called on it (which may leave it). Resolves with the pages opened.
 */
export async function walkPages(
  page: Page,
  origin: string,
  visit: (path: string, n: number) => Promise<void>,
  limit = 80,
  starts = ["/"],
): Promise<number> {
  const queue = [...starts];
  const seen = new Set(queue);
  let visited = 0;
  while (queue.length && visited < limit) {
    const path = queue.shift() as string;
    const res = await page.goto(`${origin}${path}`);
    visited++;
    if (!res || !(res.headers()["content-type"] ?? "").startsWith("text/html")) continue;
    const links = (await page.evaluate(
      `[...document.querySelectorAll("a[href]")].map((a) => a.getAttribute("href") || "")`,
    )) as string[];
    for (const href of links) {
      const url = new URL(href, page.url());
      if (url.origin !== origin || outOfWalk(url)) continue;
      const next = `${url.pathname}${url.search}`;
      if (!seen.has(next)) {
        seen.add(next);
        queue.push(next);
      }
    }
    await visit(path, visited);
  }
  return visited;
}
