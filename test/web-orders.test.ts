// The order document (発注書) and inspection in a real browser (Debian's Chromium): the engineer reads the draft
// order from the offer card, the order from the assigned package; the lead and the contractor from the package
// page; the order states the actual payment date once delivered and names the law in force on the order date.
// Screenshots go to test-artifacts/.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, signInPage } from "./support/browser.ts";
import { englishIn } from "./support/english.ts";
import { PASSWORD } from "./support/harness.ts";
import { type HoursWorld, startHoursWorld } from "./support/hours-world.ts";
import { getPage } from "./support/pages.ts";
import { SAMPLE_HEADER, utf8Csv } from "./support/wbs-files.ts";

const ARTIFACTS = join(import.meta.dirname, "..", "test-artifacts");

/** "2027-02-04" as the order writes it: 2027年2月4日. */
const jaDate = (day: string) => {
  const [y, m, d] = day.split("-").map(Number);
  return `${y}年${m}月${d}日`;
};

describe("order documents and inspection in a browser", () => {
  let w: HoursWorld;
  let browser: Browser;
  const pages: Page[] = [];

  /** The path from offer to 検収 and the settlement files reads as Japanese: no English sentence on the way. */
  async function noEnglish(page: Page) {
    expect(await englishIn(page), new URL(page.url()).pathname).toEqual([]);
  }

  async function signIn(email: string): Promise<Page> {
    const page = await signInPage(browser, w.t.base, email, PASSWORD, { width: 1200, height: 900 });
    pages.push(page);
    return page;
  }

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    w = await startHoursWorld("sqlite");
    browser = await launchBrowser();
  });
  afterEach(async () => {
    for (const page of pages.splice(0)) await page.context().close();
  });
  afterAll(async () => {
    await browser?.close();
    await w?.stop();
  });

  it("links the order from the offer, the package and the assignment for the engineer, lead and contractor", async () => {
    const id = w.ukeoi.packages["1.2.2"] as string;
    const sato = w.engineers.sato as HoursWorld["engineers"][string];
    expect((await w.lead.post(`/api/v1/packages/${id}/open`)).status).toBe(200);
    expect((await w.lead.post(`/api/v1/packages/${id}/offers`, { engineerId: sato.id })).status).toBe(201);

    // The offer card says who orders, for which client, under which contract and for how long.
    const engineer = await signIn("sato@matsumoto.example");
    await engineer.goto(`${w.t.base}/offers`);
    await noEnglish(engineer);
    const card = engineer.locator("section.offer");
    for (const fact of [w.tenantName, "株式会社信州銀行", "販売管理システム刷新（請負）", "2026-04-01〜2027-12-31"]) {
      expect(await card.textContent()).toContain(fact);
    }
    await engineer.getByRole("link", { name: "発注書（案）" }).click();
    expect(await engineer.locator("h1").textContent()).toBe("発注書（案）");
    const draft = await engineer.locator("body").textContent();
    expect(draft).toContain("製造委託等代金の額（算定方法）");
    expect(draft).toContain("中小受託取引適正化法（取適法）第4条に定める明示");
    expect(draft).toContain("フリーランス・事業者間取引適正化等法）第3条第1項に定める明示");
    expect(draft).toContain("申込み中の発注の内容を示す案");
    await noEnglish(engineer);
    await engineer.screenshot({ path: join(ARTIFACTS, "order-draft.png"), fullPage: true });

    await engineer.goto(`${w.t.base}/offers`);
    await engineer.getByRole("button", { name: "受諾する" }).click();
    await engineer.waitForURL((url) => url.pathname === "/my-packages");
    await noEnglish(engineer);
    await engineer.getByRole("link", { name: "発注書: API設計" }).click();
    expect(await engineer.locator("h1").textContent()).toBe("発注書");
    expect(await engineer.locator("body").textContent()).toContain("納品日（受領日）から起算して 60 日以内");

    for (const email of ["lead@tokyo-si.example", "buyer@tokyo-si.example"]) {
      const reader = await signIn(email);
      await reader.goto(`${w.t.base}/packages/${id}`);
      await noEnglish(reader);
      // The offer history names whom the package was offered to.
      const history = reader.locator("section", { has: reader.locator("#offers") });
      expect(await history.textContent()).toContain("sato");
      await history.getByRole("link", { name: "発注書: sato" }).click();
      expect(await reader.locator("h1").textContent()).toBe("発注書");
      await reader.goto(`${w.t.base}/packages/${id}`);
      await reader.locator("dl.facts").getByRole("link", { name: "発注書" }).click();
      expect(await reader.locator("body").textContent()).toContain("sato 様");
    }

    // Delivered: the order states the day payment falls due, not only the rule.
    await w.move(id, "in_progress", "in_review");
    const delivery = await (await sato.client.post(`/api/v1/packages/${id}/deliver`)).json();
    await engineer.reload();
    expect(await engineer.locator("body").textContent()).toContain(`${jaDate(delivery.paymentDueOn)}（納品日 `);
    await noEnglish(engineer);
    await engineer.screenshot({ path: join(ARTIFACTS, "order-delivered.png"), fullPage: true });

    // Nobody else reads it.
    const ito = w.engineers.ito as HoursWorld["engineers"][string];
    expect((await getPage(ito.client, `/packages/${id}/order`)).status).toBe(404);
    expect((await getPage(w.otherLead, `/packages/${id}/order`)).status).toBe(404);
  });

  it("asks before 検収 and before sending back, then keeps accepted deliveries with their payment due and paid", async () => {
    const accepted = w.ukeoi.packages["1.2.2"] as string; // delivered by the test above
    const rejected = w.ukeoi.packages["2.3"] as string;
    await w.assign(rejected, "ito");
    await w.move(rejected, "in_progress", "in_review");
    const ito = w.engineers.ito as HoursWorld["engineers"][string];
    expect((await ito.client.post(`/api/v1/packages/${rejected}/deliver`)).status).toBe(201);
    const stateOf = async (id: string) => (await (await w.contractor.get(`/api/v1/packages/${id}`)).json()).state;

    const p = await signIn("buyer@tokyo-si.example");
    await p.goto(`${w.t.base}/deliveries`);
    await noEnglish(p);
    await p.getByRole("button", { name: "検収する: API設計" }).click();
    expect(await p.locator("h1").textContent()).toBe("検収の確認");
    await noEnglish(p);
    expect(await p.getByRole("alert").textContent()).toContain("「1.2.2 API設計」を検収します");
    await p.getByRole("link", { name: "やめる" }).click();
    expect(await stateOf(accepted)).toBe("delivered");
    await p.getByRole("button", { name: "検収する: API設計" }).click();
    await p.getByRole("button", { name: "検収を確定する" }).click();
    await p.getByRole("status").filter({ hasText: "検収しました。" }).waitFor();
    await noEnglish(p);
    expect(await stateOf(accepted)).toBe("accepted");

    const item = p.locator("section.delivery", { hasText: "帳票出力" });
    await item.getByLabel("差し戻しの理由（1行に1つ）").fill("帳票の罫線が崩れている\n合計欄が空");
    await item.getByRole("button", { name: "差し戻す" }).click();
    expect(await p.locator("h1").textContent()).toBe("差し戻しの確認");
    expect(await p.locator("dl.facts li").allTextContents()).toEqual(["帳票の罫線が崩れている", "合計欄が空"]);
    await noEnglish(p);
    expect(await stateOf(rejected)).toBe("delivered");
    await p.getByRole("button", { name: "差し戻しを確定する" }).click();
    await p.getByRole("status").filter({ hasText: "納品を差し戻しました。" }).waitFor();
    expect(await stateOf(rejected)).toBe("in_progress");
    const [latest] = (await (await w.contractor.get(`/api/v1/packages/${rejected}/deliveries`)).json()).items;
    expect(latest.reasons).toEqual(["帳票の罫線が崩れている", "合計欄が空"]);

    // The accepted delivery stays listed with the day its payment falls due, then the day it was paid.
    const [delivery] = (await (await w.contractor.get(`/api/v1/packages/${accepted}/deliveries`)).json()).items;
    const row = p.locator("#accepted-deliveries").getByRole("row", { name: /API設計/ });
    expect(await row.textContent()).toContain(delivery.paymentDueOn);
    expect(await row.textContent()).toContain("sato");
    await row.getByLabel("支払日").fill("2099-01-01");
    await row.getByRole("button", { name: "支払済みにする: API設計" }).click();
    expect(await p.getByRole("alert").textContent()).toContain("支払日に未来の日付は指定できません");
    await noEnglish(p);
    const day = new Date(Date.now() + 9 * 3_600_000).toISOString().slice(0, 10);
    await p
      .locator("#accepted-deliveries")
      .getByRole("row", { name: /API設計/ })
      .getByLabel("支払日")
      .fill(day);
    await p.getByRole("button", { name: "支払済みにする: API設計" }).click();
    await p.getByRole("status").filter({ hasText: "支払を記録しました。" }).waitFor();
    const paidRow = p.locator("#accepted-deliveries").getByRole("row", { name: /API設計/ });
    expect(await paidRow.textContent()).toContain(`${day} 支払済み`);
    await noEnglish(p);
    await p.screenshot({ path: join(ARTIFACTS, "deliveries-payments.png"), fullPage: true });
    // Once only, and only by a contractor of the tenant.
    const again = await w.contractor.post(`/api/v1/deliveries/${delivery.id}/paid`, { paidOn: day });
    expect(again.status).toBe(409);
    expect((await w.lead.post(`/api/v1/deliveries/${delivery.id}/paid`, { paidOn: day })).status).toBe(403);
    const listed = (await (await w.lead.get("/api/v1/deliveries/accepted")).json()).items;
    expect(listed).toEqual([expect.objectContaining({ id: delivery.id, paidOn: day, engineerName: "sato" })]);
    expect((await (await ito.client.get("/api/v1/deliveries/accepted")).json()).items).toEqual([]);
  });

  it("offers the settlement files beside the month, and closing only once the month is over", async () => {
    const p = await signIn("buyer@tokyo-si.example");
    const thisMonth = new Date(Date.now() + 9 * 3_600_000).toISOString().slice(0, 7);
    await p.goto(`${w.t.base}/hours?month=${thisMonth}`);
    const juninin = p.locator("section.contract-hours", { hasText: "勘定系保守（準委任）" });
    expect(await juninin.getByRole("link", { name: "Excel（xlsx）" }).getAttribute("href")).toBe(
      `/api/v1/contracts/${w.juninin.id}/settlements.xlsx?month=${thisMonth}`,
    );
    expect(await juninin.getByRole("link", { name: "CSV", exact: true }).getAttribute("href")).toBe(
      `/api/v1/contracts/${w.juninin.id}/settlements.csv?month=${thisMonth}`,
    );
    // The month is not over: nothing to close yet.
    expect(await juninin.getByRole("button", { name: `${thisMonth} を締める` }).count()).toBe(0);
    await p.screenshot({ path: join(ARTIFACTS, "hours-month-open.png"), fullPage: true });
    await noEnglish(p);
    await p.goto(`${w.t.base}/hours?month=2026-05`);
    const past = p.locator("section.contract-hours", { hasText: "勘定系保守（準委任）" });
    expect(await past.getByRole("button", { name: "2026-05 を締める" }).count()).toBe(1);
  });

  it("filters the board by contract and state, pages it, and orders WBS ids naturally", async () => {
    // 1.1 … 1.105 under one parent: more cards than one page holds, with ids that sort wrongly as strings.
    const rows = [
      [...SAMPLE_HEADER],
      ["1", "採番", "", "", "", "", "", ""],
      ...Array.from({ length: 105 }, (_, i) => [`1.${i + 1}`, `作業${i + 1}`, "1", "", "1", "", "", ""]),
    ];
    const created = await w.contractor.post("/api/v1/contracts", {
      client: "株式会社信州銀行",
      title: "採番テスト",
      type: "ukeoi",
      confidentiality: "internal",
      periodStart: "2026-04-01",
      periodEnd: "2027-12-31",
      leadIds: (await (await w.lead.get(`/api/v1/contracts/${w.juninin.id}`)).json()).leadIds,
    });
    expect(created.status).toBe(201);
    const contractId = (await created.json()).id as string;
    const imported = await w.contractor.request("POST", `/api/v1/contracts/${contractId}/wbs`, utf8Csv(rows), {
      "content-type": "text/csv",
    });
    expect(imported.status).toBe(201);

    const p = await signIn("lead@tokyo-si.example");
    await p.goto(`${w.t.base}/board`);
    await p.getByLabel("契約").selectOption({ label: "採番テスト" });
    await p.getByLabel("状態").selectOption({ label: "下書き" });
    await p.getByRole("button", { name: "絞り込む" }).click();
    expect(await p.locator("#board-range").textContent()).toBe("105 件中 1〜100 件");
    const shown = (await p.locator(".board li a").allTextContents()).map((a) => a.split(" ")[0]);
    expect(shown.slice(0, 3)).toEqual(["1.1", "1.2", "1.3"]);
    expect(shown.indexOf("1.9")).toBeLessThan(shown.indexOf("1.10"));
    expect(shown).toHaveLength(100);
    expect(await p.locator(".board section").count()).toBe(1); // one state asked for
    await p.screenshot({ path: join(ARTIFACTS, "board-filtered.png"), fullPage: false });
    await p.getByRole("link", { name: "次へ" }).click();
    expect(await p.locator("#board-range").textContent()).toBe("105 件中 101〜105 件");
    expect((await p.locator(".board li a").allTextContents()).map((a) => a.split(" ")[0])).toEqual([
      "1.101",
      "1.102",
      "1.103",
      "1.104",
      "1.105",
    ]);
    // Another contract's packages are not on the filtered board.
    expect(await p.locator(".board").textContent()).not.toContain("API設計");
  });

  it("answers /favicon.ico with Azusa's icon instead of a 404", async () => {
    const res = await fetch(`${w.t.base}/favicon.ico`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/svg+xml");
    expect(await res.text()).toContain("<svg");
  });
});
