// Offices and availability in a real browser: an operator adds an office through the form, an engineer states
// when they usually work; each test leaves a screenshot of its last page in test-artifacts/.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, signInPage } from "./support/browser.ts";
import { PASSWORD, startTestAzusa, type TestAzusa } from "./support/harness.ts";

const ARTIFACTS = join(import.meta.dirname, "..", "test-artifacts");

describe("offices and availability in Chromium", () => {
  let t: TestAzusa;
  let browser: Browser;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    t = await startTestAzusa();
    await t.createUser("engineer", "sato@office.example");
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  it("lets the first operator add an office from the Offices page", async () => {
    let page: Page | undefined;
    try {
      page = await signInPage(browser, t.base, "root@office.example", PASSWORD);
      await page.getByRole("link", { name: "オフィス" }).click();
      await page.getByLabel("名称").fill("上田サテライトオフィス");
      await page.getByLabel("都道府県").fill("長野県");
      await page.getByLabel("市区町村").fill("上田市");
      await page.getByLabel("住所").fill("上田市天神1-1-1");
      await page.getByLabel("連絡先").fill("ueda@office.example");
      await page.getByLabel("紹介文（公開）").fill("駅から徒歩五分のオフィスです。");
      await page.getByRole("button", { name: "追加" }).click();
      await page.waitForURL((url) => /^\/offices\/[^/]+$/.test(url.pathname));
      expect(await page.locator("h1").textContent()).toBe("上田サテライトオフィス");
    } finally {
      await page?.screenshot({ path: join(ARTIFACTS, "web-offices.png"), fullPage: true });
    }
  });

  it("lets an engineer state a weekly window and sees the weekly hours", async () => {
    let page: Page | undefined;
    try {
      page = await signInPage(browser, t.base, "sato@office.example", PASSWORD);
      await page.getByRole("link", { name: "稼働できる時間" }).click();
      expect(await page.locator("p.hint").first().textContent()).toContain("勤務時間の管理ではありません");
      await page.getByLabel("曜日").first().selectOption("tue");
      await page.getByLabel("開始", { exact: true }).first().fill("10:00");
      await page.getByLabel("終了", { exact: true }).first().fill("15:00");
      await page.getByRole("button", { name: "保存" }).click();
      await page.waitForURL((url) => url.searchParams.get("saved") === "1");
      expect(await page.locator("#weekly-hours").textContent()).toContain("週あたり 5:00");
    } finally {
      await page?.screenshot({ path: join(ARTIFACTS, "web-availability.png"), fullPage: true });
    }
  });
});
