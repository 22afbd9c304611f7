// The web IDE in Debian's Chromium against a real workspace on the Debian base image: the engineer opens
// a file from the tree, edits it in Monaco, saves, finds it in the workspace and in a search; saves are
// audited and count as activity; paths outside the workspace folder are refused, and nobody else gets in.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import Docker from "dockerode";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runInTerminal, signInPage } from "./support/browser.ts";
import type { Target } from "./support/gateway-world.ts";
import { type Client, PASSWORD, type TestAzusa } from "./support/harness.ts";
import { ensureBaseImage } from "./support/images.ts";
import { csrfTokenIn, getPage, postForm } from "./support/pages.ts";
import { ARTIFACTS, startWebWorld, type WebWorld } from "./support/web-world.ts";

describe("the web IDE", () => {
  const docker = new Docker();
  let w: WebWorld;
  let t: TestAzusa;
  let browser: Browser;
  let page: Page | undefined;
  let mine: Target;
  let engineer: Client;
  let otherEngineer: Client;

  /** Runs a shell command in the workspace as its user, the way a test looks inside without Azusa. */
  const inWorkspace = (script: string) =>
    execFileSync("docker", ["exec", "-u", "1000", mine.containerId, "sh", "-c", script]).toString();
  const ide = () => `/my-packages/${mine.packageId}/ide`;

  beforeAll(async () => {
    w = await startWebWorld(await ensureBaseImage(docker), { name: "web-ide", memoryMiB: 256 });
    ({ t, mine, engineer, otherEngineer, browser } = w);
    inWorkspace(
      "mkdir -p /workspace/src && printf 'const greeting = 1;\\n' > /workspace/src/app.ts && ln -s /etc /workspace/etc-link",
    );
  });

  afterAll(() => w?.stop(page));

  /** The package's terminal sessions, oldest first. */
  const sessions = () =>
    t.running.azusa.db.kysely
      .selectFrom("workspace_session")
      .select(["id", "ended_at"])
      .where("package_id", "=", mine.packageId)
      .orderBy("started_at")
      .execute();

  it("opens a file from the tree, edits it in the editor, saves it, and the workspace has the change, the terminal staying", async () => {
    page = await signInPage(browser, t.base, "se0@matsumoto.example", PASSWORD, { width: 1366, height: 900 });
    // Any refusal of the page's own policy (style-src, font-src and worker-src 'self'): Monaco's style
    // attributes and <style> elements, its icon font, its workers.
    const refused: string[] = [];
    page.on("console", (m) => {
      if (/Content Security Policy/i.test(m.text())) refused.push(m.text());
    });
    const workers: string[] = [];
    page.on("worker", (worker) => workers.push(worker.url()));
    await page.goto(`${t.base}/my-packages`);
    await page.getByRole("link", { name: /^Web IDE/ }).click();
    // The terminal beside the editor: one session, which opening files, saving and searching keep.
    const rows = await runInTerminal(page, "echo azusa-$((6*7))", "azusa-42");
    const first = await sessions();
    expect(first).toHaveLength(1);
    // A mark on the page itself: a page loaded anew would not have it.
    await page.evaluate("globalThis.azusaSamePage = true");
    const tree = page.getByRole("navigation", { name: "ファイル" });
    await tree.getByRole("link", { name: "src/" }).click();
    await tree.getByRole("link", { name: "app.ts" }).click();
    await page.locator("#ide-editor[data-ready=true]").waitFor();
    await page.locator("#ide-editor .view-lines").click();
    await page.keyboard.press("Control+End");
    await page.keyboard.type("export const answer = 6 * 7;");
    // TypeScript's worker runs: a mistake is marked.
    await page.keyboard.press("Enter");
    await page.keyboard.type("answer.nope;");
    await page.locator("#ide-editor .squiggly-error").first().waitFor();
    // Monaco's icon font, from this site: loaded (a data: URL would be refused).
    const font = await page.evaluate(`document.fonts.load("16px codicon").then((faces) => faces.map((f) => f.status))`);
    expect(font).toEqual(["loaded"]);
    expect(workers.some((u) => u.startsWith(`${t.base}/assets/monaco/vs/assets/ts.worker-`))).toBe(true);
    for (let i = 0; i < "answer.nope;".length + 1; i++) await page.keyboard.press("Backspace");
    // Leaving the file with changes not saved asks first; declined, the changes stay.
    const asked = new Promise<string>((resolve) =>
      page?.once("dialog", (dialog) => {
        resolve(dialog.message());
        void dialog.dismiss();
      }),
    );
    await tree.getByRole("link", { name: "上のフォルダへ" }).click();
    expect(await asked).toBe("保存していない変更があります。破棄して移動しますか？");
    expect((await page.locator("#ide-editor .view-lines").textContent())?.replace(/\u00a0/g, " ")).toContain(
      "answer = 6 * 7;",
    );
    await page.getByRole("button", { name: "保存する" }).click();
    await page.getByRole("status").filter({ hasText: "src/app.ts を保存しました。" }).waitFor();

    expect(inWorkspace("cat /workspace/src/app.ts")).toBe("const greeting = 1;\nexport const answer = 6 * 7;");
    expect(inWorkspace("stat -c %U /workspace/src/app.ts").trim()).toBe("azusa");

    await page.getByLabel("ファイル内を検索").fill("answer");
    await page.getByRole("button", { name: "検索", exact: true }).click();
    await page.getByRole("link", { name: "src/app.ts:2" }).waitFor();
    expect(new URL(page.url()).searchParams.get("q")).toBe("answer");
    // Back in the history shows the file as saved, without the search, in the same page.
    await page.goBack();
    await page.getByRole("status").filter({ hasText: "src/app.ts を保存しました。" }).waitFor();
    await page.locator("#ide-editor[data-ready=true]").waitFor();
    expect(await page.getByRole("link", { name: "src/app.ts:2" }).count()).toBe(0);
    // A refused new file (one that exists) says why, in the same page, the open file staying open.
    const before = page.url();
    await tree.getByLabel(/新しいファイル/).fill("src/app.ts");
    await tree.getByRole("button", { name: "作成する" }).click();
    await page.locator("#ide-view").getByRole("alert").waitFor();
    expect(await page.locator("#ide-view > .notice").count()).toBe(1);
    expect(await page.locator("#ide-editor[data-ready=true] .view-lines").textContent()).toContain("answer");
    expect(page.url()).toBe(before);
    expect(inWorkspace("cat /workspace/src/app.ts")).toBe("const greeting = 1;\nexport const answer = 6 * 7;");
    // The terminal and its session stayed throughout: the same page, the same output, one session open.
    expect(await page.evaluate("globalThis.azusaSamePage")).toBe(true);
    await page.getByRole("status").filter({ hasText: "接続しました。" }).waitFor();
    expect(await rows.textContent()).toContain("azusa-42");
    expect(await sessions()).toEqual(first);

    const saved = await t.running.azusa.db.kysely
      .selectFrom("audit_event")
      .select(["details", "actor_id"])
      .where("action", "=", "workspace.file_saved")
      .execute();
    expect(saved).toHaveLength(1);
    expect(JSON.parse(saved[0]?.details as string)).toEqual({
      packageId: mine.packageId,
      path: "src/app.ts",
      bytes: "const greeting = 1;\nexport const answer = 6 * 7;".length,
    });
    await page.screenshot({ path: join(ARTIFACTS, "web-ide.png"), fullPage: true });
    expect(refused).toEqual([]);
    const policy = (await engineer.get(ide())).headers.get("content-security-policy") ?? "";
    expect(policy).toContain("style-src 'self';");
    expect(policy).not.toContain("unsafe-inline");
    // Leaving the page ends its terminal session, whose evidence is then written.
    await page.context().close();
    page = undefined;
    await expect.poll(async () => (await sessions()).filter((s) => s.ended_at === null).length).toBe(0);
  }, 240_000);

  it("refuses paths outside the workspace folder: '..', absolute paths elsewhere, symbolic links out", async () => {
    const token = csrfTokenIn((await getPage(engineer, ide())).html);
    const save = (path: string) => postForm(engineer, `${ide()}/save`, { _csrf: token, path, content: "x", eol: "lf" });
    for (const path of ["../etc/passwd", "src/../../etc/passwd", "/etc/passwd", "etc-link/azusa-was-here"]) {
      const res = await save(path);
      expect({ path, status: res.status }).toEqual({ path, status: 400 });
      expect(res.html).toContain("path");
    }
    expect(inWorkspace("ls /etc | grep -c azusa-was-here || true").trim()).toBe("0");
    expect((await getPage(engineer, `${ide()}?file=../../etc/passwd`)).status).toBe(400);
    expect((await getPage(engineer, `${ide()}?file=etc-link/passwd`)).status).toBe(400);
    expect((await getPage(engineer, `${ide()}?dir=etc-link`)).status).toBe(400);
    const inside = await save("/workspace/notes.txt");
    expect(inside.status).toBe(303);
    expect(inWorkspace("cat /workspace/notes.txt")).toBe("x");
    // A file that is not text is not opened in the editor, so it cannot be saved back changed.
    inWorkspace("printf 'a\\000b' > /workspace/blob.bin");
    const blob = await getPage(engineer, `${ide()}?file=blob.bin`);
    expect(blob.html).toContain("blob.bin はテキストファイルではないため");
    expect(blob.html).not.toContain('id="ide-content"');
    // "New file" makes an empty file, and never empties one that exists.
    const create = (path: string) =>
      postForm(engineer, `${ide()}/save`, { _csrf: token, path, content: "", create: "1", eol: "lf" });
    expect((await create("src/app.ts")).status).toBe(400);
    expect(inWorkspace("cat /workspace/src/app.ts")).toContain("export const answer");
    expect((await create("src/new.ts")).status).toBe(303);
    expect(inWorkspace("wc -c < /workspace/src/new.ts").trim()).toBe("0");
    // A save is activity: the workspace shows it as its last.
    const ws = await t.running.azusa.db.kysely
      .selectFrom("workspace")
      .select("last_activity")
      .where("package_id", "=", mine.packageId)
      .executeTakeFirstOrThrow();
    expect(ws.last_activity).toBe("web IDE save");
  });

  it("answers 404 to another engineer, for the page and for a save", async () => {
    expect((await getPage(otherEngineer, ide())).status).toBe(404);
    const token = csrfTokenIn((await getPage(otherEngineer, "/my-packages")).html);
    const res = await postForm(otherEngineer, `${ide()}/save`, { _csrf: token, path: "x.txt", content: "x" });
    expect(res.status).toBe(404);
  });
});
