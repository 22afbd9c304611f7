// The browser terminal in Debian's Chromium against a real workspace: the engineer opens it from "my
// packages" and runs a command; the session is the bridge's (channel "browser", a playable recording);
// sockets from another site or without a session are refused, and nobody else sees the page.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import Docker from "dockerode";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { litPixels, runInTerminal, signInPage, terminalColumns, wideColumns } from "./support/browser.ts";
import type { Target } from "./support/gateway-world.ts";
import { type Client, PASSWORD, type TestAzusa } from "./support/harness.ts";
import { ensureTestImage } from "./support/images.ts";
import { run } from "./support/ssh-client.ts";
import { ARTIFACTS, startWebWorld, type WebWorld } from "./support/web-world.ts";

/** How a WebSocket handshake went: opened (and closed again at once), or the HTTP status it got instead. */
function handshake(url: string, headers: Record<string, string>, origin?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers, origin });
    ws.once("open", () => {
      ws.close();
      resolve(101);
    });
    ws.once("unexpected-response", (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    });
    ws.once("error", reject);
  });
}

describe("the browser terminal", () => {
  const docker = new Docker();
  let w: WebWorld;
  let t: TestAzusa;
  let browser: Browser;
  let page: Page | undefined;
  let lead: Client;
  let mine: Target;
  let engineer: Client;
  let otherEngineer: Client;

  const socketUrl = (packageId: string) =>
    `${t.base.replace(/^http/, "ws")}/my-packages/${packageId}/terminal/socket?cols=80&rows=24`;

  beforeAll(async () => {
    w = await startWebWorld(await ensureTestImage(docker), { name: "web-terminal", workspaces: 2 });
    ({ t, lead, mine, engineer, otherEngineer, browser } = w);
  });

  afterAll(() => w?.stop(page));

  it("runs a command typed in the page, recorded as a browser session that plays back", async () => {
    page = await signInPage(browser, t.base, "se0@matsumoto.example", PASSWORD);
    const refused: string[] = [];
    page.on("console", (m) => {
      // Any refusal of the page's own policy: a socket, a script, or xterm's style sheets (constructed-styles.js).
      if (/Content Security Policy/i.test(m.text())) refused.push(m.text());
    });
    await page.goto(`${t.base}/my-packages`);
    await page.getByRole("link", { name: /^ターミナルを開く/ }).click();
    expect(new URL(page.url()).pathname).toBe(`/my-packages/${mine.packageId}/terminal`);
    const rows = await runInTerminal(page, "echo azusa-$((6*7))", "azusa-42");
    expect(await rows.textContent()).toContain("/workspace");
    // Japanese and emoji take two columns each, as the shell counts them: the spaces before and after them
    // stay, typed and printed, and nothing after them is drawn over.
    await runInTerminal(page, 'echo "> 日本語 😀 ok"', "> 日本語 😀 ok");
    // The typed line already holds what the command prints, so each row is read once it is whole on the screen.
    const lines: [string, RegExp][] = [
      ['echo "> 日本語', / \$ echo "> 日本語 😀 ok"$/],
      ["> 日本語 😀 ok", /^> 日本語 😀 ok$/],
    ];
    const shownOn = page;
    for (const [line, whole] of lines) {
      const textOf = async () => (await terminalColumns(shownOn, "#terminal", line)).map(([ch]) => ch).join("");
      await expect.poll(textOf, { timeout: 15_000 }).toMatch(whole);
      const shown = await terminalColumns(page, "#terminal", line);
      expect(shown).toEqual(wideColumns(shown.map(([ch]) => ch).join("")));
    }
    // An underscore is seen, not cut off by its row's box.
    await runInTerminal(page, "echo LC_ALL=$((1+1))", "LC_ALL=2");
    expect(await litPixels(page, "#terminal", "LC_ALL=2", "_")).toBeGreaterThan(0);
    await page.locator("#terminal").screenshot({ path: join(ARTIFACTS, "web-terminal-japanese.png") });

    await page.keyboard.type("exit");
    await page.keyboard.press("Enter");
    await page.getByRole("status").filter({ hasText: "セッションが終了しました。" }).waitFor();
    await page.getByRole("link", { name: "もう一度接続する" }).waitFor();
    expect(refused).toEqual([]);

    const sessions = await t.running.azusa.db.kysely
      .selectFrom("workspace_session")
      .selectAll()
      .where("package_id", "=", mine.packageId)
      .execute();
    expect(sessions).toHaveLength(1);
    expect(sessions[0]).toMatchObject({ channel: "browser", kind: "shell", exit_code: 0 });
    const listed = await (await lead.get(`/api/v1/packages/${mine.packageId}/sessions`)).json();
    const session = listed.items.find((s: { id: string }) => s.id === sessions[0]?.id);
    expect(session?.recorded).toBe(true);
    const recording = await lead.get(`/api/v1/sessions/${session.id}/recording`);
    expect(recording.status).toBe(200);
    const file = join(ARTIFACTS, "web-terminal.cast");
    writeFileSync(file, Buffer.from(await recording.arrayBuffer()));
    // asciinema opens /dev/tty even for `cat`: give it a terminal.
    const played = (await run("script", ["-qec", `asciinema cat ${file}`, "/dev/null"], new PassThrough())).stdout;
    expect(played.toString()).toContain("azusa-42");
    const audit = await t.running.azusa.db.kysely
      .selectFrom("audit_event")
      .select(["action", "details"])
      .where("subject", "=", `session:${session.id}`)
      .execute();
    // The lead's playback above is evidence too.
    expect(audit.map((a) => a.action).sort()).toEqual(["session.ended", "session.recording_read", "session.started"]);
    expect(JSON.parse(audit.find((a) => a.action === "session.started")?.details as string)).toMatchObject({
      transport: "browser",
      kind: "shell",
    });
  });

  it("opens the socket only for the package's own engineer, signed in, from Azusa's own pages", async () => {
    const url = socketUrl(mine.packageId);
    const origin = new URL(t.base).origin;
    expect(await handshake(url, { cookie: engineer.cookie }, origin)).toBe(101);
    expect(await handshake(url, { cookie: engineer.cookie }, "http://evil.example")).toBe(403);
    expect(await handshake(url, { cookie: engineer.cookie })).toBe(403);
    expect(await handshake(url, {}, origin)).toBe(303);
    expect(await handshake(url, { cookie: otherEngineer.cookie }, origin)).toBe(404);
    expect(await handshake(url, { cookie: lead.cookie }, origin)).toBe(404);
  });

  /** A terminal opened over a socket with `client`'s cookie, as the page opens it. */
  async function terminal(client: Client) {
    const ws = new WebSocket(socketUrl(mine.packageId), {
      headers: { cookie: client.cookie },
      origin: new URL(t.base).origin,
    });
    const seen = { text: "", ended: "" };
    ws.on("message", (data: Buffer, binary: boolean) => {
      if (binary) seen.text += data.toString();
      else seen.ended = JSON.parse(data.toString()).status.reason;
    });
    const closed = new Promise<number>((resolve) => ws.once("close", resolve));
    await new Promise((resolve) => ws.once("open", resolve));
    return { ws, seen, closed };
  }

  it("ends a terminal when the sign-in session that opened it ends, and only that one", async () => {
    const session = await t.signIn("se0@matsumoto.example");
    const ending = await terminal(session);
    const staying = await terminal(engineer);
    ending.ws.send(Buffer.from("echo ready-$((1+1))\n"));
    await expect.poll(() => ending.seen.text).toContain("ready-2");
    expect((await session.post("/api/auth/sign-out")).status).toBe(200);
    expect(await ending.closed).toBe(1000);
    // The evidence keeps the English words; the person is told in the page's language (Japanese by default).
    expect(ending.seen.ended).toBe("access revoked: signed out");
    expect(ending.seen.text).toContain(
      "azusa: アクセスが取り消されたため、セッションを終了しました: サインアウトしました",
    );
    // The terminal of the engineer's other sign-in, from the same address, goes on.
    staying.ws.send(Buffer.from("echo still-$((2+3))\n"));
    await expect.poll(() => staying.seen.text).toContain("still-5");
    expect(staying.seen.ended).toBe("");
    staying.ws.close();
    await staying.closed;
  });

  it("says why a terminal is refused after its page loaded, in the page's language", async () => {
    const contract = await t.running.azusa.db.kysely
      .selectFrom("work_package")
      .innerJoin("contract", "contract.id", "work_package.contract_id")
      .select(["contract.id", "contract.allowed_networks"])
      .where("work_package.id", "=", mine.packageId)
      .executeTakeFirstOrThrow();
    const networks = (value: string | undefined) =>
      t.running.azusa.db.kysely
        .updateTable("contract")
        .set({ allowed_networks: value })
        .where("id", "=", contract.id)
        .execute();
    const refusedPage = await signInPage(browser, t.base, "se0@matsumoto.example", PASSWORD);
    try {
      // Only an office's network may reach the workspace now; the browser is elsewhere (this machine).
      await networks(JSON.stringify(["192.0.2.0/24"]));
      const seen = async (lang: string) => {
        await refusedPage.goto(`${t.base}/my-packages/${mine.packageId}/terminal?lang=${lang}`);
        await refusedPage.locator("#terminal-reconnect").waitFor();
        // Wide characters take two cells, which xterm draws apart: read the rows without their spacing.
        return ((await refusedPage.locator("#terminal .xterm-rows").textContent()) ?? "").replace(/\s+/g, "");
      };
      const japanese = await seen("ja");
      await refusedPage.screenshot({ path: join(ARTIFACTS, "web-terminal-refused.png") });
      expect(japanese).toContain("azusa:接続元127.0.0.1は契約で許可されたネットワークの外です");
      expect(japanese).not.toMatch(/outside|allowed networks/);
      expect(await seen("en")).toContain("azusa:127.0.0.1isoutsidethecontract'sallowednetworks");
    } finally {
      await networks(contract.allowed_networks);
      await refusedPage.context().close();
    }
  });

  it("answers 404 for the page to anyone but the package's engineer", async () => {
    const path = `/my-packages/${mine.packageId}/terminal`;
    expect((await engineer.get(path)).status).toBe(200);
    expect((await otherEngineer.get(path)).status).toBe(404);
    expect((await lead.get(path)).status).toBe(404);
    expect((await otherEngineer.get("/my-packages")).status).toBe(200);
  });
});
