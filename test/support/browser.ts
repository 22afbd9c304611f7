// Debian's Chromium driven by playwright-core, started the way this closed network needs.
import { type Browser, chromium, type Locator, type Page } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";

/** A headless Chromium; `infra/setup.sh --for-tests` installs it. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/**
 * A fresh browser context (English-speaking, to show that Japanese stays the default) signed in to Azusa
 * at `base` through the sign-in form; returns its page once it has left the sign-in page.
 */
export async function signInPage(
  browser: Browser,
  base: string,
  email: string,
  password: string,
  viewport = { width: 1366, height: 768 },
): Promise<Page> {
  const context = await browser.newContext({ locale: "en-US", viewport });
  const page = await context.newPage();
  await page.goto(`${base}/`);
  await page.getByLabel("メールアドレス").fill(email);
  await page.getByLabel("パスワード").fill(password);
  await page.getByRole("button", { name: "サインイン" }).click();
  await page.waitForURL((url) => url.pathname !== "/sign-in");
  return page;
}

/**
 * Once the page's browser terminal says it is connected, types `command` and Enter into it; returns the
 * terminal's rows once they show `shows`.
 */
export async function runInTerminal(page: Page, command: string, shows: string): Promise<Locator> {
  await page.getByRole("status").filter({ hasText: "接続しました。" }).waitFor();
  await page.locator("#terminal .xterm-helper-textarea").focus();
  await page.keyboard.type(command);
  await page.keyboard.press("Enter");
  const rows = page.locator("#terminal .xterm-rows");
  await rows.filter({ hasText: shows }).waitFor();
  return rows;
}

/**
 * The columns at which the browser terminal in `host` shows each character of its last row holding
 * `text`, measured on the screen from the row's start in the width of its first character (which is
 * one column wide).
 */
export function terminalColumns(page: Page, host: string, text: string): Promise<[string, number][]> {
  return page.evaluate(
    `(() => {
      const row = [...document.querySelectorAll(${JSON.stringify(`${host} .xterm-rows > div`)})]
        .findLast((r) => r.textContent.includes(${JSON.stringify(text)}));
      if (!row) return [];
      const left = row.getBoundingClientRect().left;
      const range = document.createRange();
      const walker = document.createTreeWalker(row, NodeFilter.SHOW_TEXT);
      const out = [];
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        let i = 0;
        for (const ch of node.data) {
          range.setStart(node, i);
          range.setEnd(node, i + ch.length);
          out.push([ch, range.getBoundingClientRect().left - left]);
          i += ch.length;
        }
      }
      const cell = out[1][1] - out[0][1];
      return out.map(([ch, x]) => [ch, Math.round(x / cell)]);
    })()`,
  );
}

/** Each character of `text` at the column it starts at, the Japanese and the emoji of `wide` two columns wide. */
export function wideColumns(text: string, wide = /[日本語😀]/u): [string, number][] {
  let at = 0;
  return [...text].map((ch) => {
    const column = at;
    at += wide.test(ch) ? 2 : 1;
    return [ch, column];
  });
}

/**
 * How many lit pixels the screen shows in the cell of the first `ch` of the browser terminal's last row
 * holding `text`, within that row's box: 0 when the character is not seen at all. The screenshot is read
 * in a blank page of the same browser.
 */
export async function litPixels(page: Page, host: string, text: string, ch: string): Promise<number> {
  const clip = (await page.evaluate(
    `(() => {
      const row = [...document.querySelectorAll(${JSON.stringify(`${host} .xterm-rows > div`)})]
        .findLast((r) => r.textContent.includes(${JSON.stringify(text)}));
      const walker = document.createTreeWalker(row, NodeFilter.SHOW_TEXT);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const at = node.data.indexOf(${JSON.stringify(ch)});
        if (at < 0) continue;
        const range = document.createRange();
        range.setStart(node, at);
        range.setEnd(node, at + ${ch.length});
        const cell = range.getBoundingClientRect();
        const box = row.getBoundingClientRect();
        return { x: cell.left, y: box.top, width: cell.width, height: box.height };
      }
      return null;
    })()`,
  )) as { x: number; y: number; width: number; height: number } | null;
  if (!clip) throw new Error(`no "${ch}" in a row holding "${text}"`);
  const png = (await page.screenshot({ clip })).toString("base64");
  const blank = await page.context().newPage();
  try {
    return (await blank.evaluate(
      `(async () => {
        const image = await createImageBitmap(await (await fetch("data:image/png;base64,${png}")).blob());
        const canvas = new OffscreenCanvas(image.width, image.height);
        const g = canvas.getContext("2d");
        g.drawImage(image, 0, 0);
        const data = g.getImageData(0, 0, image.width, image.height).data;
        let lit = 0;
        for (let i = 0; i < data.length; i += 4) if (data[i] + data[i + 1] + data[i + 2] > 300) lit++;
        return lit;
      })()`,
    )) as number;
  } finally {
    await blank.close();
  }
}
