// The pages in a real browser (Debian's Chromium): a contractor imports a WBS, a lead offers a package
// from the suggestions, the engineer answers, the operator keeps vetting and reads the audit log, in
// Japanese and in English. Each test leaves a screenshot of its last page in test-artifacts/.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";
import type { Browser, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, signInPage } from "./support/browser.ts";
import { sampleContract } from "./support/fixtures.ts";
import { type Client, PASSWORD, startTestAzusa, type TestAzusa } from "./support/harness.ts";
import { ensureTestImage } from "./support/images.ts";
import { SAMPLE_CRITICAL_PATH, SAMPLE_WBS_ROWS, utf8Csv } from "./support/wbs-files.ts";

const ARTIFACTS = join(import.meta.dirname, "..", "test-artifacts");

describe("the pages in a browser", () => {
  const docker = new Docker();
  let templatesDir: string;
  let t: TestAzusa;
  let browser: Browser;
  let page: Page | undefined;
  let lead: Client;
  let satoId: string;
  let suzukiId: string;
  let contractId: string;
  const pkg: Record<string, string> = {};

  /** A fresh browser (English-speaking, to show that Japanese stays the default) signed in through the form. */
  async function signIn(email: string): Promise<Page> {
    page = await signInPage(browser, t.base, email, PASSWORD);
    return page;
  }

  beforeAll(async () => {
    const image = await ensureTestImage(docker);
    templatesDir = mkdtempSync(join(tmpdir(), "azusa-templates-"));
    writeFileSync(
      join(templatesDir, "default.devcontainer.json"),
      JSON.stringify({
        image,
        remoteUser: "azusa",
        customizations: { azusa: { resources: { cpus: 1, memoryMiB: 256, pids: 128 } } },
      }),
    );
    mkdirSync(ARTIFACTS, { recursive: true });
    t = await startTestAzusa({ env: { AZUSA_TEMPLATES_DIR: templatesDir, AZUSA_SCHEDULES: "off" } });
    const tokyo = await t.createTenant("東京システムインテグレーション");
    await t.createUser("contractor", "buyer@tokyo-si.example", tokyo.id);
    await t.createUser("lead", "lead@tokyo-si.example", tokyo.id);
    satoId = (await t.createUser("engineer", "sato@matsumoto.example")).id;
    suzukiId = (await t.createUser("engineer", "suzuki@matsumoto.example")).id;
    const operator = await t.signIn("root@office.example");
    lead = await t.signIn("lead@tokyo-si.example");
    await operator.put(`/api/v1/engineers/${satoId}`, {
      weeklyCapacityHours: 40,
      skills: [
        { skill: "java", level: 5 },
        { skill: "spring", level: 4 },
      ],
    });
    await operator.put(`/api/v1/engineers/${suzukiId}`, {
      weeklyCapacityHours: 40,
      skills: [{ skill: "java", level: 2 }],
    });
    for (const kind of ["nda", "background_check", "security_training"]) {
      await operator.post(`/api/v1/engineers/${satoId}/vetting`, {
        kind,
        issuedOn: "2026-04-01",
        expiresOn: "2028-03-31",
      });
    }
    browser = await launchBrowser();
  });

  afterEach(async ({ task }) => {
    const slug = task.name.replace(/[^\w]+/g, "-").slice(0, 80);
    await page?.screenshot({ path: join(ARTIFACTS, `web-${slug}.png`), fullPage: true });
    await page?.context().close();
    page = undefined;
  });

  afterAll(async () => {
    await browser?.close();
    await t?.stop();
    // Whatever a failed test left behind goes too.
    const ours = new Set(Object.values(pkg));
    for (const c of await docker.listContainers({ all: true, filters: { label: ["io.azusa.package"] } })) {
      if (ours.has(c.Labels["io.azusa.package"] ?? ""))
        await docker.getContainer(c.Id).remove({ force: true, v: true });
    }
    rmSync(templatesDir, { recursive: true, force: true });
  });

  it("a contractor registers a contract, sees a refused WBS's problems by row, then imports it and sees packages and the critical path", async () => {
    const p = await signIn("buyer@tokyo-si.example");
    expect(new URL(p.url()).pathname).toBe("/contracts");
    expect(await p.getAttribute("html", "lang")).toBe("ja");
    await p.getByRole("link", { name: "契約を登録" }).click();
    await p.getByLabel("名称").fill(sampleContract.title);
    await p.getByLabel("発注者").fill(sampleContract.client);
    await p.getByLabel("契約形態").selectOption("ukeoi");
    await p.getByLabel("機密区分").selectOption("confidential");
    await p.getByLabel("予算").fill(String(sampleContract.budgetYen));
    await p.getByLabel("開始日").fill(sampleContract.periodStart);
    await p.getByLabel("終了日").fill(sampleContract.periodEnd);
    await p.getByLabel(/lead@tokyo-si\.example/).check();
    await p.getByRole("button", { name: "契約を登録" }).click();
    await p.getByRole("status").filter({ hasText: "契約を登録しました。" }).waitFor();
    await p.getByRole("heading", { level: 1, name: sampleContract.title }).waitFor();
    contractId = new URL(p.url()).pathname.split("/").at(-1) ?? "";
    const contract = await (await lead.get(`/api/v1/contracts/${contractId}`)).json();
    expect(contract).toMatchObject({ type: "ukeoi", confidentiality: "confidential", budgetYen: 24_000_000 });

    const bad = SAMPLE_WBS_ROWS.map((row) => [...row]);
    bad[11] = ["2.2", "在庫引当機能", "2", "Java:4; Oracle:3", "たくさん", "1.2.1", "", ""];
    bad[14] = ["3.2", "移行リハーサル", "3", "Oracle:3", "16", "9.9", "", ""];
    await p.getByLabel("WBS ファイル（CSV・Excel・JSON・YAML）").setInputFiles({
      name: "wbs.csv",
      mimeType: "text/csv",
      buffer: utf8Csv(bad),
    });
    await p.getByRole("button", { name: "取り込む" }).click();
    const errors = p.locator("#wbs-errors");
    await errors.waitFor();
    expect(await errors.textContent()).toContain("WBS は取り込まれませんでした");
    const rows = await errors
      .locator("tbody tr")
      .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent?.trim() ?? "")));
    expect(rows).toEqual(
      expect.arrayContaining([
        expect.arrayContaining(["12", "見積工数", "見積工数「たくさん」は時間数として読めません"]),
        expect.arrayContaining(["15", expect.stringMatching(/9\.9/)]),
      ]),
    );
    expect(await p.locator("#critical-path").count()).toBe(0);

    await p.getByLabel("WBS ファイル（CSV・Excel・JSON・YAML）").setInputFiles({
      name: "wbs.csv",
      mimeType: "text/csv",
      buffer: utf8Csv(SAMPLE_WBS_ROWS),
    });
    await p.getByRole("button", { name: "取り込む" }).click();
    await p.getByRole("status").filter({ hasText: "9 件の作業パッケージを取り込みました。" }).waitFor();
    expect(await p.locator("#critical-path li").allTextContents()).toEqual(
      SAMPLE_CRITICAL_PATH.map((id) => expect.stringContaining(id)),
    );
    expect(await p.getByText("全体で 240:00").count()).toBe(1);
    expect(await p.getByRole("link", { name: "受注管理機能", exact: true }).count()).toBe(1);
    expect(await p.locator(".progress").textContent()).toContain("下書き");

    const items = (await (await lead.get(`/api/v1/contracts/${contractId}/packages`)).json()).items;
    for (const item of items as { wbsId: string; id: string }[]) pkg[item.wbsId] = item.id;
  });

  it("a lead opens a package on the board and offers it to the first suggested engineer", async () => {
    const p = await signIn("lead@tokyo-si.example");
    expect(new URL(p.url()).pathname).toBe("/board");
    await p.locator('section[data-state="draft"]').getByRole("link", { name: "2.1 受注管理機能" }).click();
    await p.getByRole("button", { name: "募集を開始する" }).click();
    await p.getByRole("status").filter({ hasText: "募集を開始しました。" }).waitFor();

    const ranked = p.locator("#ranked tbody tr");
    expect(await ranked.count()).toBe(1);
    expect(await ranked.first().locator("th").textContent()).toBe("sato");
    const why = p.locator("section", { has: p.getByRole("heading", { name: "対象外のエンジニアと理由" }) });
    const suzuki = await why.getByRole("row", { name: /suzuki/ }).textContent();
    expect(suzuki).toContain("java レベル 2（3 が必要）");
    expect(suzuki).toContain("spring のスキルなし（レベル 3 が必要）");
    expect(suzuki).toContain("秘密保持契約の記録なし");

    await p.getByRole("button", { name: "sato さんにオファーする" }).click();
    await p.getByRole("status").filter({ hasText: "sato さんにオファーしました。" }).waitFor();
    expect(await p.locator("#package-state").textContent()).toBe("オファー中");
  });

  it("the engineer declines one offer with a reason and accepts the other, then sees the package and its workspace", async () => {
    // A second offer to decline, made over the API.
    await lead.post(`/api/v1/packages/${pkg["2.3"]}/open`);
    expect((await lead.post(`/api/v1/packages/${pkg["2.3"]}/offers`, { engineerId: satoId })).status).toBe(201);

    const p = await signIn("sato@matsumoto.example");
    expect(new URL(p.url()).pathname).toBe("/offers");
    const reports = p.locator("section.offer", { has: p.getByRole("heading", { name: "2.3 帳票出力" }) });
    await reports.getByLabel("辞退の理由").fill("帳票の経験が浅いため");
    await reports.getByRole("button", { name: "辞退する" }).click();
    await p.getByRole("status").filter({ hasText: "オファーを辞退しました。" }).waitFor();
    const offers = (await (await lead.get(`/api/v1/offers?packageId=${pkg["2.3"]}`)).json()).items;
    expect(offers[0]).toMatchObject({ state: "declined", reason: "帳票の経験が浅いため" });

    const orders = p.locator("section.offer", { has: p.getByRole("heading", { name: "2.1 受注管理機能" }) });
    await orders.getByRole("button", { name: "受諾する" }).click();
    await p.waitForURL((url) => url.pathname === "/my-packages");
    await p.getByRole("status").filter({ hasText: "オファーを受諾しました" }).waitFor();
    const row = p.getByRole("row", { name: /受注管理機能/ });
    expect(await row.textContent()).toContain("アサイン済み");

    await t.running.azusa.workspaces.drain();
    await p.reload();
    expect(
      await p
        .getByRole("row", { name: /受注管理機能/ })
        .locator(".ws-state")
        .textContent(),
    ).toBe("稼働中");
    const state = () =>
      p
        .getByRole("row", { name: /受注管理機能/ })
        .locator(".ws-state")
        .textContent();
    await p.getByRole("button", { name: "停止する: 受注管理機能" }).click();
    await p.getByRole("status").filter({ hasText: "ワークスペースを停止しました。" }).waitFor();
    expect(await state()).toBe("停止中");
    await p.getByRole("button", { name: "起動する: 受注管理機能" }).click();
    await p.getByRole("status").filter({ hasText: "ワークスペースを起動しました。" }).waitFor();
    expect(await state()).toBe("稼働中");
  });

  it("the operator records vetting, sees the workspace and finds the audit chain intact", async () => {
    const p = await signIn("root@office.example");
    expect(new URL(p.url()).pathname).toBe("/engineers");
    await p.getByRole("link", { name: "suzuki" }).click();
    await p.getByLabel("種類").selectOption("nda");
    await p.getByLabel("発行日").fill("2026-04-01");
    await p.getByLabel("有効期限（最終日）").fill("2027-03-31");
    await p.getByRole("button", { name: "保存" }).click();
    await p.getByRole("status").filter({ hasText: "審査記録を追加しました。" }).waitFor();
    expect(await p.locator("#vetting-records tbody").textContent()).toContain("秘密保持契約2026-04-012027-03-31有効");

    await p.getByRole("navigation").getByRole("link", { name: "ワークスペース", exact: true }).click();
    const ws = p.getByRole("row", { name: /受注管理機能/ });
    expect(await ws.textContent()).toContain("sato");
    expect(await ws.textContent()).toContain("稼働中");

    await p.getByRole("navigation").getByRole("link", { name: "監査ログ" }).click();
    expect(await p.getByRole("status").textContent()).toMatch(/ハッシュチェーンは正常です（\d+ 件を検証）。/);
    expect(await p.locator("#audit-events").textContent()).toContain("engineer.vetting_recorded");
  });

  it("the same pages render in English once chosen, and signing out asks to sign in again, by keyboard too", async () => {
    const p = await signIn("lead@tokyo-si.example");
    await p.getByRole("link", { name: "English" }).click();
    await p.getByRole("heading", { level: 1, name: "Package board" }).waitFor();
    expect(await p.getAttribute("html", "lang")).toBe("en");
    expect(await p.locator('section[data-state="offered"]').textContent()).toBeTruthy();
    await p.getByRole("navigation").getByRole("link", { name: "Contracts" }).click();
    await p.getByRole("link", { name: sampleContract.title }).click();
    await p.getByRole("heading", { name: "Critical path" }).waitFor();
    expect(await p.getByText("240:00 h end to end").count()).toBe(1);
    await p.getByRole("link", { name: "受注管理機能", exact: true }).click();
    await p.getByRole("heading", { name: "Offers" }).waitFor();
    expect(await p.locator("#package-state").textContent()).toBe("Assigned");

    await p.getByRole("button", { name: "Sign out" }).click();
    await p.getByRole("status").filter({ hasText: "You are signed out." }).waitFor();
    await p.goto(`${t.base}/board`);
    expect(new URL(p.url()).pathname).toBe("/sign-in");
    await p.getByRole("heading", { level: 1, name: "Sign in" }).waitFor();

    // Signing in again with the keyboard alone: the email field has the focus, Tab moves on, Enter sends.
    await p.keyboard.type("lead@tokyo-si.example");
    await p.keyboard.press("Tab");
    await p.keyboard.type(PASSWORD);
    await p.keyboard.press("Enter");
    await p.getByRole("heading", { level: 1, name: "Package board" }).waitFor();
    expect(new URL(p.url()).pathname).toBe("/board");
  });
});
