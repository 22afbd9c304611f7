// What the browser tests of a workspace start from: Azusa on a one-template folder, packages assigned
// over two engineers (se0 and se1) with their workspaces running, both signed in, and a Chromium.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { launchBrowser } from "./browser.ts";
import { assignedWorkspaces, type Target, templatesFolder } from "./gateway-world.ts";
import { type Client, startTestAzusa, type TestAzusa } from "./harness.ts";

/** Where each browser test leaves a screenshot of its last page. */
export const ARTIFACTS = join(import.meta.dirname, "..", "..", "test-artifacts");

export interface WebWorld {
  t: TestAzusa;
  lead: Client;
  /** se0's first package. */
  mine: Target;
  engineer: Client;
  otherEngineer: Client;
  browser: Browser;
  /** Saves `page` (when there is one) as `<name>.png` in the artifacts, then stops everything. */
  stop(page?: Page): Promise<void>;
}

/**
 * Starts the world on `image`; `azusa` adds to the template's `customizations.azusa`. `name` names the
 * screenshot and the temporary folders.
 */
export async function startWebWorld(
  image: string,
  {
    name,
    workspaces = 1,
    memoryMiB = 128,
    azusa = {},
  }: {
    name: string;
    workspaces?: number;
    memoryMiB?: number;
    azusa?: Record<string, unknown>;
  },
): Promise<WebWorld> {
  const templatesDir = templatesFolder(image, memoryMiB, azusa);
  const keysDir = mkdtempSync(join(tmpdir(), `azusa-${name}-`));
  mkdirSync(ARTIFACTS, { recursive: true });
  const t = await startTestAzusa({ env: { AZUSA_TEMPLATES_DIR: templatesDir, AZUSA_SCHEDULES: "off" } });
  const world = await assignedWorkspaces(t, keysDir, { workspaces, engineers: 2 });
  const browser = await launchBrowser();
  return {
    t,
    lead: world.lead,
    mine: world.targets[0] as Target,
    engineer: await t.signIn("se0@matsumoto.example"),
    otherEngineer: await t.signIn("se1@matsumoto.example"),
    browser,
    async stop(page) {
      if (page) await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
      await browser.close();
      await t.stop();
      rmSync(templatesDir, { recursive: true, force: true });
      rmSync(keysDir, { recursive: true, force: true });
    },
  };
}
