// Secrets sealed at rest after AZUSA_SECRET has changed, over HTTP on both databases: nothing answers 500,
// the contractor sees what cannot be opened and repairs it, and a sealed value moved to another row does
// not open there.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSealer, sealContext } from "../src/auth/sealed.ts";
import { UNREADABLE_SECRET } from "../src/domain/notifications/notifications.service.ts";
import { dialects } from "./support/databases.ts";
import { type Client, startTestAzusa, type TestAzusa } from "./support/harness.ts";

const SECRET = "whsec-tokyo-si-0123456789abcdef-0123";
const TOKEN = "ghp_T0kenOfTokyoSiThatIsLongEnough01";
/** The key the secrets were sealed under before the operator changed AZUSA_SECRET. */
const before = createSealer("the AZUSA_SECRET this instance had before");

describe.each(dialects)("sealed secrets after AZUSA_SECRET changed, on %s", (dialect) => {
  let t: TestAzusa;
  let tenantId: string;
  let contractor: Client;
  let receiver: Server;
  let receiverUrl: string;
  let received = 0;

  beforeAll(async () => {
    t = await startTestAzusa({ dialect, env: { AZUSA_SCHEDULES: "off", AZUSA_WEBHOOK_LOOPBACK: "on" } });
    tenantId = (await t.createTenant("東京SI")).id;
    await t.createUser("contractor", "buyer@tokyo-si.example", tenantId);
    contractor = await t.signIn("buyer@tokyo-si.example");
    receiver = createServer((_req, res) => {
      received++;
      res.end();
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
  });
  afterAll(async () => {
    await new Promise((resolve) => receiver?.close(resolve));
    await t?.stop();
  });

  const db = () => t.running.azusa.db.kysely;

  it("lists a webhook whose secret cannot be opened as unreadable and fails its deliveries once, with the reason", async () => {
    const created = await contractor.post("/api/v1/webhooks", { url: receiverUrl, secret: SECRET });
    expect(created.status).toBe(201);
    const { id } = await created.json();
    await db()
      .updateTable("webhook")
      .set({ secret: before.seal(SECRET, sealContext.webhook(id)) })
      .where("id", "=", id)
      .execute();

    const listed = await contractor.get("/api/v1/webhooks");
    expect(listed.status).toBe(200);
    expect((await listed.json()).items).toEqual([expect.objectContaining({ id, secretHint: "unreadable" })]);

    const { notifications } = t.running.azusa;
    await notifications.notify(db(), {
      userIds: [],
      tenantId,
      kind: "test.event",
      title: "",
      body: "",
      subject: "test:1",
      dedupeKey: "test:1",
      webhook: { event: "test.event", data: {} },
    });
    await notifications.dispatch();
    await notifications.dispatch(); // nothing is left pending to be tried again
    await notifications.drain();
    expect(received).toBe(0);
    const deliveries = (await (await contractor.get(`/api/v1/webhooks/${id}/deliveries`)).json()).items;
    expect(deliveries).toEqual([
      expect.objectContaining({
        event: "test.event",
        state: "failed",
        nextAttemptAt: null,
        attempts: [expect.objectContaining({ attempt: 1, statusCode: null, error: UNREADABLE_SECRET })],
      }),
    ]);
    expect(UNREADABLE_SECRET).toBe(
      "the webhook's secret cannot be opened (AZUSA_SECRET changed?): set the webhook again",
    );
    expect((await contractor.delete(`/api/v1/webhooks/${id}`)).status).toBe(204);
  });

  it("does not open a webhook's sealed secret copied into another webhook's row", async () => {
    const a = (await (await contractor.post("/api/v1/webhooks", { url: receiverUrl, secret: SECRET })).json()).id;
    const other = `${"x".repeat(28)}wxyz`;
    const b = (await (await contractor.post("/api/v1/webhooks", { url: receiverUrl, secret: other })).json()).id;
    const sealedA = (await db().selectFrom("webhook").select("secret").where("id", "=", a).executeTakeFirstOrThrow())
      .secret;
    await db().updateTable("webhook").set({ secret: sealedA }).where("id", "=", b).execute();
    const hints = Object.fromEntries(
      (await (await contractor.get("/api/v1/webhooks")).json()).items.map((h: { id: string; secretHint: string }) => [
        h.id,
        h.secretHint,
      ]),
    );
    expect(hints).toEqual({ [a]: "…0123", [b]: "unreadable" });
  });

  it("shows the GitHub settings and lets the contractor repair them: a webhook secret that cannot be opened is made anew", async () => {
    const url = `/api/v1/tenants/${tenantId}/github`;
    expect((await contractor.put(url, { organization: "tokyo-si", token: TOKEN })).status).toBe(200);
    const stored = () =>
      db()
        .selectFrom("tenant_github")
        .select(["token", "webhook_secret"])
        .where("tenant_id", "=", tenantId)
        .executeTakeFirstOrThrow();
    const sealer = t.running.azusa.sealer;
    const hookSecret = sealer.open((await stored()).webhook_secret, sealContext.githubWebhookSecret(tenantId));
    // Set again with a readable secret: the webhook secret stays, so earlier repositories' hooks keep working.
    expect((await contractor.put(url, { organization: "tokyo-si", token: TOKEN })).status).toBe(200);
    expect(sealer.open((await stored()).webhook_secret, sealContext.githubWebhookSecret(tenantId))).toBe(hookSecret);

    await db()
      .updateTable("tenant_github")
      .set({
        token: before.seal(TOKEN, sealContext.githubToken(tenantId)),
        webhook_secret: before.seal(hookSecret, sealContext.githubWebhookSecret(tenantId)),
      })
      .where("tenant_id", "=", tenantId)
      .execute();
    const shown = await contractor.get(url);
    expect(shown.status).toBe(200);
    expect(await shown.json()).toMatchObject({ organization: "tokyo-si", tokenSet: true });
    // GitHub's deliveries cannot be verified meanwhile: refused as unsigned, not a server error.
    const refused = await t.anonymous().request("POST", `/webhooks/github/${tenantId}`, "{}", {
      "content-type": "application/json",
      "x-github-event": "ping",
      "x-hub-signature-256": "sha256=00",
    });
    expect(refused.status).toBe(401);

    const repaired = await contractor.put(url, { organization: "tokyo-si", token: TOKEN });
    expect(repaired.status).toBe(200);
    const row = await stored();
    expect(sealer.open(row.token, sealContext.githubToken(tenantId))).toBe(TOKEN);
    const fresh = sealer.open(row.webhook_secret, sealContext.githubWebhookSecret(tenantId));
    expect(fresh).not.toBe(hookSecret);
    const events = (await (await contractor.get("/api/v1/audit-events")).json()).items as {
      action: string;
      details: Record<string, unknown>;
    }[];
    const configured = events.filter((e) => e.action === "github.configured");
    expect(configured).toHaveLength(3);
    expect(configured.filter((e) => e.details.webhookSecretRegenerated)).toEqual([
      expect.objectContaining({
        details: expect.objectContaining({ webhookSecretRegenerated: expect.stringContaining("could not be opened") }),
      }),
    ]);
    expect(t.logs.join("")).not.toContain(fresh);
  });
});
