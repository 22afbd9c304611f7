// The order document's Content-Security-Policy, in Chromium: its own style sheet applies and nothing else runs.
// (The API reference page is checked under its policy in test/docs-page.test.ts; the header on the order route in
// test/deliveries.test.ts.)
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ORDER_CSP, type OrderTerms, renderOrder } from "../../src/domain/delivery/order-document.ts";
import { launchBrowser } from "../support/browser.ts";

let browser: Browser;

beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(() => browser?.close());

/** A page that remembers every Content-Security-Policy violation Chromium reports. */
async function watchedPage(): Promise<{ page: Page; violations: string[] }> {
  const page = await browser.newPage();
  const violations: string[] = [];
  page.on("console", (msg) => {
    if (/Content Security Policy/i.test(msg.text())) violations.push(msg.text());
  });
  return { page, violations };
}

describe("the order document's Content-Security-Policy", () => {
  it("on the order document, whose own style sheet applies and where no script runs", async () => {
    const terms: OrderTerms = {
      orderNumber: "PO-1",
      orderDate: "2027-01-12",
      buyer: "東京システム",
      supplier: {
        name: '<img src=x onerror="document.title=1">佐藤',
        email: "sato@matsumoto.example",
        invoiceNumber: null,
      },
      contract: {
        title: "勘定系更改",
        client: "信州銀行",
        type: "ukeoi",
        periodStart: "2027-01-01",
        periodEnd: "2027-03-31",
      },
      deliverable: { wbsId: "1.1", title: "API設計", acceptanceCriteria: "レビュー済み", estimateHours: 16 },
      deliveryDate: "2027-02-01",
      deliveryPlace: "Azusa",
      inspection: "10日以内",
      priceLabel: "製造委託等代金の額（算定方法）",
      price: "¥160,000",
      paymentDate: "2027-03-01",
      paymentMethod: "銀行振込",
      laws: ["中小受託取引適正化法"],
      notes: [],
    };
    // An inline script smuggled into the page would not run either: the policy names no script at all.
    const html = renderOrder(terms).replace("</body>", "<script>document.title = 'ran'</script></body>");
    const { page, violations } = await watchedPage();
    await page.route("http://order.test/", (route) =>
      route.fulfill({
        status: 200,
        contentType: "text/html; charset=utf-8",
        headers: { "content-security-policy": ORDER_CSP },
        body: html,
      }),
    );
    await page.goto("http://order.test/");
    expect(await page.title()).toBe("発注書 PO-1");
    expect(await page.evaluate("getComputedStyle(document.querySelector('h1')).textAlign")).toBe("center");
    expect(violations.join("\n")).toMatch(/script/);
    expect(violations.join("\n")).not.toMatch(/style/);
    await page.close();
  });
});
