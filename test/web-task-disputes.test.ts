// Deciding disputed task items in a real browser, with the keyboard only: a lead sees both entries beside the
// source with individual numbers in full, types a correction (a wrong check digit is named and the field
// focused again), then takes one entry whole for the next item. Each showing is audited; the page is never
// stored by the browser, and neither a contractor nor an engineer may open it.
// Leaves a screenshot of the decision page in test-artifacts/.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { individualNumberCheckDigit } from "../src/domain/tasks/field-values.ts";
import { launchBrowser, signInPage } from "./support/browser.ts";
import { type Client, PASSWORD, startTestAzusa, type TestAzusa } from "./support/harness.ts";
import { addKeyers, contractWithBatch, dependantsBatch, importItems } from "./support/task-batches.ts";
import { vetForMyNumber } from "./support/workspace-setup.ts";

const ARTIFACTS = join(import.meta.dirname, "..", "test-artifacts");
/** Made by the published algorithm, never a real person's. */
const number = (base: string) => `${base}${individualNumberCheckDigit(base)}`;
const SATO_KEYED = number("51627384950");
const SUZUKI_KEYED = number("51627384905");
const RIGHT = number("51627384590");

describe("deciding disputed task items in Chromium", () => {
  let t: TestAzusa;
  let browser: Browser;
  let batchId: string;
  let contractor: Client;
  const items: string[] = [];

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    t = await startTestAzusa();
    const tenant = await t.createTenant("東京システムインテグレーション");
    await t.createUser("contractor", "buyer@tokyo-si.example", tenant.id);
    const lead = await t.createUser("lead", "lead@tokyo-si.example", tenant.id);
    const keyers = {
      sato: await t.createUser("engineer", "sato@north.example"),
      suzuki: await t.createUser("engineer", "suzuki@north.example"),
    };
    await vetForMyNumber(await t.signIn("root@office.example"), {
      engineers: [keyers.sato.id, keyers.suzuki.id],
      leads: [lead.id],
    });
    contractor = await t.signIn("buyer@tokyo-si.example");
    ({ batchId } = await contractWithBatch(contractor, dependantsBatch, [lead.id]));
    await importItems(contractor, batchId, "氏名\n山田花子\n田中一郎\n");
    const keyed = {
      sato: [
        { 氏名: "山田花子", 個人番号: SATO_KEYED, 金額: "1200" },
        { 氏名: "田中一郎", 個人番号: RIGHT, 金額: "800" },
      ],
      suzuki: [
        { 氏名: "山田花子", 個人番号: SUZUKI_KEYED, 金額: "1200" },
        { 氏名: "田中一郎", 個人番号: RIGHT, 金額: "880" },
      ],
    };
    for (const name of ["sato", "suzuki"] as const) {
      await addKeyers(contractor, batchId, [keyers[name].id]);
      const as = await t.signIn(`${name}@north.example`);
      for (const values of keyed[name]) {
        const taken = await (await as.post(`/api/v1/task-batches/${batchId}/take`, {})).json();
        if (name === "sato") items.push(taken.item.id);
        expect((await as.put(`/api/v1/task-items/${taken.item.id}/entry`, { values })).status).toBe(200);
      }
    }
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  it("decides one item by typing and the next by taking an entry, with the keyboard only", async () => {
    let page: Page | undefined;
    try {
      page = await signInPage(browser, t.base, "lead@tokyo-si.example", PASSWORD);
      await page.getByRole("link", { name: "入力の判定" }).click();
      await page.getByRole("link", { name: "扶養控除等申告書の確認" }).click();
      await page.waitForURL((url) => url.pathname === `/task-disputes/${batchId}`);
      expect(await page.locator("#source").textContent()).toContain("項目 1");
      // Both entries side by side, the individual numbers in full; only the differing field is left empty.
      const table = (await page.locator("#entries").textContent()) ?? "";
      expect(table).toContain(SATO_KEYED);
      expect(table).toContain(SUZUKI_KEYED);
      expect(table).toContain("入力1（sato）");
      expect(await page.inputValue("#f0")).toBe("山田花子");
      expect(await page.inputValue("#f1")).toBe("");
      expect(await page.inputValue("#f2")).toBe("1200");
      expect(await page.evaluate("document.activeElement.id")).toBe("f1");
      const wrong = `${RIGHT.slice(0, 11)}${(Number(RIGHT[11]) + 1) % 10}`;
      await page.keyboard.type(wrong);
      await page.keyboard.press("Enter");
      await page.waitForSelector('[role="alert"]');
      expect(await page.getByRole("alert").textContent()).toContain("検査用数字が一致しません");
      expect(await page.evaluate("document.activeElement.id")).toBe("f1");
      await page.keyboard.press("Control+A");
      // Full-width, as keyed with an IME on: read as the same number.
      await page.keyboard.type(RIGHT.replace(/\d/gu, (d) => String.fromCharCode(d.charCodeAt(0) + 0xfee0)));
      await page.keyboard.press("Enter");
      await page.waitForURL((url) => url.searchParams.get("decided") === "1");
      expect(await page.getByRole("status").textContent()).toContain("判定しました");
      // The next dispute: the amounts differ; Tab past "decide" to "take entry 1", Enter.
      expect(await page.locator("#source").textContent()).toContain("項目 2");
      expect(await page.evaluate("document.activeElement.id")).toBe("f2");
      expect(await page.inputValue("#f1")).toBe(RIGHT);
      await page.keyboard.press("Tab");
      await page.keyboard.press("Tab");
      expect(await page.evaluate("document.activeElement.textContent")).toBe("入力1（sato）を採用");
      await page.screenshot({ path: join(ARTIFACTS, "web-task-disputes.png"), fullPage: true });
      await page.keyboard.press("Enter");
      await page.waitForSelector("#nothing-left");
      const res = await page.request.get(`${t.base}/task-disputes/${batchId}`);
      expect(res.headers()["cache-control"]).toBe("no-store");
      expect(await page.locator("#nothing-left").textContent()).toBe("このバッチに判定待ちの項目はありません。");
      expect(await page.locator("#entries").count()).toBe(0);
      await page.getByRole("link", { name: "入力の判定の一覧へ" }).click();
      await page.waitForURL((url) => url.pathname === "/task-disputes");
    } finally {
      await page?.close();
    }
    const results = (await (await contractor.get(`/api/v1/task-batches/${batchId}/results`)).json()).items;
    expect(results.map((r: { state: string }) => r.state)).toEqual(["adjudicated", "adjudicated"]);
    expect(results[0].values).toEqual({ 氏名: "山田花子", 個人番号: `********${RIGHT.slice(-4)}`, 金額: "1200" });
    expect(results[1].values.金額).toBe("800");
    const events = (await (await contractor.get("/api/v1/audit-events?limit=100")).json()).items as {
      action: string;
      subject: string;
      details: Record<string, unknown>;
    }[];
    expect(events.filter((e) => e.action === "task_item.adjudicated").map((e) => e.subject)).toEqual(
      expect.arrayContaining(items.map((id) => `task_item:${id}`)),
    );
    const viewed = events.filter((e) => e.action === "task_values.viewed" && e.details.purpose === "adjudication");
    expect(viewed.map((e) => e.subject)).toEqual(expect.arrayContaining(items.map((id) => `task_item:${id}`)));
  });

  it("is a lead's page: a contractor and an engineer find no such page", async () => {
    for (const email of ["buyer@tokyo-si.example", "sato@north.example"]) {
      const page = await signInPage(browser, t.base, email, PASSWORD);
      try {
        const res = await page.goto(`${t.base}/task-disputes/${batchId}`);
        expect(res?.status()).toBe(404);
        expect(await page.getByRole("link", { name: "入力の判定" }).count()).toBe(0);
      } finally {
        await page.close();
      }
    }
  });
});
