// An invitation by e-mail, end to end: an operator invites through the API, a real SMTP server on loopback receives
// the Japanese message with its accept link, Chromium follows the link, makes the account, and finds the sign-in form
// with the new address filled in. The screenshot of each page is left in test-artifacts/.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser } from "./support/browser.ts";
import { englishIn } from "./support/english.ts";
import { PASSWORD, startTestAzusa, type TestAzusa } from "./support/harness.ts";
import { bodyOf, header, startSmtp, type TestSmtp } from "./support/smtp.ts";

const ARTIFACTS = join(import.meta.dirname, "..", "test-artifacts");

describe("an invitation by e-mail", () => {
  let t: TestAzusa;
  let smtp: TestSmtp;
  let browser: Browser;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    smtp = await startSmtp();
    t = await startTestAzusa({ env: { AZUSA_SMTP_URL: smtp.url, AZUSA_MAIL_FROM: "azusa@office.example" } });
    browser = await launchBrowser();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await t?.stop();
    await smtp?.close();
  });

  it("mails the accept link in Japanese; following it makes the account and the sign-in form knows the address", async () => {
    const root = await t.signIn("root@office.example");
    const invited = await root.post("/api/v1/invitations", { email: "Kobayashi@Matsumoto.example", role: "engineer" });
    expect(invited.status).toBe(201);
    const { token } = await invited.json();
    await expect.poll(() => smtp.received.length, { timeout: 30_000, interval: 200 }).toBe(1);
    const [mail] = smtp.received;
    expect(mail?.to).toEqual(["kobayashi@matsumoto.example"]);
    const raw = mail?.raw ?? "";
    expect(header(raw, "Subject")).toBe("Azusa への招待（エンジニア）");
    expect(raw.split(/\r?\n\r?\n/)[0]).toMatch(/^[\x20-\x7e\r\n\t]*$/);
    const body = bodyOf(raw);
    expect(body).toContain("root さんから、Azusa にエンジニアとして招待されました。");
    const link = `${t.base}/invite?token=${encodeURIComponent(token)}`;
    expect(body).toContain(link);
    expect(body).toMatch(/\d{4}-\d{2}-\d{2} \d{2}:\d{2} \(Asia\/Tokyo\) まで、一度だけ使えます/);
    // The outbox keeps the message sealed: the one-time token is not readable in the database.
    const outbox = () => t.running.azusa.db.kysely.selectFrom("mail_outbox").selectAll().execute();
    await expect
      .poll(async () => (await outbox()).map((r) => [r.kind, r.state, r.subject]), { timeout: 10_000 })
      .toEqual([["invitation", "sent", "Azusa への招待（エンジニア）"]]);
    const rows = await outbox();
    expect(rows[0]?.body).not.toContain(token);

    let page: Page | undefined;
    try {
      page = await (await browser.newContext({ locale: "en-US" })).newPage();
      // The link as the message carries it, the way a mail reader opens it.
      await page.goto(body.match(/https?:\/\/\S+\/invite\?token=\S+/)?.[0] ?? "about:blank");
      expect(await page.locator("#invited-as").textContent()).toContain("エンジニアとして招待されています");
      expect(await page.getByLabel("メールアドレス").inputValue()).toBe("kobayashi@matsumoto.example");
      // The walk from the e-mail meets no English sentence: the accept page, the sign-in page, the first page.
      expect(await englishIn(page)).toEqual([]);
      await page.screenshot({ path: join(ARTIFACTS, "mail-invitation-accept.png"), fullPage: true });
      await page.getByLabel("氏名").fill("小林 花子");
      await page.getByLabel("パスワード（12文字以上）").fill(PASSWORD);
      await page.getByRole("button", { name: "アカウントを作成" }).click();
      await page.waitForURL((url) => url.pathname === "/sign-in");
      expect(await page.locator(".notice").first().textContent()).toContain("アカウントを作成しました");
      expect(await page.getByLabel("メールアドレス").inputValue()).toBe("kobayashi@matsumoto.example");
      expect(await englishIn(page)).toEqual([]);
      await page.getByLabel("パスワード").fill(PASSWORD);
      await page.getByRole("button", { name: "サインイン" }).click();
      await page.waitForURL((url) => url.pathname !== "/sign-in");
      expect(await page.locator("header .who").textContent()).toContain("kobayashi@matsumoto.example");
      expect(await englishIn(page)).toEqual([]);
    } finally {
      await page?.screenshot({ path: join(ARTIFACTS, "mail-invitation-signed-in.png"), fullPage: true });
    }
    // The link works once: opened again it asks for a token, naming nobody.
    const again = await (await fetch(link)).text();
    expect(again).not.toContain("kobayashi@matsumoto.example");
  }, 120_000);

  it("mails nothing for an invitation that is refused", async () => {
    smtp.received.length = 0;
    const root = await t.signIn("root@office.example");
    const refused = await root.post("/api/v1/invitations", { email: "kobayashi@matsumoto.example", role: "engineer" });
    expect(refused.status).toBe(409);
    const rows = await t.running.azusa.db.kysely.selectFrom("mail_outbox").select("kind").execute();
    expect(rows).toHaveLength(1);
    expect(smtp.received).toEqual([]);
  });

  it("writes the invitation in the language the inviter chose on the form, and the account keeps it", async () => {
    smtp.received.length = 0;
    let page: Page | undefined;
    try {
      page = await (await browser.newContext({ locale: "ja-JP" })).newPage();
      await page.goto(`${t.base}/sign-in`);
      await page.getByLabel("メールアドレス").fill("root@office.example");
      await page.getByLabel("パスワード").fill(PASSWORD);
      await page.getByRole("button", { name: "サインイン" }).click();
      await page.waitForURL((url) => url.pathname !== "/sign-in");
      await page.goto(`${t.base}/invitations`);
      // The inviter's own language is offered first.
      expect(await page.getByLabel("招待メールの言語").inputValue()).toBe("ja");
      await page.getByLabel("メールアドレス").fill("watanabe@matsumoto.example");
      await page.getByLabel("役割").selectOption("engineer");
      await page.getByLabel("招待メールの言語").selectOption("en");
      await page.getByRole("button", { name: "招待する" }).click();
      await page.locator("#invitation-link").waitFor();
      expect(await page.locator("#invitation-link").textContent()).toMatch(/\/invite\?token=\S+&lang=en$/);
      await page.screenshot({ path: join(ARTIFACTS, "mail-invitation-language.png"), fullPage: true });
    } finally {
      await page?.context().close();
    }
    await expect.poll(() => smtp.received.length, { timeout: 30_000, interval: 200 }).toBe(1);
    const raw = smtp.received[0]?.raw ?? "";
    expect(header(raw, "Subject")).toBe("Your invitation to Azusa (engineer)");
    const body = bodyOf(raw);
    expect(body).toContain("root has invited you to Azusa as engineer.");
    expect(body).not.toMatch(/[\u3040-\u30ff\u4e00-\u9fff]/);
    const link = body.match(/https?:\/\/\S+\/invite\?token=\S+/)?.[0] ?? "";
    expect(new URL(link).searchParams.get("lang")).toBe("en");
    // The accept page opens in English; the account made from it has English as its language.
    const accept = await fetch(link);
    expect(await accept.text()).toContain("You are invited as engineer.");
    const token = new URL(link).searchParams.get("token") as string;
    const made = await fetch(`${t.base}/api/v1/invitations/accept`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ token, name: "渡辺 健", password: PASSWORD }),
    });
    expect(made.status).toBe(201);
    const watanabe = await t.signIn("watanabe@matsumoto.example");
    expect(await (await watanabe.get("/api/v1/me/settings")).json()).toMatchObject({ language: "en" });
    const root = await t.signIn("root@office.example");
    const listed = await (await root.get("/api/v1/invitations")).json();
    expect(listed.items.find((i: { email: string }) => i.email === "watanabe@matsumoto.example")).toMatchObject({
      language: "en",
      status: "accepted",
    });
  }, 120_000);

  it("refuses a language it does not speak, naming the field, and writes nothing", async () => {
    const root = await t.signIn("root@office.example");
    const before = await t.running.azusa.db.kysely.selectFrom("invitation").select("id").execute();
    const bad = await root.post("/api/v1/invitations", {
      email: "kimura@matsumoto.example",
      role: "engineer",
      language: "fr",
    });
    expect(bad.status).toBe(400);
    const { error } = await bad.json();
    expect(error.code).toBe("VALIDATION");
    expect(JSON.stringify(error)).toContain("language");
    expect(await t.running.azusa.db.kysely.selectFrom("invitation").select("id").execute()).toHaveLength(before.length);
    // Without a language, the inviter's own: root chose English in their settings.
    expect((await root.put("/api/v1/me/settings", { language: "en" })).status).toBe(200);
    const plain = await root.post("/api/v1/invitations", { email: "kimura@matsumoto.example", role: "engineer" });
    expect(plain.status).toBe(201);
    expect(await plain.json()).toMatchObject({ language: "en" });
    expect((await root.put("/api/v1/me/settings", { language: "ja" })).status).toBe(200);
  });
});
