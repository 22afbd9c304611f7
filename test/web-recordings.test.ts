// The operator's session recordings and templates in Debian's Chromium: a session recorded by the gateway
// (its row and its asciicast v2 file where the bridge writes them) is listed, replayed in the page with
// xterm.js and jumped to its end; the read is audited. The templates page lists what Azusa loaded.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, litPixels, signInPage, terminalColumns, wideColumns } from "./support/browser.ts";
import { sampleContract } from "./support/fixtures.ts";
import { templatesFolder } from "./support/gateway-world.ts";
import { PASSWORD, startTestAzusa, type TestAzusa } from "./support/harness.ts";
import { SAMPLE_WBS_ROWS, utf8Csv } from "./support/wbs-files.ts";

const ARTIFACTS = join(import.meta.dirname, "..", "test-artifacts");

/** An asciicast v2 recording: a prompt at once, a command's output ten minutes later, then the exit. */
function castOf(lines: [number, string][]): string {
  const header = { version: 2, width: 80, height: 24, timestamp: 1795000000, idle_time_limit: 3600 };
  return `${[JSON.stringify(header), ...lines.map(([t, data]) => JSON.stringify([t, "o", data]))].join("\n")}\n`;
}

describe("session recordings and templates in the browser", () => {
  let t: TestAzusa;
  let browser: Browser;
  let page: Page | undefined;
  let dataDir: string;
  let templatesDir: string;
  let sessionId: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "azusa-recordings-"));
    templatesDir = templatesFolder("azusa/workspace-base:bookworm", 512, {
      network: {
        allow: ["registry.example.com:443", { host: "registry.client.internal", port: 443, privateNetwork: true }],
      },
      ssh: { sftp: true },
      idleTimeoutMinutes: 45,
    });
    mkdirSync(ARTIFACTS, { recursive: true });
    t = await startTestAzusa({
      env: { AZUSA_DATA_DIR: dataDir, AZUSA_TEMPLATES_DIR: templatesDir, AZUSA_SCHEDULES: "off" },
    });
    const tenant = await t.createTenant("東京システムインテグレーション");
    await t.createUser("contractor", "buyer@tokyo-si.example", tenant.id);
    const leadId = (await t.createUser("lead", "lead@tokyo-si.example", tenant.id)).id;
    const engineerId = (await t.createUser("engineer", "sato@matsumoto.example")).id;
    const contractor = await t.signIn("buyer@tokyo-si.example");
    const lead = await t.signIn("lead@tokyo-si.example");
    const contractId = (
      await (await contractor.post("/api/v1/contracts", { ...sampleContract, leadIds: [leadId] })).json()
    ).id;
    await contractor.request("POST", `/api/v1/contracts/${contractId}/wbs`, utf8Csv(SAMPLE_WBS_ROWS), {
      "content-type": "text/csv",
    });
    const items = (await (await lead.get(`/api/v1/contracts/${contractId}/packages`)).json()).items;
    const packageId = items.find((p: { wbsId: string }) => p.wbsId === "2.1").id;

    // Where the bridge keeps a recording: <dataDir>/recordings/<tenant>/<session>.cast.
    sessionId = "session-recorded-1";
    const recording = join("recordings", tenant.id, `${sessionId}.cast`);
    mkdirSync(join(dataDir, "recordings", tenant.id), { recursive: true });
    writeFileSync(
      join(dataDir, recording),
      castOf([
        [0.2, "azusa@ws:/workspace$ "],
        [0.9, "make test\r\n"],
        [1.0, "> 日本語 😀 ok\r\nLC_ALL=C\r\n"],
        [600.5, "all 42 tests passed: recorded-output-42\r\n"],
        [601, "azusa@ws:/workspace$ exit\r\n"],
      ]),
    );
    await t.running.azusa.db.kysely
      .insertInto("workspace_session")
      .values({
        id: sessionId,
        workspace_id: "workspace-recorded",
        package_id: packageId,
        tenant_id: tenant.id,
        engineer_id: engineerId,
        channel: "ssh",
        kind: "shell",
        source_address: "192.0.2.15",
        started_at: "2026-11-20T01:00:00.000Z",
        ended_at: "2026-11-20T01:10:01.000Z",
        end_reason: "exit",
        exit_code: 0,
        recording,
      })
      .execute();
    browser = await launchBrowser();
  });

  afterAll(async () => {
    if (page) await page.screenshot({ path: join(ARTIFACTS, "web-recordings.png"), fullPage: true });
    await browser?.close();
    await t?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(templatesDir, { recursive: true, force: true });
  });

  it("lists the session, replays its recording and jumps to its end, and audits the playback", async () => {
    page = await signInPage(browser, t.base, "root@office.example", PASSWORD);
    await page.getByRole("link", { name: "セッション記録" }).click();
    const row = page.locator("#sessions tbody tr").filter({ hasText: "192.0.2.15" });
    await expect.poll(() => row.count()).toBe(1);
    const text = await row.textContent();
    expect(text).toContain("2.1");
    expect(text).toContain("ssh / shell");
    expect(text).toContain("10:01");
    expect(text).toContain("終了コード 0");

    await row.getByRole("link", { name: "再生" }).click();
    expect(new URL(page.url()).pathname).toBe(`/recordings/${sessionId}`);
    const screen = page.locator("#player .xterm-rows");
    await screen.filter({ hasText: "make test" }).waitFor();
    // The output came ten minutes later in the session: it is not on the screen until the player gets there.
    expect(await screen.textContent()).not.toContain("recorded-output-42");
    // It plays on its own and pauses on request; 4× speed is one of the choices.
    await page.getByRole("button", { name: "一時停止" }).click();
    await page.getByRole("button", { name: "再生" }).waitFor();
    await page.getByLabel("速度").selectOption("4");

    await page.getByRole("button", { name: "最後まで進める" }).click();
    await screen.filter({ hasText: "recorded-output-42" }).waitFor();
    await page.getByRole("status").filter({ hasText: "10:01 / 10:01" }).waitFor();
    // Japanese and emoji two columns wide, as the recorded programs counted them: spaces kept, nothing drawn over.
    expect(await terminalColumns(page, "#player", "> 日本語")).toEqual(wideColumns("> 日本語 😀 ok"));
    // and an underscore is seen, not cut off by its row's box.
    expect(await litPixels(page, "#player", "LC_ALL=C", "_")).toBeGreaterThan(0);
    expect(await page.getByRole("button", { name: "再生" }).isEnabled()).toBe(true);

    const audit = await t.running.azusa.db.kysely
      .selectFrom("audit_event")
      .select(["action", "actor_role"])
      .where("subject", "=", `session:${sessionId}`)
      .execute();
    expect(audit).toEqual([{ action: "session.recording_read", actor_role: "operator" }]);
  });

  it("shows the operator the loaded templates with what each allows", async () => {
    const templates = await signInPage(browser, t.base, "root@office.example", PASSWORD);
    await templates.goto(`${t.base}/templates`);
    const row = templates.locator("#templates tbody tr").filter({ hasText: "default" });
    const text = await row.textContent();
    expect(text).toContain("azusa/workspace-base:bookworm");
    expect(text).toContain("CPU 1 / メモリ 512 MiB / プロセス 128");
    expect(text).toContain("registry.example.com:443, registry.client.internal:443 (プライベートアドレス可)");
    expect(text).toContain("SFTP");
    expect(text).toContain("45 分");
    await templates.context().close();
  });
});
