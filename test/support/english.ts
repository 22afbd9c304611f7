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
