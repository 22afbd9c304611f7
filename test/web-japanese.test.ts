// Every page of the web UI in Japanese, walked in a real browser (Debian's Chromium) as each role: from the
// home page, every link to another page of Azusa is followed, and a page fails when its visible text holds
// an English sentence. Product names, code and units are allowed; so is what people typed (titles, names).
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, signInPage } from "./support/browser.ts";
import { englishIn, walkPages } from "./support/english.ts";
import { PASSWORD } from "./support/harness.ts";
import { type HoursWorld, startWalkWorld, WALKERS } from "./support/hours-world.ts";

const ARTIFACTS = join(import.meta.dirname, "..", "test-artifacts");

describe("the web UI in Japanese", () => {
  let w: HoursWorld;
  let browser: Browser;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    w = await startWalkWorld();
    browser = await launchBrowser();
  }, 240_000);
  afterAll(async () => {
    await browser?.close();
    await w?.stop();
  });

  for (const [role, email] of Object.entries(WALKERS)) {
    it(`shows ${role} no English sentence on any page`, async () => {
      const page = await signInPage(browser, w.t.base, email, PASSWORD);
      const english: Record<string, string[]> = {};
      const visited = await walkPages(page, new URL(w.t.base).origin, async (path, n) => {
        expect(await page.getAttribute("html", "lang"), path).toBe("ja");
        const found = await englishIn(page);
        if (found.length) {
          english[path] = found;
          await page.screenshot({ path: join(ARTIFACTS, `web-japanese-${role}-${n}.png`), fullPage: true });
        }
      });
      await page.context().close();
      expect(visited).toBeGreaterThan(3);
      expect(english).toEqual({});
    }, 300_000);
  }
});
