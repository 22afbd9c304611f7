// Offices and availability in a real browser: an operator adds an office through the form and writes its guide,
// a stranger registers interest on its public page and the operator invites them, an engineer states when they
// usually work; each test leaves a screenshot of its last page in test-artifacts/.
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

  it("shows a stranger the office's guide and takes their interest, which the operator turns into an invitation", async () => {
    const root = await t.signIn("root@office.example");
    const office = await (
      await root.post("/api/v1/offices", {
        name: "諏訪サテライトオフィス",
        prefecture: "長野県",
        town: "諏訪市",
        address: "諏訪市湖岸通り1-1-1",
        timeZone: "Asia/Tokyo",
        contact: "suwa@office.example",
        description: "湖のそばのオフィスです。",
      })
    ).json();
    const guide = await root.put(`/api/v1/offices/${office.id}/guide/transport`, {
      bodyJa:
        "新宿まで特急で約2時間10分。[時刻表](https://train.example.jp/timetable)\n\n<script>window.hacked = 1</script>",
    });
    expect(guide.status).toBe(200);
    let page: Page | undefined;
    try {
      const context = await browser.newContext({ locale: "ja-JP", viewport: { width: 1366, height: 900 } });
      page = await context.newPage();
      await page.goto(`${t.base}/office-guide/${office.id}`);
      expect(await page.locator("h1").textContent()).toBe("諏訪サテライトオフィス");
      const link = page.getByRole("link", { name: "時刻表" });
      expect(await link.getAttribute("rel")).toContain("external");
      expect(await page.evaluate(() => (globalThis as { hacked?: number }).hacked)).toBeUndefined();
      // The trap is out of sight and out of the tab order.
      const trap = page.locator('input[name="website"]');
      const box = await trap.boundingBox();
      expect((box?.x ?? 0) + (box?.width ?? 0)).toBeLessThan(0);
      expect(await trap.getAttribute("tabindex")).toBe("-1");
      await page.getByLabel("お名前").fill("山田 花子");
      await page.getByLabel("メールアドレス").fill("hanako@example.jp");
      await page.getByLabel("スキル").first().fill("Java");
      await page.getByLabel("レベル").first().selectOption("4");
      await page.getByLabel("移住の時期（目安）").fill("2027年春");
      await page.getByRole("checkbox").check();
      await page.getByRole("button", { name: "登録する" }).click();
      await page.waitForURL((url) => url.searchParams.get("registered") === "1");
      expect(await page.locator(".notice").first().textContent()).toContain("ご登録ありがとうございました");
      await page.screenshot({ path: join(ARTIFACTS, "web-office-public.png"), fullPage: true });
      await context.close();

      page = await signInPage(browser, t.base, "root@office.example", PASSWORD);
      await page.goto(`${t.base}/offices/${office.id}`);
      await page.getByRole("link", { name: "関心登録を見る" }).click();
      expect(await page.locator("#interests").textContent()).toContain("hanako@example.jp");
      await page.getByRole("button", { name: "エンジニアとして招待" }).click();
      expect(await page.locator("#invitation-link").textContent()).toMatch(/\/invite\?token=/);
      expect(await page.locator("#interests").textContent()).toContain("招待済み");
    } finally {
      await page?.screenshot({ path: join(ARTIFACTS, "web-office-interests.png"), fullPage: true });
    }
  });
});
