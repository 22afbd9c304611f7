// The week view on a contract's plan: the contract's lead sees when the engineers holding its packages usually
// work, on their own calendar and zone, days away marked; nobody else sees it. Over HTTP on both databases, and in
// Chromium with a screenshot.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { say, text } from "../src/kernel/messages.ts";
import { launchBrowser, signInPage } from "./support/browser.ts";
import { dialects, type TestDialect } from "./support/databases.ts";
import { sampleContractWithWbs } from "./support/fixtures.ts";
import { type Client, PASSWORD, startTestAzusa } from "./support/harness.ts";
import { getPage } from "./support/pages.ts";

const ARTIFACTS = join(import.meta.dirname, "..", "test-artifacts");

/** A contract whose package 2.1 sato (Mon–Fri 10:00–15:00 in Tokyo, away on Wednesday 2027-01-13) holds. */
async function world(dialect: TestDialect) {
  const t = await startTestAzusa({ dialect, env: { AZUSA_SCHEDULES: "off" } });
  const tokyo = await t.createTenant("東京システムインテグレーション");
  const osaka = await t.createTenant("大阪データサービス");
  await t.createUser("contractor", "buyer@tokyo-si.example", tokyo.id);
  const leadId = (await t.createUser("lead", "lead@tokyo-si.example", tokyo.id)).id;
  await t.createUser("lead", "lead@osaka-ds.example", osaka.id);
  const sato = (await t.createUser("engineer", "sato@office.example")).id;
  const operator = await t.signIn("root@office.example");
  const as = {
    contractor: await t.signIn("buyer@tokyo-si.example"),
    lead: await t.signIn("lead@tokyo-si.example"),
    otherLead: await t.signIn("lead@osaka-ds.example"),
    sato: await t.signIn("sato@office.example"),
  };
  await operator.put(`/api/v1/engineers/${sato}`, {
    weeklyCapacityHours: 40,
    skills: [
      { skill: "java", level: 5 },
      { skill: "spring", level: 5 },
    ],
  });
  for (const kind of ["nda", "background_check", "security_training"]) {
    await operator.post(`/api/v1/engineers/${sato}/vetting`, { kind, issuedOn: "2026-04-01", expiresOn: "2027-12-31" });
  }
  const statement = {
    timeZone: "Asia/Tokyo",
    windows: ["mon", "tue", "wed", "thu", "fri"].map((day) => ({ day, start: "10:00", end: "15:00" })),
    exceptions: [{ from: "2027-01-13", to: "2027-01-13", note: "通院" }],
  };
  expect((await as.sato.put(`/api/v1/engineers/${sato}/availability`, statement)).status).toBe(200);
  const { contractId, packages } = await sampleContractWithWbs(as.contractor, as.lead, leadId);
  const pkg = packages["2.1"]?.id as string;
  expect((await as.lead.post(`/api/v1/packages/${pkg}/open`)).status).toBe(200);
  const offer = await as.lead.post(`/api/v1/packages/${pkg}/offers`, { engineerId: sato });
  expect(offer.status).toBe(201);
  expect((await as.sato.post(`/api/v1/offers/${(await offer.json()).id}/accept`)).status).toBe(200);
  return { t, as, contractId };
}

/** The row of one day in the week view: its class and text. */
function dayRow(html: string, date: string): string {
  return new RegExp(`<tr[^>]*data-date="${date}"[^>]*>[\\s\\S]*?</tr>`).exec(html)?.[0] ?? "";
}

