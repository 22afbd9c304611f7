// Every page of the web UI in Japanese, walked in a real browser (Debian's Chromium) as each role: from the
// home page, every link to another page of Azusa is followed, and a page fails when its visible text holds
// an English sentence. Product names, code and units are allowed; so is what people typed (titles, names).
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, signInPage } from "./support/browser.ts";
import { englishIn } from "./support/english.ts";
import { PASSWORD } from "./support/harness.ts";
import { type HoursWorld, startHoursWorld } from "./support/hours-world.ts";

const ARTIFACTS = join(import.meta.dirname, "..", "test-artifacts");

/** Where the walk does not go: leaving, switching language, files to download, live terminals. */
const skipped = (url: URL) =>
  url.searchParams.has("lang") ||
  /\/(sign-out|assets)\b/.test(url.pathname) ||
  /\.(csv|xlsx|svg|png|json|cast|pdf|zip)$/.test(url.pathname) ||
  /\/(terminal|ide|download|export)\b/.test(url.pathname);

describe("the web UI in Japanese", () => {
  let w: HoursWorld;
  let browser: Browser;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    w = await startHoursWorld("sqlite");
    const hours = w.juninin.packages["2.1"] as string;
    await w.assign(hours, "sato");
    const review = w.ukeoi.packages["2.1"] as string;
    await w.assign(review, "ito");
    await w.move(review, "in_progress");
    browser = await launchBrowser();
  }, 240_000);
  afterAll(async () => {
    await browser?.close();
    await w?.stop();
  });

  const people = {
    operator: "root@office.example",
    contractor: "buyer@tokyo-si.example",
    lead: "lead@tokyo-si.example",
    engineer: "sato@matsumoto.example",
  };

  for (const [role, email] of Object.entries(people)) {
    it(`shows ${role} no English sentence on any page`, async () => {
      const page = await signInPage(browser, w.t.base, email, PASSWORD);
      const origin = new URL(w.t.base).origin;
      const queue = ["/"];
      const seen = new Set(queue);
      const english: Record<string, string[]> = {};
      let visited = 0;
      while (queue.length && visited < 80) {
        const path = queue.shift() as string;
        const res = await page.goto(`${origin}${path}`);
        visited++;
        if (!res || !(res.headers()["content-type"] ?? "").startsWith("text/html")) continue;
        expect(await page.getAttribute("html", "lang"), path).toBe("ja");
        const found = await englishIn(page);
        if (found.length) {
          english[path] = found;
          await page.screenshot({ path: join(ARTIFACTS, `web-japanese-${role}-${visited}.png`), fullPage: true });
        }
        const links = await page.$$eval("a[href]", (as) => as.map((a) => a.getAttribute("href") ?? ""));
        for (const href of links) {
          const url = new URL(href, page.url());
          if (url.origin !== origin || skipped(url)) continue;
          const next = `${url.pathname}${url.search}`;
          if (!seen.has(next)) {
            seen.add(next);
            queue.push(next);
          }
        }
      }
      await page.context().close();
      expect(visited).toBeGreaterThan(3);
      expect(english).toEqual({});
    }, 300_000);
  }
});
