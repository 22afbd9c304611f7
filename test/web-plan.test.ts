// The contract's plan as a 線表 (Gantt chart): over HTTP on both databases (bars, engineer, critical path,
// dependencies, today, the SVG file, refusals), and in Chromium for a contract of 300 packages (scrolling,
// both scales, the PNG made in the browser, no Content-Security-Policy violation), with screenshots.
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, signInPage } from "./support/browser.ts";
import { dialects } from "./support/databases.ts";
import { PASSWORD } from "./support/harness.ts";
import { type HoursWorld, startHoursWorld } from "./support/hours-world.ts";
import { getPage } from "./support/pages.ts";
import { SAMPLE_CRITICAL_PATH, SAMPLE_HEADER, SAMPLE_LEAF_IDS, utf8Csv } from "./support/wbs-files.ts";

const ARTIFACTS = join(import.meta.dirname, "..", "test-artifacts");

/** The bars of a chart: WBS id → the `<g>` element's attributes and text. */
function barsIn(svg: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of svg.matchAll(/<g class="gantt-bar"([^>]*)>([\s\S]*?)<\/g>/g)) {
    const wbs = /data-wbs="([^"]+)"/.exec(m[1] ?? "")?.[1];
    if (wbs) out.set(wbs, m[0]);
  }
  return out;
}