describe.each(dialects)("the week view on a contract's plan on %s", (dialect) => {
  let w: Awaited<ReturnType<typeof world>>;
  beforeAll(async () => {
    w = await world(dialect);
  }, 120_000);
  afterAll(() => w?.t.stop());

  it("shows the lead each assigned engineer's windows in the week, days away marked, and says it is no control", async () => {
    const page = await getPage(w.as.lead, `/contracts/${w.contractId}/plan?week=2027-01-14`);
    expect(page.status).toBe(200);
    expect(page.html).toContain("担当エンジニアがふだん作業する時間帯");
    expect(page.html).toContain("勤務時間の管理ではありません");
    expect(page.html).toContain("2027-01-11 から始まる週を Asia/Tokyo の時刻で表示しています");
    expect(page.html).toContain("（担当: 2.1）");
    expect(dayRow(page.html, "2027-01-11")).toContain("10:00–15:00");
    expect(dayRow(page.html, "2027-01-11")).not.toContain('class="away"');
    expect(dayRow(page.html, "2027-01-13")).toContain('class="away"');
    expect(dayRow(page.html, "2027-01-13")).toContain("休み");
    expect(dayRow(page.html, "2027-01-13")).not.toContain("10:00–15:00");
    expect(dayRow(page.html, "2027-01-16")).not.toContain("–");
    expect(page.html).not.toContain("通院");
  });

  it("moves the windows into the zone the lead chooses", async () => {
    const page = await getPage(w.as.lead, `/contracts/${w.contractId}/plan?week=2027-01-11&tz=Europe/London`);
    expect(page.status).toBe(200);
    // Tokyo 10:00–15:00 is 01:00–06:00 in London in January; Tokyo's Wednesday away reaches into London's Tuesday.
    expect(dayRow(page.html, "2027-01-11")).toContain("01:00–06:00");
    expect(dayRow(page.html, "2027-01-12")).toContain("01:00–06:00");
    expect(dayRow(page.html, "2027-01-12")).toContain('class="away"');
    expect(dayRow(page.html, "2027-01-13")).toContain('class="away"');
    expect(dayRow(page.html, "2027-01-14")).toContain("01:00–06:00");
  });

  it("refuses a zone or week it does not know, naming it", async () => {
    // the page's one alert: the field named, then the catalogue's own words for what is wrong with it
    const alertOf = (html: string) => /<div class="notice notice-error" role="alert"><p>([^<]*)<\/p>/.exec(html)?.[1];
    const zone = await getPage(w.as.lead, `/contracts/${w.contractId}/plan?tz=Nagano/Somewhere`);
    expect(zone.status).toBe(400);
    expect(alertOf(zone.html)).toBe(`tz: ${say("ja", text("issue.timeZone"))}`);
    expect(zone.html).not.toContain("担当エンジニアがふだん作業する時間帯");
    const week = await getPage(w.as.lead, `/contracts/${w.contractId}/plan?week=2027-02-30`);
    expect(week.status).toBe(400);
    expect(alertOf(week.html)).toBe(`week: ${say("ja", text("availability.date"))}`);
    expect(week.html).not.toContain("担当エンジニアがふだん作業する時間帯");
  });

  it("is shown to the contract's lead only: another tenant's lead gets 404, the contractor no week view", async () => {
    expect((await getPage(w.as.otherLead, `/contracts/${w.contractId}/plan`)).status).toBe(404);
    const contractor = await getPage(w.as.contractor, `/contracts/${w.contractId}/plan`);
    expect(contractor.status).toBe(200);
    expect(contractor.html).not.toContain("担当エンジニアがふだん作業する時間帯");
    expect((await getPage(w.as.sato as Client, `/contracts/${w.contractId}/plan`)).status).toBe(404);
  });
});

describe("the week view in Chromium", () => {
  let w: Awaited<ReturnType<typeof world>>;
  let browser: Browser;
  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    w = await world("sqlite");
    browser = await launchBrowser();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await w?.t.stop();
  });

  it("lets the lead choose the zone and week, and draws the windows hour by hour", async () => {
    let page: Page | undefined;
    try {
      page = await signInPage(browser, w.t.base, "lead@tokyo-si.example", PASSWORD);
      await page.goto(`${w.t.base}/contracts/${w.contractId}/plan`);
      await page.getByLabel("表示するタイムゾーン").fill("Asia/Tokyo");
      await page.getByLabel("週（この日を含む月〜日）").fill("2027-01-12");
      await page.getByRole("button", { name: "表示" }).click();
      await page.waitForURL((url) => url.searchParams.get("week") === "2027-01-12");
      const monday = page.locator('tr[data-date="2027-01-11"]');
      expect(await monday.locator("td.on").count()).toBe(5);
      expect(await page.locator('tr.away[data-date="2027-01-13"]').count()).toBe(1);
      await page.locator("#team-week").scrollIntoViewIfNeeded();
    } finally {
      await page?.screenshot({ path: join(ARTIFACTS, "web-team-week.png"), fullPage: true });
    }
  });
});
