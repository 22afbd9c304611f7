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
