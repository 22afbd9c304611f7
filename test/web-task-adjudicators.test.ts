// An engineer a lead has let decide a batch's disputes, in a real browser with the keyboard only: they find the
// batch on their 入力作業 page, see both entries of an item they did not key beside the source (individual
// numbers in full), type the right value and decide; the item they keyed themselves is never shown to them and
// stays for the lead. An engineer without the grant finds no such page.
// Leaves a screenshot of the engineer's decision page in test-artifacts/.
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
const SATO_KEYED = number("61728394050");
const OTHER_KEYED = number("61728394005");
const RIGHT = number("61728390450");

describe("an engineer deciding disputed task items in Chromium", () => {
  let t: TestAzusa;
  let browser: Browser;
  let batchId: string;
  let contractor: Client;
  let lead: Client;
  let items: Record<number, string>;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    t = await startTestAzusa();
    const tenant = await t.createTenant("東京システムインテグレーション");
    await t.createUser("contractor", "buyer@tokyo-si.example", tenant.id);
    const leadUser = await t.createUser("lead", "lead@tokyo-si.example", tenant.id);
    const ids: Record<string, string> = {};
    for (const name of ["sato", "suzuki", "tanaka"])
      ids[name] = (await t.createUser("engineer", `${name}@north.example`)).id;
    await vetForMyNumber(await t.signIn("root@office.example"), {
      engineers: Object.values(ids),
      leads: [leadUser.id],
    });
    contractor = await t.signIn("buyer@tokyo-si.example");
    lead = await t.signIn("lead@tokyo-si.example");
    ({ batchId } = await contractWithBatch(contractor, dependantsBatch, [leadUser.id]));
    items = await importItems(contractor, batchId, "氏名\n山田花子\n田中一郎\n");
    await addKeyers(contractor, batchId, Object.values(ids));
    // sato keys both items; suzuki then gets item 1 and tanaka item 2, each keying another number: two disputes,
    // one of them tanaka's own.
    for (const [name, times, keyed] of [
      ["sato", 2, SATO_KEYED],
      ["suzuki", 1, OTHER_KEYED],
      ["tanaka", 1, OTHER_KEYED],
    ] as const) {
      const as = await t.signIn(`${name}@north.example`);
      for (let i = 0; i < times; i++) {
        const taken = (await (await as.post(`/api/v1/task-batches/${batchId}/take`, {})).json()).item;
        const values = { 氏名: taken.seq === 1 ? "山田花子" : "田中一郎", 個人番号: keyed, 金額: "1200" };
        expect((await as.put(`/api/v1/task-items/${taken.id}/entry`, { values })).status).toBe(200);
      }
    }
    const contractId = (await (await contractor.get(`/api/v1/task-batches/${batchId}`)).json()).contractId;
    const granted = await lead.post(`/api/v1/contracts/${contractId}/task-adjudicators`, {
      engineerId: ids.tanaka,
      batchId,
    });
    expect(granted.status).toBe(201);
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  it("decides an item keyed by others with the keyboard only, and is never shown the one they keyed", async () => {
    let page: Page | undefined;
    try {
      page = await signInPage(browser, t.base, "tanaka@north.example", PASSWORD);
      await page.goto(`${t.base}/tasks`);
      const deciding = page.locator("section[aria-labelledby=deciding]");
      expect(await deciding.locator("h2").textContent()).toBe("判定を任されたバッチ");
      // One waits for tanaka: their own item is not counted.
      expect(await deciding.textContent()).toContain("判定待ち 1");
      await deciding.getByRole("link", { name: "扶養控除等申告書の確認" }).click();
      await page.waitForURL((url) => url.pathname === `/task-disputes/${batchId}`);
      expect(await page.locator("#source").textContent()).toContain("項目 1");
      const table = (await page.locator("#entries").textContent()) ?? "";
      expect(table).toContain("入力1（sato）");
      expect(table).toContain("入力2（suzuki）");
      expect(table).toContain(SATO_KEYED);
      expect(table).toContain(OTHER_KEYED);
      expect(await page.evaluate("document.activeElement.id")).toBe("f1");
      await page.keyboard.type(RIGHT);
      await page.screenshot({ path: join(ARTIFACTS, "web-task-adjudicators.png"), fullPage: true });
      await page.keyboard.press("Enter");
      await page.waitForURL((url) => url.searchParams.get("decided") === "1");
      expect(await page.getByRole("status").textContent()).toContain("判定しました");
      // Item 2 waits too, but tanaka keyed it: nothing is left for them.
      await page.waitForSelector("#nothing-left");
      expect(await page.locator("#entries").count()).toBe(0);
      const res = await page.request.get(`${t.base}/task-disputes/${batchId}`);
      expect(res.headers()["cache-control"]).toBe("no-store");
    } finally {
      await page?.close();
    }
    const results = (await (await contractor.get(`/api/v1/task-batches/${batchId}/results`)).json()).items;
    expect(results.map((r: { state: string }) => r.state)).toEqual(["adjudicated", "disputed"]);
    expect(results[0].values.個人番号).toBe(`********${RIGHT.slice(-4)}`);
    const events = (await (await contractor.get("/api/v1/audit-events?limit=100")).json()).items as {
      action: string;
      subject: string;
      actorId: string;
      details: Record<string, unknown>;
    }[];
    expect(events.filter((e) => e.action === "task_item.adjudicated").map((e) => e.subject)).toEqual([
      `task_item:${items[1]}`,
    ]);
    // The lead still decides the item tanaka keyed.
    expect((await lead.get(`/api/v1/task-items/${items[2]}/adjudication`)).status).toBe(200);
  });

  it("is no page to an engineer without the grant", async () => {
    const page = await signInPage(browser, t.base, "suzuki@north.example", PASSWORD);
    try {
      expect((await page.goto(`${t.base}/task-disputes/${batchId}`))?.status()).toBe(404);
      await page.goto(`${t.base}/tasks`);
      expect(await page.locator("section[aria-labelledby=deciding]").count()).toBe(0);
    } finally {
      await page.close();
    }
  });
});
