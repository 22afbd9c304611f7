// The order document (発注書) and inspection in a real browser (Debian's Chromium): the engineer reads the draft
// order from the offer card, the order from the assigned package; the lead and the contractor from the package
// page; the order states the actual payment date once delivered and names the law in force on the order date.
// Screenshots go to test-artifacts/.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, signInPage } from "./support/browser.ts";
import { PASSWORD } from "./support/harness.ts";
import { type HoursWorld, startHoursWorld } from "./support/hours-world.ts";
import { getPage } from "./support/pages.ts";

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
    await engineer.screenshot({ path: join(ARTIFACTS, "order-draft.png"), fullPage: true });

    await engineer.goto(`${w.t.base}/offers`);
    await engineer.getByRole("button", { name: "受諾する" }).click();
    await engineer.waitForURL((url) => url.pathname === "/my-packages");
    await engineer.getByRole("link", { name: "発注書: API設計" }).click();
    expect(await engineer.locator("h1").textContent()).toBe("発注書");
    expect(await engineer.locator("body").textContent()).toContain("納品日（受領日）から起算して 60 日以内");

    for (const email of ["lead@tokyo-si.example", "buyer@tokyo-si.example"]) {
      const reader = await signIn(email);
      await reader.goto(`${w.t.base}/packages/${id}`);
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
    await engineer.screenshot({ path: join(ARTIFACTS, "order-delivered.png"), fullPage: true });

    // Nobody else reads it.
    const ito = w.engineers.ito as HoursWorld["engineers"][string];
    expect((await getPage(ito.client, `/packages/${id}/order`)).status).toBe(404);
    expect((await getPage(w.otherLead, `/packages/${id}/order`)).status).toBe(404);
  });
});
