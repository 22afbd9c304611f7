// Task entry in a real browser, with the keyboard only: an engineer keys an item (Tab between fields, Enter
// to send), a wrong check digit is named in Japanese with the field focused again, and the next item follows;
// after the last, the page says nothing is left and leads back to the batches.
// Leaves a screenshot of the entry page in test-artifacts/.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { individualNumberCheckDigit } from "../src/domain/tasks/field-values.ts";
import { launchBrowser, signInPage } from "./support/browser.ts";
import { PASSWORD, startTestAzusa, type TestAzusa } from "./support/harness.ts";
import { addKeyers, contractWithBatch, dependantsBatch, importItems } from "./support/task-batches.ts";
import { vetForMyNumber } from "./support/workspace-setup.ts";

const ARTIFACTS = join(import.meta.dirname, "..", "test-artifacts");
/** Made by the published algorithm, never a real person's. */
const base = "30405060708";
const NUMBER = `${base}${individualNumberCheckDigit(base)}`;
const WRONG = `${base}${(individualNumberCheckDigit(base) + 1) % 10}`;
const wide = (s: string) => s.replace(/\d/gu, (d) => String.fromCharCode(d.charCodeAt(0) + 0xfee0));

describe("task entry in Chromium", () => {
  let t: TestAzusa;
  let browser: Browser;
  let batchId: string;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    t = await startTestAzusa();
    const tenant = await t.createTenant("東京システムインテグレーション");
    await t.createUser("contractor", "buyer@tokyo-si.example", tenant.id);
    const sato = await t.createUser("engineer", "sato@north.example");
    const contractor = await t.signIn("buyer@tokyo-si.example");
    ({ batchId } = await contractWithBatch(contractor, dependantsBatch));
    await importItems(contractor, batchId, "氏名\n山田花子\n田中一郎\n");
    await vetForMyNumber(await t.signIn("root@office.example"), { engineers: [sato.id] });
    await addKeyers(contractor, batchId, [sato.id]);
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  it("keys an item with the keyboard only and moves on to the next, until none is left", async () => {
    let page: Page | undefined;
    try {
      page = await signInPage(browser, t.base, "sato@north.example", PASSWORD);
      await page.getByRole("link", { name: "入力作業" }).click();
      await page.getByRole("link", { name: "扶養控除等申告書の確認" }).click();
      await page.waitForURL((url) => url.pathname === `/tasks/${batchId}/entry`);
      expect(await page.locator("#source").textContent()).toContain("項目 1");
      expect(await page.locator(".task-entry table").textContent()).toContain("山田花子");
      // The first field has the focus: no mouse is needed from here on.
      await page.keyboard.type("山田花子");
      await page.keyboard.press("Tab");
      await page.keyboard.type(wide(`${WRONG.slice(0, 4)}-${WRONG.slice(4, 8)}-${WRONG.slice(8)}`));
      await page.keyboard.press("Tab");
      await page.keyboard.type("１，２００円");
      await page.keyboard.press("Enter");
      await page.waitForSelector('[role="alert"]');
      expect(await page.getByRole("alert").textContent()).toContain("検査用数字が一致しません");
      // The wrong field has the focus again; the others keep what was typed.
      expect(await page.evaluate("document.activeElement.id")).toBe("f1");
      expect(await page.inputValue("#f2")).toBe("１，２００円");
      await page.keyboard.press("Control+A");
      await page.keyboard.type(wide(NUMBER));
      await page.keyboard.press("Enter");
      await page.waitForURL((url) => url.searchParams.get("sent") === "open");
      expect(await page.getByRole("status").textContent()).toContain("もう一人の入力を待っています");
      expect(await page.locator("#source").textContent()).toContain("項目 2");
      const res = await page.request.get(`${t.base}/tasks/${batchId}/entry`);
      expect(res.headers()["cache-control"]).toBe("no-store");
      // The last item keyed, none is left for this keyer: the page says so, and leads back to the batches.
      await page.keyboard.type("田中一郎");
      await page.keyboard.press("Tab");
      await page.keyboard.type(NUMBER);
      await page.keyboard.press("Enter");
      await page.waitForSelector("#nothing-left");
      expect(await page.locator("#nothing-left").textContent()).toBe("このバッチで入力できる項目は残っていません。");
      expect(await page.locator(".task-entry").count()).toBe(0);
      await page.getByRole("link", { name: "入力作業の一覧へ" }).click();
      await page.waitForURL((url) => url.pathname === "/tasks");
    } finally {
      await page?.screenshot({ path: join(ARTIFACTS, "web-tasks.png"), fullPage: true });
    }
  });
});
