// The operators' view of the e-mail outbox, on both databases: a message the SMTP server refused waits with its
// attempts and the server's words, is sent again on request, and no other role reads or retries anything,
// whether or not an SMTP server is set.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { until } from "./support/cli.ts";
import { dialects } from "./support/databases.ts";
import { type Client, startTestAzusa, type TestAzusa } from "./support/harness.ts";
import { csrfTokenIn, getPage, postForm } from "./support/pages.ts";
import { startSmtp, type TestSmtp } from "./support/smtp.ts";

/** The operator, and one engineer, contractor and lead signed in: every role but the one the outbox is for. */
async function operatorAndOthers(t: TestAzusa): Promise<{ root: Client; others: Record<string, Client> }> {
  const tenant = await t.createTenant("東京SI");
  await t.createUser("engineer", "sato@matsumoto.example");
  await t.createUser("contractor", "buyer@tokyo-si.example", tenant.id);
  await t.createUser("lead", "lead@tokyo-si.example", tenant.id);
  return {
    root: await t.signIn("root@office.example"),
    others: {
      engineer: await t.signIn("sato@matsumoto.example"),
      contractor: await t.signIn("buyer@tokyo-si.example"),
      lead: await t.signIn("lead@tokyo-si.example"),
    },
  };
}

describe.each(dialects)("the e-mail outbox (%s)", (dialect) => {
  let t: TestAzusa;
  let smtp: TestSmtp;
  let root: Client;
  let others: Record<string, Client>;

  beforeAll(async () => {
    smtp = await startSmtp();
    t = await startTestAzusa({ dialect, env: { AZUSA_SMTP_URL: smtp.url, AZUSA_MAIL_FROM: "azusa@office.example" } });
    ({ root, others } = await operatorAndOthers(t));
    await until("the invitations to go", async () => (smtp.received.length === 3 ? true : undefined), 30_000);
  }, 120_000);
  afterAll(async () => {
    await t?.stop();
    await smtp?.close();
  });

  it("shows a refused message waiting with its attempts and the server's words, and sends it again now", async () => {
    smtp.refuseNext();
    expect((await root.post("/api/v1/invitations", { email: "kato@matsumoto.example", role: "engineer" })).status).toBe(
      201,
    );
    const waiting = await until(
      "the refusal",
      async () => {
        const { items } = await (await root.get("/api/v1/mail-outbox?state=pending")).json();
        return items.find((m: { attempts: number }) => m.attempts === 1);
      },
      30_000,
    );
    expect(waiting).toMatchObject({
      to: "kato@matsumoto.example",
      subject: "Azusa への招待（エンジニア）",
      kind: "invitation",
      state: "pending",
      attempts: 1,
      lastError: expect.stringContaining("mailbox busy"),
      sentAt: null,
    });
    // Never a body, nor anything holding the link.
    expect(Object.keys(waiting).sort()).toEqual(
      ["attempts", "createdAt", "id", "kind", "lastError", "nextAttemptAt", "sentAt", "state", "subject", "to"].sort(),
    );
    expect(JSON.stringify(await (await root.get("/api/v1/mail-outbox")).json())).not.toContain("token=");

    const page = await getPage(root, "/mail?state=pending");
    expect(page.status).toBe(200);
    expect(page.html).toContain("mailbox busy");
    expect(page.html).toContain("送信待ち");
    const sent = await postForm(root, `/mail/${waiting.id}/retry`, { _csrf: csrfTokenIn(page.html) });
    expect(sent.status).toBe(303);
    const after = (await (await root.get("/api/v1/mail-outbox?state=sent")).json()).items.find(
      (m: { id: string }) => m.id === waiting.id,
    );
    expect(after).toMatchObject({ state: "sent", attempts: 2, lastError: null });
    expect(smtp.received.at(-1)?.to).toEqual(["kato@matsumoto.example"]);

    const again = await root.post(`/api/v1/mail-outbox/${waiting.id}/retry`);
    expect(again.status).toBe(409);
    expect((await again.json()).error).toMatchObject({ code: "INVALID_STATE", requestId: expect.any(String) });
    const audit = await (await root.get("/api/v1/audit-events?limit=5")).json();
    expect(audit.items).toContainEqual(
      expect.objectContaining({ action: "mail.retried", subject: `mail:${waiting.id}` }),
    );
  }, 60_000);

  it("refuses a state it does not know and a message that is not there", async () => {
    const bad = await root.get("/api/v1/mail-outbox?state=lost");
    expect(bad.status).toBe(400);
    expect(JSON.stringify(await bad.json())).toContain("state");
    const missing = await root.post("/api/v1/mail-outbox/00000000-0000-4000-8000-000000000000/retry");
    expect(missing.status).toBe(404);
    // The page says so too, in Japanese, with 400, and lists nothing rather than every message.
    const page = await getPage(root, "/mail?state=lost");
    expect(page.status).toBe(400);
    expect(page.html).toContain(
      "「lost」という状態はありません。送信待ち・送信済み・送信失敗 のいずれかで絞り込んでください。",
    );
    expect(page.html).not.toContain("kato@matsumoto.example");
    expect(page.html).toContain("メールはありません。");
  });

  it("lets no other role read or retry the outbox", async () => {
    const { items } = await (await root.get("/api/v1/mail-outbox")).json();
    const one = items[0]?.id as string;
    for (const [role, client] of Object.entries(others)) {
      expect([role, (await client.get("/api/v1/mail-outbox")).status]).toEqual([role, 403]);
      expect([role, (await client.post(`/api/v1/mail-outbox/${one}/retry`)).status]).toEqual([role, 403]);
      expect([role, (await getPage(client, "/mail")).status]).toEqual([role, 404]);
    }
    expect((await t.anonymous().get("/api/v1/mail-outbox")).status).toBe(401);
  });
});

describe.each(dialects)("the e-mail outbox with no SMTP server set (%s)", (dialect) => {
  let t: TestAzusa;
  let root: Client;
  let others: Record<string, Client>;
  const someId = "00000000-0000-4000-8000-000000000000";

  beforeAll(async () => {
    t = await startTestAzusa({ dialect });
    ({ root, others } = await operatorAndOthers(t));
  }, 120_000);
  afterAll(async () => {
    await t?.stop();
  });

  it("tells operators e-mail is off, and refuses every other role before saying anything of a message", async () => {
    expect(await (await root.get("/api/v1/mail-outbox")).json()).toEqual({ enabled: false, items: [] });
    const missing = await root.post(`/api/v1/mail-outbox/${someId}/retry`);
    expect(missing.status).toBe(404);
    expect((await missing.json()).error).toMatchObject({ code: "NOT_FOUND", requestId: expect.any(String) });
    for (const [role, client] of Object.entries(others)) {
      expect([role, (await client.get("/api/v1/mail-outbox")).status]).toEqual([role, 403]);
      const retry = await client.post(`/api/v1/mail-outbox/${someId}/retry`);
      expect([role, retry.status]).toEqual([role, 403]);
      expect((await retry.json()).error).toMatchObject({ code: "FORBIDDEN", requestId: expect.any(String) });
    }
    expect((await t.anonymous().post(`/api/v1/mail-outbox/${someId}/retry`)).status).toBe(401);
  });
});
