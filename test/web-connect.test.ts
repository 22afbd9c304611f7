// The engineer's page says how to reach a workspace from their own machine: the exact ssh command, the
// gateway's host-key fingerprint as OpenSSH prints it, a ~/.ssh/config block and notes for other clients.
// Checked against what the real OpenSSH client prints, and shown in Chromium.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signInPage } from "./support/browser.ts";
import { PASSWORD } from "./support/harness.ts";
import { ensureTestImage } from "./support/images.ts";
import { startWebWorld, type WebWorld } from "./support/web-world.ts";

/** Runs a command to its end and gives what it wrote to stderr. */
function stderrOf(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      err += d;
    });
    child.on("error", reject);
    child.on("close", () => resolve(err));
  });
}

describe("how to connect, on the engineer's page", () => {
  const docker = new Docker();
  let w: WebWorld;
  let page: Page | undefined;

  beforeAll(async () => {
    w = await startWebWorld(await ensureTestImage(docker), { name: "web-connect" });
  });

  afterAll(() => w?.stop(page));

  it("shows the ssh command, the fingerprint ssh prints for the gateway, and a ready ~/.ssh/config block", async () => {
    const { t, mine } = w;
    const port = t.running.sshPort;
    // What the gateway really presents, as OpenSSH's own client prints it ("Server host key: … SHA256:…").
    const dir = mkdtempSync(join(tmpdir(), "azusa-connect-"));
    let printed: string;
    try {
      // Asynchronously: the gateway answering it runs in this very process.
      printed = await stderrOf("ssh", [
        "-v",
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=accept-new",
        "-o",
        `UserKnownHostsFile=${join(dir, "known_hosts")}`,
        "-o",
        "PreferredAuthentications=none",
        "-p",
        String(port),
        "nobody@127.0.0.1",
        "true",
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const fingerprint = /Server host key: ssh-ed25519 (SHA256:\S+)/.exec(printed)?.[1] ?? "";
    expect(fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);

    page = await signInPage(w.browser, t.base, "se0@matsumoto.example", PASSWORD);
    await page.goto(`${t.base}/my-packages`);
    const section = page.locator("section.connect");
    await section.getByRole("heading", { level: 2, name: /^接続方法:/ }).waitFor();
    const text = (await section.textContent()) ?? "";
    expect(text).toContain(`ssh -p ${port} pkg-${mine.packageId}@127.0.0.1`);
    expect(await section.locator("code.fingerprint").textContent()).toBe(fingerprint);
    expect(text).toContain(`[127.0.0.1]:${port} ssh-ed25519 `);
    expect(text).toMatch(
      new RegExp(`Host azusa-\\S+\\s+HostName 127\\.0\\.0\\.1\\s+Port ${port}\\s+User pkg-${mine.packageId}`),
    );
    expect(text).toContain("PuTTY");
    expect(text).toContain("Tera Term");
    // The test template allows no forwarding, so VS Code Remote-SSH is said not to work, with the alternative.
    expect(text).toContain("VS Code Remote-SSH は使えません");
  });
});
