// The programme report of an office: a month's engineers, deliveries, acceptances, approved hours and payments by
// tenant, counted from work this test makes; for the office's operators and office admins only, as JSON, CSV,
// xlsx and a page with charts (in Chromium, with a screenshot in test-artifacts/).
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import ExcelJS from "exceljs";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { weekOf } from "../src/domain/timesheets/time.ts";
import { launchBrowser, signInPage } from "./support/browser.ts";
import { dialects } from "./support/databases.ts";
import { type Client, PASSWORD } from "./support/harness.ts";
import { type HoursWorld, startHoursWorld } from "./support/hours-world.ts";
import { officeInput } from "./support/offices.ts";
import { getPage } from "./support/pages.ts";
import { SAMPLE_WBS_ROWS, utf8Csv } from "./support/wbs-files.ts";

const ARTIFACTS = join(import.meta.dirname, "..", "test-artifacts");
/** The closed 準委任 month: 145 h within the 140–180 h band, paid the monthly fee of 800,000 yen. */
const CLOSED = "2026-11";
const CLOSED_DAYS = ["02", "03", "04", "05", "06", "09", "10", "11", "12", "13"].map((d) => `${CLOSED}-${d}`);

describe.each(dialects)("the programme report on %s", (dialect) => {
  let w: HoursWorld;
  let month: string;
  let northId: string;
  let southId: string;
  let as: Record<"north" | "south" | "osakaBuyer", Client>;
  let browser: Browser;

  const tokyoToday = () => new Date(Date.now() + 9 * 3_600_000).toISOString().slice(0, 10);

  /** Records minutes on a day for the engineer, who submits the week; the lead approves it unless told not to. */
  async function hours(name: string, wbs: string, date: string, minutes: number, approve = true) {
    const who = w.engineers[name] as HoursWorld["engineers"][string];
    const made = await who.client.post("/api/v1/time-entries", {
      packageId: w.juninin.packages[wbs],
      timeZone: "Asia/Tokyo",
      date,
      minutes,
    });
    expect(made.status).toBe(201);
    return async () => {
      const sheets = (await (await who.client.get(`/api/v1/timesheets?week=${weekOf(date)}`)).json()).items;
      const sheet = sheets.find((s: { contractId: string }) => s.contractId === w.juninin.id);
      if (sheet.state === "draft")
        expect((await who.client.post(`/api/v1/timesheets/${sheet.id}/submit`)).status).toBe(200);
      if (approve) expect((await w.lead.post(`/api/v1/timesheets/${sheet.id}/approve`)).status).toBe(200);
    };
  }

  /** Delivers the package (its work merged), the contractor accepts it, and pays it today if told to. */
  async function deliverAndAccept(engineer: Client, contractor: Client, packageId: string, pay: boolean) {
    await w.move(packageId, "in_progress", "in_review");
    const delivered = await engineer.post(`/api/v1/packages/${packageId}/deliver`, { note: "マージ済み" });
    expect(delivered.status).toBe(201);
    expect((await contractor.post(`/api/v1/packages/${packageId}/accept-delivery`)).status).toBe(200);
    if (pay) {
      const paid = await contractor.post(`/api/v1/deliveries/${(await delivered.json()).id}/paid`, {
        paidOn: tokyoToday(),
      });
      expect(paid.status).toBe(200);
    }
  }

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    w = await startHoursWorld(dialect);
    month = tokyoToday().slice(0, 7);
    const root = w.operator;
    northId = (await (await root.post("/api/v1/offices", officeInput("北サテライトオフィス", "北町"))).json()).id;
    southId = (await (await root.post("/api/v1/offices", officeInput("南サテライトオフィス", "南町"))).json()).id;
    const northOps = await w.t.createUser("operator", "ops@north.example");
    const southOps = await w.t.createUser("operator", "ops@south.example");
    for (const [office, id] of [
      [northId, northOps.id],
      [southId, southOps.id],
      [northId, w.engineers.sato?.id],
      [northId, w.engineers.ito?.id],
      [southId, w.engineers.kato?.id],
    ]) {
      expect((await root.put(`/api/v1/offices/${office}/members/${id}`)).status).toBe(200);
    }

    // A second tenant, whose 請負 package ito delivers and which accepts it without paying yet.
    const osaka = await w.t.createTenant("大阪ソリューションズ株式会社");
    await w.t.createUser("contractor", "buyer@osaka.example", osaka.id);
    const osakaLead = await w.t.createUser("lead", "lead@osaka.example", osaka.id);
    as = {
      north: await w.t.signIn("ops@north.example"),
      south: await w.t.signIn("ops@south.example"),
      osakaBuyer: await w.t.signIn("buyer@osaka.example"),
    };
    const contract = await as.osakaBuyer.post("/api/v1/contracts", {
      client: "株式会社なにわ物流",
      title: "配送管理",
      type: "ukeoi",
      confidentiality: "internal",
      periodStart: "2026-04-01",
      periodEnd: "2027-12-31",
      hourlyRateYen: 5_000,
      leadIds: [osakaLead.id],
    });
    expect(contract.status).toBe(201);
    const osakaContractId = (await contract.json()).id;
    await as.osakaBuyer.request("POST", `/api/v1/contracts/${osakaContractId}/wbs`, utf8Csv(SAMPLE_WBS_ROWS), {
      "content-type": "text/csv",
    });
    const lead = await w.t.signIn("lead@osaka.example");
    const items = (await (await lead.get(`/api/v1/contracts/${osakaContractId}/packages`)).json()).items;
    const osakaPackage = items.find((p: { wbsId: string }) => p.wbsId === "2.3").id;
    expect((await lead.post(`/api/v1/packages/${osakaPackage}/open`)).status).toBe(200);
    const offer = await lead.post(`/api/v1/packages/${osakaPackage}/offers`, { engineerId: w.engineers.ito?.id });
    const ito = w.engineers.ito as HoursWorld["engineers"][string];
    expect((await ito.client.post(`/api/v1/offers/${(await offer.json()).id}/accept`)).status).toBe(200);
    await deliverAndAccept(ito.client, as.osakaBuyer, osakaPackage, false);

    // The Tokyo tenant: sato's 請負 package (40 h × 7,000 yen) delivered, accepted and paid this month, and his
    // approved 準委任 hours; kato, of the other office, has approved hours too.
    const sato = w.engineers.sato as HoursWorld["engineers"][string];
    await w.assign(w.ukeoi.packages["2.3"] as string, "sato");
    await deliverAndAccept(sato.client, w.contractor, w.ukeoi.packages["2.3"] as string, true);
    await w.assign(w.juninin.packages["2.1"] as string, "sato");
    await w.assign(w.juninin.packages["2.2"] as string, "kato");
    await (await hours("sato", "2.1", `${month}-01`, 90))();
    await (await hours("kato", "2.2", `${month}-01`, 60))();
    // Last month: 145 h by sato, approved, and the month closed.
    const weeks: (() => Promise<void>)[] = [];
    for (const day of CLOSED_DAYS) weeks.push(await hours("sato", "2.1", day, 870));
    for (const approve of [weeks[0], weeks[5]]) await approve?.();
    const closed = await w.contractor.post(`/api/v1/contracts/${w.juninin.id}/settlements/close`, { month: CLOSED });
    expect(closed.status).toBe(201);
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await w?.stop();
  });

  it("counts the month's work of the office's engineers by tenant, and leaves another office's out", async () => {
    const res = await as.north.get(`/api/v1/offices/${northId}/report?month=${month}`);
    expect(res.status).toBe(200);
    const report = await res.json();
    expect(report).toMatchObject({ officeName: "北サテライトオフィス", month, engineers: 2, newEngineers: 2 });
    expect(report.tenants.map((r: { tenant: string }) => r.tenant)).toEqual([
      "東京システムインテグレーション株式会社",
      "大阪ソリューションズ株式会社",
    ]);
    expect(report.tenants[0]).toMatchObject({
      engineersActive: 1,
      packagesDelivered: 1,
      packagesAccepted: 1,
      hoursApproved: 1.5,
      yenPaid: 280_000,
    });
    expect(report.tenants[1]).toMatchObject({
      engineersActive: 1,
      packagesDelivered: 1,
      packagesAccepted: 1,
      hoursApproved: 0,
      yenPaid: 0,
    });
    expect(report.totals).toEqual({
      engineersActive: 2,
      packagesDelivered: 2,
      packagesAccepted: 2,
      hoursApproved: 1.5,
      yenPaid: 280_000,
    });
    // Counts only: no engineer's name or address is in it.
    expect(JSON.stringify(report)).not.toMatch(/sato|ito|kato|matsumoto\.example/);

    const south = await (await as.south.get(`/api/v1/offices/${southId}/report?month=${month}`)).json();
    expect(south.tenants).toEqual([
      expect.objectContaining({
        tenant: "東京システムインテグレーション株式会社",
        engineersActive: 1,
        hoursApproved: 1,
      }),
    ]);
  });

  it("pays a closed 準委任 month to the engineers who worked it", async () => {
    const report = await (await as.north.get(`/api/v1/offices/${northId}/report?month=${CLOSED}`)).json();
    expect(report.newEngineers).toBe(0);
    expect(report.tenants).toEqual([
      {
        tenantId: expect.any(String),
        tenant: "東京システムインテグレーション株式会社",
        engineersActive: 1,
        packagesDelivered: 0,
        packagesAccepted: 0,
        hoursApproved: 145,
        yenPaid: 800_000,
      },
    ]);
  });

  it("is the office's operators' and office admins' only; a bad month or an unknown office says so", async () => {
    expect((await w.operator.get(`/api/v1/offices/${northId}/report?month=${month}`)).status).toBe(200);
    for (const client of [as.south, w.contractor, w.lead, as.osakaBuyer, w.engineers.sato?.client as Client]) {
      const res = await client.get(`/api/v1/offices/${northId}/report.csv?month=${month}`);
      expect(res.status).toBe(403);
      expect((await res.json()).error).toMatchObject({ code: "FORBIDDEN", requestId: expect.any(String) });
    }
    const bad = await as.north.get(`/api/v1/offices/${northId}/report?month=2026-13`);
    expect(bad.status).toBe(400);
    expect(JSON.stringify((await bad.json()).error)).toContain("month");
    expect((await w.operator.get(`/api/v1/offices/no-such-office/report?month=${month}`)).status).toBe(404);
    // The page asks the same: another office's operator is refused, any other role finds no such page.
    expect((await as.south.get(`/offices/${northId}/report`)).status).toBe(403);
    for (const client of [w.contractor, w.lead, as.osakaBuyer, w.engineers.sato?.client as Client]) {
      expect((await client.get(`/offices/${northId}/report`)).status).toBe(404);
    }
    expect((await w.operator.get(`/offices/no-such-office/report`)).status).toBe(404);
  });

  it("downloads as CSV and xlsx with the same figures", async () => {
    const csv = await as.north.get(`/api/v1/offices/${northId}/report.csv?month=${month}`);
    expect(csv.status).toBe(200);
    expect(csv.headers.get("content-disposition")).toContain(`programme-${northId.slice(0, 8)}-${month}.csv`);
    const bytes = new Uint8Array(await csv.arrayBuffer());
    expect([...bytes.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf]); // a BOM, for Excel
    const lines = new TextDecoder("utf-8", { ignoreBOM: true }).decode(bytes).slice(1).split("\r\n");
    expect(lines).toContain("テナント,稼働エンジニア数,納品数,検収数,承認済み時間（時間・10進）,支払額（円）");
    expect(lines).toContain("東京システムインテグレーション株式会社,1,1,1,1.5,280000");
    expect(lines).toContain("大阪ソリューションズ株式会社,1,1,1,0,0");
    expect(lines).toContain("合計,2,2,2,1.5,280000");

    const xlsx = await as.north.get(`/api/v1/offices/${northId}/report.xlsx?month=${month}`);
    expect(xlsx.status).toBe(200);
    const book = new ExcelJS.Workbook();
    await book.xlsx.load((await xlsx.arrayBuffer()) as ArrayBuffer);
    const rows: unknown[][] = [];
    book.getWorksheet("実績")?.eachRow((row) => rows.push((row.values as unknown[]).slice(1)));
    expect(rows).toContainEqual(["サテライトオフィス", "北サテライトオフィス"]);
    expect(rows).toContainEqual(["合計", 2, 2, 2, 1.5, 280_000]);
  });

  it("shows the office's operator the table and the charts in Chromium", async () => {
    let page: Page | undefined;
    try {
      page = await signInPage(browser, w.t.base, "ops@north.example", PASSWORD);
      await page.goto(`${w.t.base}/offices/${northId}`);
      await page.getByRole("link", { name: "実績報告" }).click();
      await page.waitForURL((url) => url.pathname === `/offices/${northId}/report`);
      const total = page.locator("#programme tr.total");
      await expect.poll(() => total.textContent()).toContain("280,000 円");
      expect(await page.locator("#programme tbody tr").count()).toBe(3);
      // One bar per tenant, the longer for the more hours; the figures written beside them.
      const bars = page.locator("#chart-hours rect");
      expect(await bars.count()).toBe(2);
      expect(Number(await bars.nth(0).getAttribute("width"))).toBeGreaterThan(0);
      expect(Number(await bars.nth(1).getAttribute("width"))).toBe(0);
      expect(await page.locator("#chart-yen").textContent()).toContain("280,000 円");
      await page.getByLabel("対象月").fill(CLOSED);
      await page.getByRole("button", { name: "表示" }).click();
      await page.waitForURL((url) => url.search === `?month=${CLOSED}`);
      await expect.poll(() => page?.locator("#programme tr.total").textContent()).toContain("800,000 円");
      expect(await page.locator("a[download]").first().getAttribute("href")).toBe(
        `/api/v1/offices/${northId}/report.csv?month=${CLOSED}`,
      );
    } finally {
      await page?.screenshot({ path: join(ARTIFACTS, `web-programme-report-${dialect}.png`), fullPage: true });
    }
  });

  it("counts by who belongs to the office now, and says so on the page", async () => {
    const page = await getPage(as.north, `/offices/${northId}/report?month=${month}`);
    expect(page.status).toBe(200);
    expect(page.html).toContain("対象月ではなく表示した時点でこのオフィスに所属しているエンジニアです");
    // ito moves to the south office: this month's work for Osaka is then the south office's, and no longer north's.
    expect((await w.operator.put(`/api/v1/offices/${southId}/members/${w.engineers.ito?.id}`)).status).toBe(200);
    const north = await (await as.north.get(`/api/v1/offices/${northId}/report?month=${month}`)).json();
    expect(north).toMatchObject({ engineers: 1 });
    expect(north.tenants.map((r: { tenant: string }) => r.tenant)).toEqual(["東京システムインテグレーション株式会社"]);
    const south = await (await as.south.get(`/api/v1/offices/${southId}/report?month=${month}`)).json();
    expect(south).toMatchObject({ engineers: 2 });
    expect(south.tenants.map((r: { tenant: string }) => r.tenant)).toContain("大阪ソリューションズ株式会社");
  });
});