describe.each(dialects)("the contract's 線表 on %s", (dialect) => {
  let w: HoursWorld;

  beforeAll(async () => {
    w = await startHoursWorld(dialect);
    await w.assign(w.ukeoi.packages["1.1.1"] as string, "sato");
    await w.move(w.ukeoi.packages["1.1.1"] as string, "in_progress");
    // 1.2.2 taken by ito, delivered and accepted (検収) today.
    const done = w.ukeoi.packages["1.2.2"] as string;
    await w.assign(done, "ito");
    await w.move(done, "in_progress", "in_review");
    const ito = w.engineers.ito?.client as HoursWorld["engineers"][string]["client"];
    expect((await ito.post(`/api/v1/packages/${done}/deliver`, { note: "API設計書" })).status).toBe(201);
    expect((await w.contractor.post(`/api/v1/packages/${done}/accept-delivery`)).status).toBe(200);
  }, 240_000);
  afterAll(() => w?.stop());

  it("draws every package as a bar with its state, engineer, dependencies, critical path and today's line", async () => {
    const contract = await getPage(w.contractor, `/contracts/${w.ukeoi.id}`);
    expect(contract.html).toContain(`href="/contracts/${w.ukeoi.id}/plan"`);

    const page = await getPage(w.lead, `/contracts/${w.ukeoi.id}/plan`);
    expect(page.status).toBe(200);
    expect(page.html).toContain("販売管理システム刷新 の線表");
    const bars = barsIn(page.html);
    expect([...bars.keys()].sort()).toEqual([...SAMPLE_LEAF_IDS].sort());
    for (const [wbs, bar] of bars) {
      expect(bar.includes('data-critical="true"'), wbs).toBe(SAMPLE_CRITICAL_PATH.includes(wbs));
    }
    // The package sato took is drawn from the day he took it, in its state's colour, with his name on it.
    const taken = bars.get("1.1.1") as string;
    expect(taken).toContain('data-state="in_progress"');
    expect(taken).toContain("sato");
    expect(taken).toContain("見込み");
    expect(bars.get("2.1")).toContain("未割当");
    // The accepted package is drawn as it happened: taken and accepted today.
    const today = new Date(Date.now() + 9 * 3_600_000).toISOString().slice(0, 10);
    expect(bars.get("1.2.2")).toContain('data-state="accepted"');
    expect(bars.get("1.2.2")).toContain(`ito / ${today} – ${today} / 実績`);
    // Slack after a package off the critical path; none after one on it.
    expect(bars.get("2.3")).toContain('class="slack"');
    expect(bars.get("2.1")).not.toContain('class="slack"');
    // Eleven dependencies in the sample, each an arrow; groups by WBS parent; a line for today.
    expect(page.html.match(/marker-end="url\(#gantt-arrow\)"/g)).toHaveLength(11);
    for (const parent of ["1.1", "1.2", "2", "3"]) expect(page.html).toContain(`>WBS ${parent}<`);
    expect(page.html).toContain('class="today"');
    expect(page.html).toContain("2026年4月");
  });

  it("shows on the contract page packages and hours by state against the plan to date", async () => {
    const page = await getPage(w.contractor, `/contracts/${w.ukeoi.id}`);
    expect(page.status).toBe(200);
    // The sample's plan ends in May 2026: by today all nine packages (384 h) should be done; one (24 h) is accepted.
    expect(page.html).toContain("計画: 今日までに完了予定 9 件 / 384:00");
    expect(page.html).toContain("実績: 検収済み 1 件 / 24:00");
    const chart = /<svg[^>]*class="progress-svg"[\s\S]*?<\/svg>/.exec(page.html)?.[0] ?? "";
    expect(chart).toContain('data-state="accepted" data-measure="hours"');
    expect(chart).toContain('data-state="in_progress" data-measure="count"');
    expect(chart.match(/class="planned"/g)).toHaveLength(2);
    expect(chart).not.toContain("style=");
  });

  it("downloads the chart as an SVG file at either scale, and refuses a scale it does not know by name", async () => {
    const res = await fetch(`${w.t.base}/contracts/${w.ukeoi.id}/plan.svg?scale=month`, {
      headers: { cookie: w.contractor.cookie ?? "" },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/svg+xml; charset=utf-8");
    expect(res.headers.get("content-disposition")).toMatch(/^attachment; .*filename\*=UTF-8''.*\.svg$/);
    expect(decodeURIComponent(res.headers.get("content-disposition") ?? "")).toContain("販売管理システム刷新_線表_");
    const svg = await res.text();
    expect(svg).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(svg).toContain('data-scale="month"');
    expect(barsIn(svg).size).toBe(SAMPLE_LEAF_IDS.length);
    // Colours are attributes, never style: the page's policy forbids inline style.
    expect(svg).not.toContain("style=");

    const refused = await getPage(w.lead, `/contracts/${w.ukeoi.id}/plan?scale=year`);
    expect(refused.status).toBe(400);
    expect(refused.html).toContain("表示単位");
    expect(refused.html).toContain("week, month");
  });

  it("shows the chart and its SVG file to nobody outside the contract", async () => {
    // A lead of another contract of the same tenant, an engineer, a contractor and a lead of another tenant:
    // not found, for the page and for the file, and the contract's title is in neither answer.
    const tenant = await w.t.createTenant("大阪データサービス");
    await w.t.createUser("contractor", `buyer-${dialect}@osaka.example`, tenant.id);
    await w.t.createUser("lead", `lead-${dialect}@osaka.example`, tenant.id);
    const outsiders = {
      "another contract's lead": w.otherLead,
      engineer: w.engineers.sato?.client as never,
      "another tenant's contractor": await w.t.signIn(`buyer-${dialect}@osaka.example`),
      "another tenant's lead": await w.t.signIn(`lead-${dialect}@osaka.example`),
    };
    for (const [who, client] of Object.entries(outsiders)) {
      for (const path of [`/contracts/${w.ukeoi.id}/plan`, `/contracts/${w.ukeoi.id}/plan.svg?scale=month`]) {
        const res = await getPage(client, path);
        expect([who, path, res.status]).toEqual([who, path, 404]);
        expect(res.html).not.toContain("販売管理システム刷新");
      }
    }
  });
});

/** A WBS of 15 phases of 20 packages each: a chain in each phase, and each phase's middle waits on the last's. */
function largeWbs(): Buffer {
  const rows: string[][] = [[...SAMPLE_HEADER]];
  for (let p = 1; p <= 15; p++) {
    rows.push([String(p), `フェーズ${p}`, "", "", "", "", "", ""]);
    for (let k = 1; k <= 20; k++) {
      const deps = [k > 1 ? `${p}.${k - 1}` : "", k === 10 && p > 1 ? `${p - 1}.5` : ""].filter(Boolean);
      rows.push([
        `${p}.${k}`,
        `画面${p}-${k} 実装`,
        String(p),
        "Java:3",
        String(8 + ((p * k) % 4) * 8),
        deps.join(", "),
        "単体テスト合格",
        "",
      ]);
    }
  }
  return utf8Csv(rows);
}

describe("the 線表 of 300 packages in Chromium", () => {
  let w: HoursWorld;
  let browser: Browser;
  let contractId: string;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    w = await startHoursWorld("sqlite");
    const created = await w.contractor.post("/api/v1/contracts", {
      client: "株式会社信州銀行",
      title: "営業店端末更改",
      type: "ukeoi",
      confidentiality: "internal",
      periodStart: "2026-10-01",
      periodEnd: "2027-09-30",
      leadIds: [(await (await w.lead.get("/api/v1/me")).json()).id],
    });
    expect(created.status).toBe(201);
    contractId = (await created.json()).id;
    const imported = await w.contractor.request("POST", `/api/v1/contracts/${contractId}/wbs`, largeWbs(), {
      "content-type": "text/csv",
    });
    expect(imported.status).toBe(201);
    browser = await launchBrowser();
  }, 240_000);
  afterAll(async () => {
    await browser?.close();
    await w?.stop();
  });

  it("scrolls through all 300 bars at week and month scale and downloads a PNG, with no policy violation", async () => {
    let page: Page | undefined;
    const problems: string[] = [];
    try {
      page = await signInPage(browser, w.t.base, "lead@tokyo-si.example", PASSWORD);
      page.on("console", (m) => {
        if (m.type() === "error" || m.type() === "warning") problems.push(m.text());
      });
      page.on("pageerror", (e) => problems.push(String(e)));
      await page.exposeFunction("reportViolation", (v: string) => problems.push(v));
      await page.addInitScript(
        `document.addEventListener("securitypolicyviolation", (e) => window.reportViolation("CSP " + e.violatedDirective + " " + e.blockedURI))`,
      );
      await page.goto(`${w.t.base}/contracts/${contractId}`);
      // The contract page's progress: the chart beside the figures of plan and actual.
      await expect(page.locator("#progress-chart svg").isVisible()).resolves.toBe(true);
      expect(await page.locator("#progress-accepted").textContent()).toBe("実績: 検収済み 0 件 / 0:00");
      await page.locator("#progress").scrollIntoViewIfNeeded();
      await page.screenshot({ path: join(ARTIFACTS, "web-contract-progress.png") });
      await page.getByRole("link", { name: "線表（ガントチャート）を見る" }).click();
      await page.waitForURL((url) => url.pathname.endsWith("/plan"));
      const chart = page.locator("#gantt");
      expect(await chart.locator("g.gantt-bar").count()).toBe(300);
      expect(await chart.locator('g.gantt-bar[data-critical="true"]').count()).toBeGreaterThan(0);
      // The chart scrolls inside its frame both ways; the page itself stays the window's width.
      const frame = await chart.evaluate((el) => ({
        scrollWidth: el.scrollWidth,
        clientWidth: el.clientWidth,
        scrollHeight: el.scrollHeight,
        clientHeight: el.clientHeight,
        pageWidth: el.ownerDocument.documentElement.scrollWidth,
      }));
      expect(frame.scrollWidth).toBeGreaterThan(frame.clientWidth);
      expect(frame.scrollHeight).toBeGreaterThan(frame.clientHeight);
      expect(frame.pageWidth).toBeLessThanOrEqual(1366);
      await page.screenshot({ path: join(ARTIFACTS, "web-plan-week.png") });

      await page.getByRole("link", { name: "月", exact: true }).click();
      await page.waitForURL((url) => url.searchParams.get("scale") === "month");
      const widths = await chart.locator("svg").evaluate((el) => Number(el.getAttribute("width")));
      expect(widths).toBeLessThan(frame.scrollWidth);
      expect(await chart.locator("g.gantt-bar").count()).toBe(300);
      await page.screenshot({ path: join(ARTIFACTS, "web-plan-month.png") });

      const [download] = await Promise.all([
        page.waitForEvent("download"),
        page.getByRole("button", { name: "PNG をダウンロード" }).click(),
      ]);
      expect(download.suggestedFilename()).toMatch(/^営業店端末更改_線表_\d{4}-\d{2}-\d{2}\.png$/);
      const path = join(ARTIFACTS, "web-plan-download.png");
      await download.saveAs(path);
      const png = readFileSync(path);
      expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
      // The PNG is the chart's size: its width and height from the IHDR chunk.
      expect(png.readUInt32BE(16)).toBe(widths);
      expect(png.readUInt32BE(20)).toBeGreaterThan(300 * 22);
    } finally {
      await page?.screenshot({ path: join(ARTIFACTS, "web-plan.png") });
    }
    expect(problems).toEqual([]);
  }, 180_000);
});
