// Review, hours and inspection in a real browser (Debian's Chromium): the engineer records time and submits
// the week, the lead approves it beside the session evidence; the lead comments on a line of a pull request,
// approves and merges it, and sees a conflicting one refused with its files named; a contractor accepts a
// delivery and reads the month's settlement; the pages in English. Screenshots go to test-artifacts/.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { tokyoDay, weekOf } from "../src/domain/timesheets/time.ts";
import { launchBrowser, signInPage } from "./support/browser.ts";
import { PASSWORD } from "./support/harness.ts";
import { type HoursWorld, startHoursWorld } from "./support/hours-world.ts";
import { csrfTokenIn, getPage, postForm } from "./support/pages.ts";
import { pullRequestOn } from "./support/pull-requests.ts";

const ARTIFACTS = join(import.meta.dirname, "..", "test-artifacts");

describe("review, hours and inspection in a browser", () => {
  let w: HoursWorld;
  let browser: Browser;
  let page: Page | undefined;
  /** Yesterday in Tokyo: hours are reported once worked. */
  const day = tokyoDay(Date.now() - 86_400_000);
  let hoursPackage: string;
  let reviewPackage: string;
  let pull: { id: string; number: number };
  let rival: { id: string; number: number };

  async function signIn(email: string): Promise<Page> {
    page = await signInPage(browser, w.t.base, email, PASSWORD, { width: 1366, height: 900 });
    return page;
  }

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    w = await startHoursWorld("sqlite");
    hoursPackage = w.juninin.packages["2.1"] as string;
    await w.assign(hoursPackage, "sato");
    reviewPackage = w.ukeoi.packages["2.1"] as string;
    await w.assign(reviewPackage, "ito");
    await w.move(reviewPackage, "in_progress");
    // Two pull requests that both add order.txt: once one is merged, the other conflicts.
    pull = await pullRequestOn(w.t, reviewPackage, {
      title: "受注登録画面",
      files: { "order.txt": "受注番号\n顧客名\n数量\n" },
    });
    rival = await pullRequestOn(w.t, reviewPackage, {
      title: "受注登録（別案）",
      branch: "feature/rival",
      files: { "order.txt": "注文ID\n" },
    });
    // Sato's session yesterday 09:00–10:30 Tokyo, active in every 5-minute slot: evidence beside the entry.
    const db = w.t.running.azusa.db.kysely;
    const startedAt = new Date(`${day}T00:00:00.000Z`);
    const tenant = await db
      .selectFrom("work_package")
      .select("tenant_id")
      .where("id", "=", hoursPackage)
      .executeTakeFirstOrThrow();
    await db
      .insertInto("workspace_session")
      .values({
        id: "s-web-sato",
        workspace_id: "ws-web",
        package_id: hoursPackage,
        tenant_id: tenant.tenant_id,
        engineer_id: (w.engineers.sato as { id: string }).id,
        channel: "ssh",
        kind: "shell",
        source_address: "127.0.0.1",
        started_at: startedAt.toISOString(),
        ended_at: new Date(startedAt.getTime() + 90 * 60_000).toISOString(),
        end_reason: "closed",
        exit_code: 0,
        recording: null,
      })
      .execute();
    await db
      .insertInto("session_activity")
      .values(
        Array.from({ length: 18 }, (_, i) => ({
          session_id: "s-web-sato",
          bucket_start: new Date(startedAt.getTime() + i * 5 * 60_000).toISOString(),
          bytes_in: 60,
          bytes_out: 1200,
        })),
      )
      .execute();
    browser = await launchBrowser();
  });

  afterEach(async ({ task }) => {
    const slug = task.name.replace(/[^\w]+/g, "-").slice(0, 80);
    await page?.screenshot({ path: join(ARTIFACTS, `web-review-${slug}.png`), fullPage: true });
    await page?.context().close();
    page = undefined;
  });

  afterAll(async () => {
    await browser?.close();
    await w?.stop();
  });

  it("the engineer records three hours with start and end, sees the evidence beside them, and submits the week", async () => {
    const p = await signIn("sato@matsumoto.example");
    await p.getByRole("navigation").getByRole("link", { name: "工数入力" }).click();
    await p.getByLabel("作業パッケージ").selectOption({ label: "2.1 受注管理機能" });
    await p.getByLabel("開始", { exact: true }).fill(`${day}T09:00`);
    await p.getByLabel("終了", { exact: true }).fill(`${day}T12:00`);
    await p.getByLabel("メモ").fill("受注画面の実装");
    await p.getByRole("button", { name: "記録する" }).click();
    await p.getByRole("status").filter({ hasText: "作業時間を記録しました。" }).waitFor();
    const entry = p.getByRole("row", { name: /受注画面の実装/ });
    // Hours read as h:mm, as on a timesheet.
    expect(await entry.textContent()).toContain("3:00");
    // 18 of the entry's 36 five-minute slots show activity in the workspace.
    expect(await entry.textContent()).toContain("裏付け 50%");
    expect(await entry.textContent()).toContain("活動のあった5分枠 18/36");

    // A second entry that overlaps the first is refused, naming the field, and nothing is added.
    await p.getByLabel("開始", { exact: true }).fill(`${day}T11:00`);
    await p.getByLabel("終了", { exact: true }).fill(`${day}T13:00`);
    await p.getByRole("button", { name: "記録する" }).click();
    expect(await p.getByRole("alert").textContent()).toContain("開始: 記録");
    expect(await p.getByRole("alert").textContent()).toContain("と重なっています");
    expect(await p.getByRole("row", { name: /受注画面の実装/ }).count()).toBe(1);

    await p.getByRole("button", { name: "この週を提出する" }).click();
    await p.getByRole("status").filter({ hasText: "タイムシートを提出しました。" }).waitFor();
    expect(await p.locator("section.sheet .badge").first().textContent()).toBe("提出済み");
    expect(await p.getByRole("button", { name: /取り消す/ }).count()).toBe(0);
  });

  it("the lead approves the submitted week beside the evidence; the engineer is told and marks it read", async () => {
    // A rejection without a reason is refused, naming the field, and the week stays submitted.
    const sato = (w.engineers.sato as { id: string }).id;
    const week = async () =>
      (await (await w.lead.get(`/api/v1/timesheets?week=${weekOf(day)}&engineerId=${sato}`)).json()).items;
    const [submitted] = await week();
    const _csrf = csrfTokenIn((await getPage(w.lead, "/timesheets")).html);
    const refused = await postForm(w.lead, `/timesheets/${submitted.id}/reject`, { _csrf, reason: " " });
    expect(refused.status).toBe(400);
    expect(refused.html).toContain("差し戻しの理由");
    expect((await week()).map((s: { state: string }) => s.state)).toEqual(["submitted"]);

    const p = await signIn("lead@tokyo-si.example");
    // Submitting told the lead, beside the two offers the engineers accepted: the header counts them.
    const unread = (await (await w.lead.get("/api/v1/notifications?unread=true")).json()).items;
    expect(unread.map((n: { kind: string }) => n.kind).sort()).toEqual([
      "offer.accepted",
      "offer.accepted",
      "timesheet.submitted",
    ]);
    expect(await p.locator("header a.unread .badge").textContent()).toBe("3");
    await p.getByRole("navigation").getByRole("link", { name: "タイムシート承認" }).click();
    const sheet = p.locator("section.sheet", { hasText: "sato さん" });
    expect(await sheet.textContent()).toContain("裏付け 50%");
    expect(await sheet.textContent()).toContain("受注画面の実装");
    // Each line names the contract its package belongs to.
    expect(await sheet.getByRole("row", { name: /受注画面の実装/ }).textContent()).toContain("勘定系保守（準委任） · ");
    await sheet.getByRole("button", { name: /承認する/ }).click();
    await p.getByRole("status").filter({ hasText: "タイムシートを承認しました。" }).waitFor();
    expect(await p.locator("section.sheet .badge").first().textContent()).toBe("承認済み");
    expect((await week()).map((s: { state: string }) => s.state)).toEqual(["approved"]);

    const e = await signIn("sato@matsumoto.example");
    const satoClient = (w.engineers.sato as HoursWorld["engineers"][string]).client;
    const kinds = async () =>
      ((await (await satoClient.get("/api/v1/notifications?unread=true")).json()).items as { kind: string }[])
        .map((n) => n.kind)
        .sort();
    const before = await kinds();
    expect(before).toContain("timesheet.approved");
    expect(await e.locator("header a.unread .badge").textContent()).toBe(String(before.length));
    await e.locator("header a.unread").click();
    const approved = e.locator("ul.notifications li", { hasText: /タイムシートが承認されました/ });
    await approved.waitFor();
    await approved.getByRole("button", { name: /既読にする/ }).click();
    await e.getByRole("status").filter({ hasText: "既読にしました。" }).waitFor();
    // Only that notice is read; the others stay unread.
    expect(await kinds()).toEqual(before.filter((_k, i) => i !== before.indexOf("timesheet.approved")));
    expect(await e.locator("header a.unread .badge").textContent()).toBe(String(before.length - 1));
  });

  it("the lead comments on a line of the diff, approves and merges; the rival pull request conflicts and names the file", async () => {
    const p = await signIn("lead@tokyo-si.example");
    await p.getByRole("navigation").getByRole("link", { name: "プルリクエスト" }).click();
    await p.getByRole("link", { name: "受注登録画面" }).click();
    await p.getByRole("heading", { level: 1, name: `#${pull.number} 受注登録画面` }).waitFor();
    const added = p.locator('tr.diff-add[data-path="order.txt"]');
    expect(await added.count()).toBe(3);
    expect(await added.nth(1).locator("td").allTextContents()).toEqual(["", "2", "+追加行:顧客名"]);
    expect(await p.locator("#pull-approvals").textContent()).toBe("0 / 1 件");

    await p.getByLabel("レビューのコメント").fill("よいと思います");
    await p.getByLabel("ファイルと行").selectOption("2:order.txt");
    await p.getByLabel("行へのコメント本文").fill("顧客コードも必要です");
    await p.getByRole("button", { name: "承認する" }).click();
    await p.getByRole("status").filter({ hasText: "承認しました。" }).waitFor();
    expect(await p.locator("tr.diff-comment").textContent()).toContain("顧客コードも必要です");
    expect(await p.locator("#pull-approvals").textContent()).toBe("1 / 1 件");
    await p.getByRole("button", { name: "main にマージする" }).click();
    await p.getByRole("status").filter({ hasText: "マージしました。" }).waitFor();
    expect(await p.locator("#pull-state").textContent()).toBe("マージ済み");
    const merged = await (await w.lead.get(`/api/v1/pulls/${pull.id}`)).json();
    expect(merged).toMatchObject({ state: "merged", approvals: 1 });
    expect(merged.reviews[0].comments).toEqual([{ path: "order.txt", line: 2, body: "顧客コードも必要です" }]);

    await p.goto(`${w.t.base}/pulls/${rival.id}`);
    expect(await p.locator("#pull-state").textContent()).toBe("レビュー待ち");
    await p.getByLabel("レビューのコメント").fill("注文IDの定義を見直してください");
    await p.getByRole("button", { name: "修正を依頼する" }).click();
    await p.locator("#pull-state", { hasText: "修正依頼中" }).waitFor();
    // Changes asked for: the pull request is no longer waiting for review.
    expect(await p.locator("#pull-state").textContent()).toBe("修正依頼中");
    await p.getByRole("button", { name: "承認する" }).click();
    await p.getByRole("status").filter({ hasText: "承認しました。" }).waitFor();
    await p.getByRole("button", { name: "main にマージする" }).click();
    const conflict = p.locator("#merge-conflict");
    await conflict.waitFor();
    expect(await conflict.textContent()).toContain("競合しています");
    expect(await conflict.locator("li").allTextContents()).toEqual(["order.txt"]);
    expect((await (await w.lead.get(`/api/v1/pulls/${rival.id}`)).json()).state).toBe("open");
  });

  it("the engineer sees their pull requests with the lead's line comment; opening one needs the workspace running", async () => {
    const p = await signIn("ito@matsumoto.example");
    await p.getByRole("navigation").getByRole("link", { name: "プルリクエスト" }).click();
    const section = p.locator("section", { has: p.getByRole("heading", { name: "2.1 受注管理機能" }) });
    expect(await section.getByRole("row", { name: /受注登録画面/ }).textContent()).toContain("マージ済み");
    expect(await section.getByRole("row", { name: /受注登録（別案）/ }).textContent()).toContain("レビュー待ち");
    expect(await section.textContent()).toContain("order.txt:2 顧客コードも必要です");
    await section.getByLabel("フォークのブランチ名").fill("feature/customer-code");
    // A title of spaces passes the form's `required`; the service refuses it, naming the field.
    await section.getByLabel("タイトル").fill("   ");
    await section.getByRole("button", { name: "プルリクエストを作成" }).click();
    expect(await p.getByRole("alert").textContent()).toContain("タイトル: 空白や見えない文字だけにはできません");
    const again = p.locator("section", { has: p.getByRole("heading", { name: "2.1 受注管理機能" }) });
    await again.getByLabel("フォークのブランチ名").fill("feature/customer-code");
    await again.getByLabel("タイトル").fill("顧客コード");
    await again.getByRole("button", { name: "プルリクエストを作成" }).click();
    // The workspace's image was never built, so Azusa cannot read its fork: the page says so and opens nothing.
    expect(await p.getByRole("alert").textContent()).toContain("ワークスペースの状態が「");
    const pulls = (await (await w.lead.get(`/api/v1/packages/${reviewPackage}/pulls`)).json()).items;
    expect(pulls).toHaveLength(2);
  });

  it("a contractor accepts a delivery (検収) and reads the month's hours and settlement against the band", async () => {
    const delivered = w.ukeoi.packages["2.3"] as string;
    await w.assign(delivered, "kato");
    await w.move(delivered, "in_progress", "in_review");
    const kato = (w.engineers.kato as { client: HoursWorld["lead"] }).client;
    expect((await kato.post(`/api/v1/packages/${delivered}/deliver`, { note: "帳票一式" })).status).toBe(201);

    const p = await signIn("buyer@tokyo-si.example");
    await p.getByRole("navigation").getByRole("link", { name: "検収" }).click();
    const item = p.locator("section.delivery", { hasText: "帳票出力" });
    expect(await item.textContent()).toContain("帳票一式");
    await item.getByRole("button", { name: "検収する: 帳票出力" }).click();
    await p.getByRole("button", { name: "検収を確定する" }).click();
    await p.getByRole("status").filter({ hasText: "検収しました。" }).waitFor();
    expect(await p.getByText("検収待ちの納品はありません。").count()).toBe(1);
    expect((await (await w.contractor.get(`/api/v1/packages/${delivered}`)).json()).state).toBe("accepted");

    await p.goto(`${w.t.base}/hours?month=${day.slice(0, 7)}`);
    const juninin = p.locator("section.contract-hours", { hasText: "勘定系保守（準委任）" });
    expect(await juninin.textContent()).toContain("承認済み 3:00");
    expect(await juninin.textContent()).toContain("精算幅 140–180 時間");
    const row = juninin.getByRole("row", { name: /sato/ });
    // 3 h against a 140 h floor: 137 × 6,000 yen would take more than the 800,000 fee, so nothing is paid.
    expect(await row.textContent()).toContain("下限未満0 円");
    const csv = await juninin.getByRole("link", { name: "CSV をダウンロード" }).getAttribute("href");
    const res = await w.contractor.get(csv ?? "");
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("受注画面の実装");
  });

  it("the same pages render in English once chosen", async () => {
    const p = await signIn("lead@tokyo-si.example");
    await p.goto(`${w.t.base}/timesheets?lang=en`);
    await p.getByRole("heading", { level: 1, name: "Timesheet approval" }).waitFor();
    expect(await p.locator("section.sheet").first().textContent()).toContain("50% corroborated");
    await p.getByRole("button", { name: "Reopen" }).waitFor();
    await p.goto(`${w.t.base}/pulls/${rival.id}`);
    await p.getByRole("heading", { name: "Changes" }).waitFor();
    expect(await p.locator("#pull-approvals").textContent()).toBe("1 of 1");
    await p.getByRole("navigation").getByRole("link", { name: "Pull requests" }).click();
    expect(await p.getByRole("row", { name: /受注登録画面/ }).textContent()).toContain("Merged");
    await p.locator("header a.unread").click();
    await p.getByRole("heading", { level: 1, name: "Notifications" }).waitFor();
    expect(await p.getAttribute("html", "lang")).toBe("en");
  });
});
