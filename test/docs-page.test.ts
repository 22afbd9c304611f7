// The API reference page, rendered by a real browser from assets Azusa serves itself.
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { DOCS_CSP } from "../src/api/docs/docs.routes.ts";
import { launchBrowser } from "./support/browser.ts";
import { startTestAzusa, type TestAzusa } from "./support/harness.ts";

let t: TestAzusa;
let browser: Browser;

beforeAll(async () => {
  t = await startTestAzusa();
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await t?.stop();
});

it("renders the OpenAPI document at /api/v1/docs without reaching outside Azusa, under its own CSP", async () => {
  const page = await browser.newPage();
  const outside: string[] = [];
  page.on("request", (req) => {
    if (!req.url().startsWith(t.base)) outside.push(req.url());
  });
  const violations: string[] = [];
  page.on("console", (msg) => {
    if (/Content Security Policy/i.test(msg.text())) violations.push(msg.text());
  });
  const res = await page.goto(`${t.base}/api/v1/docs`);
  expect(res?.status()).toBe(200);
  expect(res?.headers()["content-security-policy"]).toBe(DOCS_CSP);
  await page.getByText("Azusa API", { exact: false }).first().waitFor();
  // Every tag of the document shows as a section as the reader scrolls to it (Swagger UI draws a long document's
  // sections as they come into view), and an operation opens.
  for (const tag of ["tenants", "users", "invitations", "api-keys", "audit"]) {
    const section = page.locator(`#operations-tag-${tag}`);
    for (let step = 0; step < 200 && (await section.count()) === 0; step++) {
      await page.mouse.wheel(0, 400);
      await page.waitForTimeout(50);
    }
    await expect(section.count()).resolves.toBe(1);
  }
  await page.mouse.wheel(0, -1_000_000);
  await page.locator("#operations-tenants-post_api_v1_tenants").click();
  await page.getByText("NewTenant", { exact: false }).first().waitFor();
  expect(outside).toEqual([]);
  expect(violations).toEqual([]);
  await page.close();
});
