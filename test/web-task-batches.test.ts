// The contractor's page of a contract's task batches in a real browser: the batches with their items by state,
// the results exports (CSV in UTF-8 and Shift_JIS, xlsx) and the disposal record answering with their types, and
// disposal after a confirmation step showing the record. Another tenant's contractor finds no such page.
// Leaves a screenshot of the batch page in test-artifacts/.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, signInPage } from "./support/browser.ts";
import { PASSWORD, startTestAzusa, type TestAzusa } from "./support/harness.ts";
import { contractWithBatch, importItems, taskPeople } from "./support/task-batches.ts";

const ARTIFACTS = join(import.meta.dirname, "..", "test-artifacts");

describe("the contractor's task batch page in Chromium", () => {
  let t: TestAzusa;
  let browser: Browser;
  let contractId: string;
  let batchId: string;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    t = await startTestAzusa();
    const { as } = await taskPeople(t, []);
    ({ contractId, batchId } = await contractWithBatch(as.contractor, {
      title: "請求書の入力",
      retentionUntil: "2027-12-31",
      unitPriceYen: 40,
      fields: [
        { name: "取引先", type: "text", required: true },
        { name: "金額", type: "yen" },
      ],
    }));
    await importItems(as.contractor, batchId, "取引先\n山田商店\n田中工業\n");
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  it("lists the batches with exports and disposes of one after confirmation", async () => {
    let page: Page | undefined;
    try {
      page = await signInPage(browser, t.base, "buyer@tokyo-si.example", PASSWORD);
      await page.goto(`${t.base}/contracts/${contractId}`);
      await page.getByRole("link", { name: "入力作業のバッチ（結果の出力・廃棄）" }).click();
      await page.waitForURL((url) => url.pathname === `/contracts/${contractId}/task-batches`);
      const row = page.locator(`#batch-${batchId}`);
      const cells = await row.locator("td").allTextContents();
      expect(cells.slice(0, 8)).toEqual(["請求書の入力", "CSV", "2", "0", "0", "0", "¥40", "2027-12-31"]);
      const types: Record<string, string> = {
        "結果CSV（UTF-8）": "text/csv; charset=utf-8",
        "結果CSV（Shift_JIS）": "text/csv; charset=Shift_JIS",
        結果Excel: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "削除・廃棄記録CSV": "text/csv; charset=utf-8",
      };
      for (const [name, type] of Object.entries(types)) {
        const href = await row.getByRole("link", { name, exact: true }).getAttribute("href");
        const res = await page.request.get(`${t.base}${href}`);
        expect(res.status(), name).toBe(200);
        expect(res.headers()["content-type"], name).toBe(type);
      }
      // A contractor sees no entry figures link: that page is for the keyers and leads.
      expect(await row.getByRole("link", { name: "入力の集計" }).count()).toBe(0);
      await page.screenshot({ path: join(ARTIFACTS, "web-task-batches.png"), fullPage: true });

      await row.getByRole("link", { name: "廃棄する" }).click();
      await page.waitForURL((url) => url.pathname === `/task-batches/${batchId}/disposal`);
      expect(await page.getByRole("alert").textContent()).toContain("元に戻せません");
      // Nothing is destroyed before the confirmation is sent.
      const before = await page.request.get(`${t.base}/api/v1/task-batches/${batchId}/disposal`);
      expect((await before.json()).disposal).toBeNull();
      await page.getByRole("button", { name: "削除・廃棄する" }).click();
      await page.waitForURL((url) => url.searchParams.get("disposed") === "1");
      expect(await page.getByRole("status").textContent()).toContain("削除・廃棄しました");
      const record = (await page.locator("#disposal-record").textContent()) ?? "";
      expect(record).toContain("契約者の依頼");
      expect(record).toContain("削除した項目2");
      const after = await page.request.get(`${t.base}/api/v1/task-batches/${batchId}/disposal`);
      expect((await after.json()).disposal.items).toBe(2);
      // The items are gone from the list's counts.
      await page.goto(`${t.base}/contracts/${contractId}/task-batches`);
      expect(await page.locator(`#batch-${batchId} td`).nth(2).textContent()).toBe("0");
    } finally {
      await page?.close();
    }
  });

  it("is not found for another tenant's contractor", async () => {
    let page: Page | undefined;
    try {
      page = await signInPage(browser, t.base, "buyer@osaka-ds.example", PASSWORD);
      expect((await page.request.get(`${t.base}/contracts/${contractId}/task-batches`)).status()).toBe(404);
      expect((await page.request.get(`${t.base}/task-batches/${batchId}/disposal`)).status()).toBe(404);
    } finally {
      await page?.close();
    }
  });
});
