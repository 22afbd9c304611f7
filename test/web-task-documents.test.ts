// A document item in a real browser: the keyer sees the scanned page beside the form with a watermark of their
// name and the minute in its pixels, the image is in the page itself (no address to fetch it again), and keys it with the
// keyboard only. Leaves a screenshot of the watermarked view in test-artifacts/.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, signInPage } from "./support/browser.ts";
import { PASSWORD, startTestAzusa, type TestAzusa } from "./support/harness.ts";
import { addKeyers, contractWithBatch } from "./support/task-batches.ts";
import { pdf, shownPage } from "./support/task-documents.ts";

const ARTIFACTS = join(import.meta.dirname, "..", "test-artifacts");

describe("a document item in Chromium", () => {
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
    ({ batchId } = await contractWithBatch(contractor, {
      title: "請求書の入力",
      retentionUntil: "2027-12-31",
      fields: [
        { name: "請求番号", type: "text", required: true },
        { name: "金額", type: "yen", required: true },
      ],
    }));
    const uploaded = await contractor.request(
      "POST",
      `/api/v1/task-batches/${batchId}/documents?name=invoice.pdf`,
      pdf(["INVOICE No. 2026-0042", "Total: 12,800 JPY"]),
      { "content-type": "application/pdf" },
    );
    expect(uploaded.status).toBe(201);
    await addKeyers(contractor, batchId, [sato.id]);
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  it("shows the pages watermarked with the keyer's name beside the form, and keys the item by keyboard", async () => {
    let page: Page | undefined;
    try {
      page = await signInPage(browser, t.base, "sato@north.example", PASSWORD);
      const requested: string[] = [];
      page.on("request", (r) => requested.push(r.url()));
      await page.goto(`${t.base}/tasks/${batchId}/entry`);
      await page.waitForSelector(".task-doc img");
      expect(await page.locator("#document").textContent()).toContain("項目 1");
      // Both pages of the PDF, as images drawn in the page, each under the watermark.
      const images = page.locator(".task-doc img");
      expect(await images.count()).toBe(2);
      for (let i = 0; i < 2; i++) {
        expect(await images.nth(i).getAttribute("src")).toMatch(/^data:image\/png;base64,/u);
        const drawn = await images.nth(i).evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth);
        expect(drawn).toBeGreaterThan(0);
      }
      // The watermark is in the image the page was sent, not laid over it: its dark red is in the pixels drawn.
      expect(await page.locator(".task-doc .watermark").count()).toBe(0);
      expect((await shownPage(await page.content())).marked).toBeGreaterThan(1000);
      expect(await page.locator("#watermark-note").textContent()).toMatch(/表示: sato .*記録されます/u);
      // Nothing but the page and its own assets was fetched: no address the document could be fetched from.
      expect(requested.filter((u) => !u.startsWith("data:")).map((u) => new URL(u).pathname)).toEqual(
        expect.not.arrayContaining([expect.stringMatching(/document|\.pdf|\.png$/u)]),
      );
      await page.screenshot({ path: join(ARTIFACTS, "web-task-document.png"), fullPage: true });

      // The form beside it has the focus: the keyer keys from the image.
      await page.keyboard.type("２０２６－００４２");
      await page.keyboard.press("Tab");
      await page.keyboard.type("１２，８００円");
      await page.keyboard.press("Enter");
      await page.waitForURL((url) => url.searchParams.get("sent") === "open");
      await page.waitForSelector("#nothing-left");
      expect(await page.locator(".task-doc").count()).toBe(0);
    } finally {
      await page?.screenshot({ path: join(ARTIFACTS, "web-task-document-after.png"), fullPage: true });
    }
  });
});
