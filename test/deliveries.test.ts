// 請負 delivery and inspection over HTTP, the 60-day payment date, the printable order document, and the
// tenant's webhooks received by a server of the test's own that checks every signature.
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sealContext } from "../src/auth/sealed.ts";
import { createDeliveryService } from "../src/domain/delivery/delivery.service.ts";
import { ORDER_CSP } from "../src/domain/delivery/order-document.ts";
import { tokyoDay } from "../src/domain/timesheets/time.ts";
import { system } from "../src/kernel/actor.ts";
import { text } from "../src/kernel/messages.ts";
import { dialects } from "./support/databases.ts";
import { type HoursWorld, startHoursWorld } from "./support/hours-world.ts";
import { csrfTokenIn, getPage, postForm } from "./support/pages.ts";

const SECRET = "whsec-tokyo-si-0123456789abcdef-0123";

/** What a receiver got: the event and whether its signature checked out against SECRET. */
interface Received {
  event: string;
  delivery: string;
  body: { event: string; data: Record<string, unknown> };
  signatureValid: boolean;
}

/** Verifies `azusa-signature: t=…,v1=…` the way a receiver following the docs would. */
function verify(req: IncomingMessage, raw: string): boolean {
  const header = String(req.headers["azusa-signature"] ?? "");
  const parts = Object.fromEntries(header.split(",").map((kv) => kv.split("=", 2) as [string, string]));
  if (!parts.t || !parts.v1) return false;
  // A receiver refuses old timestamps, so that a captured request cannot be replayed later.
  if (Math.abs(Date.now() / 1000 - Number(parts.t)) > 300) return false;
  const expected = createHmac("sha256", SECRET).update(`${parts.t}.${raw}`).digest();
  const given = Buffer.from(parts.v1, "hex");
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** A loopback receiver that answers each request with the next status of `statuses` (then 200). */
async function receiver(statuses: number[] = []) {
  const got: Received[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const server: Server = createServer((req, res) => {
    let raw = "";
    req.on("data", (chunk) => {
      raw += chunk;
    });
    req.on("end", () => {
      got.push({
        event: String(req.headers["azusa-event"]),
        delivery: String(req.headers["azusa-delivery"]),
        body: JSON.parse(raw),
        signatureValid: verify(req, raw),
      });
      res.writeHead(statuses.shift() ?? 200).end();
      for (const w of waiters.filter((x) => got.length >= x.n)) w.resolve();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/azusa`,
    got,
    /** Resolves once `n` requests have arrived. */
    requests: (n: number) =>
      got.length >= n ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ n, resolve })),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe.each(dialects)("deliveries, orders and webhooks on %s", (dialect) => {
  let w: HoursWorld;
  let sato: HoursWorld["engineers"][string];

  /** A 請負 package assigned to sato and brought to review. */
  const reviewed = async (wbsId: string) => {
    const id = w.ukeoi.packages[wbsId] as string;
    const assignmentId = await w.assign(id, "sato");
    await w.move(id, "in_progress", "in_review");
    return { id, assignmentId };
  };
  const stateOf = async (id: string) => (await (await w.lead.get(`/api/v1/packages/${id}`)).json()).state;

  beforeAll(async () => {
    w = await startHoursWorld(dialect, { AZUSA_WEBHOOK_RETRY_MS: "20" });
    sato = w.engineers.sato as HoursWorld["engineers"][string];
  });
  afterAll(() => w?.stop());

  it("lets the engineer deliver, starts the 60-day payment clock, and the contractor accept (検収)", async () => {
    const pkg = await reviewed("1.1.1");
    expect((await w.contractor.post(`/api/v1/packages/${pkg.id}/accept-delivery`)).status).toBe(409); // nothing delivered
    const res = await sato.client.post(`/api/v1/packages/${pkg.id}/deliver`, { note: "PR #12 をマージ済み" });
    expect(res.status).toBe(201);
    const delivery = await res.json();
    const day = tokyoDay(Date.parse(delivery.deliveredAt));
    // The day of delivery counts as the first of the 60.
    const due = new Date(Date.parse(`${day}T00:00:00Z`) + 59 * 86_400_000).toISOString().slice(0, 10);
    expect(delivery).toMatchObject({ paymentDueOn: due, decision: null, acceptedAt: null });
    expect(await stateOf(pkg.id)).toBe("delivered");
    const told = (await (await w.contractor.get("/api/v1/notifications?unread=true")).json()).items;
    expect(told[0]).toMatchObject({ kind: "delivery.delivered", body: `支払期日: ${due}`, readAt: null });
    expect((await sato.client.post(`/api/v1/notifications/${told[0].id}/read`)).status).toBe(404); // not sato's
    const read = await w.contractor.post(`/api/v1/notifications/${told[0].id}/read`);
    expect((await read.json()).readAt).toEqual(expect.any(String));
    const unread = (await (await w.contractor.get("/api/v1/notifications?unread=true")).json()).items;
    expect(unread.map((n: { id: string }) => n.id)).not.toContain(told[0].id);

    expect((await w.lead.post(`/api/v1/packages/${pkg.id}/accept-delivery`)).status).toBe(403);
    const accepted = await w.contractor.post(`/api/v1/packages/${pkg.id}/accept-delivery`);
    expect(accepted.status).toBe(200);
    const body = await accepted.json();
    expect(body).toMatchObject({ decision: "accepted", paymentDueOn: due });
    expect(body.acceptedAt).toEqual(expect.any(String));
    expect(await stateOf(pkg.id)).toBe("accepted");
    const listed = (await (await sato.client.get(`/api/v1/packages/${pkg.id}/deliveries`)).json()).items;
    expect(listed).toHaveLength(1);
    expect(listed[0].acceptedAt).toBe(body.acceptedAt);
  });

  it("sends a rejected delivery back to in_progress with its reasons, and a new delivery restarts the clock", async () => {
    const pkg = await reviewed("1.1.2");
    expect((await sato.client.post(`/api/v1/packages/${pkg.id}/deliver`)).status).toBe(201);
    const noReasons = await w.contractor.post(`/api/v1/packages/${pkg.id}/reject-delivery`, { reasons: [] });
    expect((await noReasons.json()).error.fields[0].path).toBe("reasons");
    const rejected = await w.contractor.post(`/api/v1/packages/${pkg.id}/reject-delivery`, {
      reasons: ["受入基準の顧客承認が未取得", "要件定義書の版数が古い"],
    });
    expect(rejected.status).toBe(200);
    expect(await rejected.json()).toMatchObject({ decision: "rejected", acceptedAt: null });
    expect(await stateOf(pkg.id)).toBe("in_progress");
    const told = (await (await sato.client.get("/api/v1/notifications")).json()).items;
    expect(told[0]).toMatchObject({
      kind: "delivery.rejected",
      body: "・受入基準の顧客承認が未取得\n・要件定義書の版数が古い",
    });
    // Delivering needs review first.
    expect((await sato.client.post(`/api/v1/packages/${pkg.id}/deliver`)).status).toBe(409);
    await w.move(pkg.id, "in_review");
    expect((await sato.client.post(`/api/v1/packages/${pkg.id}/deliver`)).status).toBe(201);
    const list = (await (await w.lead.get(`/api/v1/packages/${pkg.id}/deliveries`)).json()).items;
    expect(list.map((d: { decision: string | null }) => d.decision)).toEqual([null, "rejected"]);
  });

  it("takes up to 50 reasons a line from the page's form, each as long as the API allows, and names reasons beyond that", async () => {
    const pkg = await reviewed("3.2");
    expect((await sato.client.post(`/api/v1/packages/${pkg.id}/deliver`)).status).toBe(201);
    const page = await getPage(w.contractor, "/deliveries");
    const _csrf = csrfTokenIn(page.html);
    const reject = (reasons: string) =>
      postForm(w.contractor, `/packages/${pkg.id}/reject-delivery`, { _csrf, reasons });
    const tooMany = await reject(Array.from({ length: 51 }, (_, i) => `指摘 ${i + 1}`).join("\n"));
    expect(tooMany.status).toBe(400);
    expect(tooMany.html).toContain("理由は 1 行に 1 つ、50 件までです");
    const tooLong = await reject(`短い指摘\n${"長".repeat(2001)}`);
    expect(tooLong.status).toBe(400);
    expect(tooLong.html).toContain("それぞれ 2000 文字以内にしてください");
    expect(await stateOf(pkg.id)).toBe("delivered");
    // Three long findings are more than 2000 characters together, and each is within the API's bound.
    const long = ["一", "二", "三"].map((n) => `${n}：${"詳".repeat(1500)}`);
    // The form asks first, listing the reasons; only the confirmed form sends the delivery back.
    const asked = await reject(long.join("\r\n"));
    expect(asked.status).toBe(200);
    expect(asked.html).toContain("差し戻しの確認");
    expect(await stateOf(pkg.id)).toBe("delivered");
    const rejected = await postForm(w.contractor, `/packages/${pkg.id}/reject-delivery`, {
      _csrf,
      reasons: long.join("\r\n"),
      confirm: "yes",
    });
    expect(rejected.location).toBe("/deliveries?notice=rejected");
    expect(await stateOf(pkg.id)).toBe("in_progress");
    const [latest] = (await (await w.lead.get(`/api/v1/packages/${pkg.id}/deliveries`)).json()).items;
    expect(latest.reasons).toEqual(long);
  });

  it("asks the delivery gate first: a refusing gate (the forge's unmerged pull request) stops the delivery", async () => {
    const pkg = await reviewed("2.3");
    const { db, audit, packages, notifications } = w.t.running.azusa;
    const asked: string[] = [];
    const gated = createDeliveryService({
      db: db.kysely,
      audit,
      packages,
      notifications,
      deliveryGate: async (id) => {
        asked.push(id);
        return { allowed: false, reason: text("deliveries.noMergedPull") };
      },
    });
    const engineer = {
      kind: "user",
      userId: sato.id,
      email: "sato@matsumoto.example",
      role: "engineer",
      tenantId: null,
      via: "session",
    } as const;
    await expect(gated.deliver(engineer, pkg.id)).rejects.toMatchObject({
      code: "INVALID_STATE",
      message: "not deliverable yet: the package has no merged pull request",
    });
    expect(asked).toEqual([pkg.id]);
    expect(await stateOf(pkg.id)).toBe("in_review");
    expect((await (await w.lead.get(`/api/v1/packages/${pkg.id}/deliveries`)).json()).items).toEqual([]);
  });

  it("refuses to deliver work whose pull request is not merged", async () => {
    const id = w.ukeoi.packages["3.1"] as string;
    await w.assign(id, "sato");
    // Straight to review without the forge: no pull request, so nothing merged.
    for (const to of ["in_progress", "in_review"] as const)
      await w.t.running.azusa.packages.transition(system("test"), id, to);
    const res = await sato.client.post(`/api/v1/packages/${id}/deliver`, { note: "まだマージされていない" });
    expect(res.status).toBe(409);
    expect((await res.json()).error.message).toBe("not deliverable yet: the package has no merged pull request");
    expect(await stateOf(id)).toBe("in_review");
  });

  it("never lets the payment terms go past 60 days; shorter terms shorten the due date", async () => {
    const tooLong = await w.contractor.request("PATCH", `/api/v1/contracts/${w.ukeoi.id}`, { paymentTermsDays: 90 });
    expect(tooLong.status).toBe(400);
    expect((await tooLong.json()).error.fields[0].path).toBe("paymentTermsDays");
    expect(
      (await w.contractor.request("PATCH", `/api/v1/contracts/${w.ukeoi.id}`, { paymentTermsDays: 30 })).status,
    ).toBe(200);
    const pkg = await reviewed("1.2.1");
    const delivery = await (await sato.client.post(`/api/v1/packages/${pkg.id}/deliver`)).json();
    const day = tokyoDay(Date.parse(delivery.deliveredAt));
    expect(delivery.paymentDueOn).toBe(
      new Date(Date.parse(`${day}T00:00:00Z`) + 29 * 86_400_000).toISOString().slice(0, 10),
    );
    await w.contractor.request("PATCH", `/api/v1/contracts/${w.ukeoi.id}`, { paymentTermsDays: null });
  });

  it("serves the order document (発注書) as printable Japanese HTML to those it concerns", async () => {
    const pkg = await reviewed("1.2.2");
    const res = await sato.client.get(`/api/v1/assignments/${pkg.assignmentId}/order`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    expect(res.headers.get("content-security-policy")).toBe(ORDER_CSP);
    const html = await res.text();
    for (const text of [
      "<h1>発注書</h1>",
      w.tenantName,
      "sato 様",
      "T1234567890123",
      "1.2.2 API設計",
      "OpenAPI定義がレビュー済み",
      "納期",
      "2027年12月31日",
      "納入場所",
      "検査（検収）完了期日",
      "168,000円（見積工数 24 時間 × 単価 7,000円、消費税別）",
      "納品日（受領日）から起算して 60 日以内",
      "銀行振込",
      "@page",
    ]) {
      expect(html).toContain(text);
    }
    for (const reader of [w.lead, w.contractor, w.operator]) {
      expect((await reader.get(`/api/v1/assignments/${pkg.assignmentId}/order`)).status).toBe(200);
    }
    const ito = w.engineers.ito as HoursWorld["engineers"][string];
    expect((await ito.client.get(`/api/v1/assignments/${pkg.assignmentId}/order`)).status).toBe(404);
    expect((await w.otherLead.get(`/api/v1/assignments/${pkg.assignmentId}/order`)).status).toBe(404);
  });

  it("reminds of payments coming due and of vetting about to run out, once however often the schedule runs", async () => {
    await w.contractor.request("PATCH", `/api/v1/contracts/${w.ukeoi.id}`, { paymentTermsDays: 5 });
    const pkg = await reviewed("2.2");
    const delivery = await (await sato.client.post(`/api/v1/packages/${pkg.id}/deliver`)).json();
    await w.contractor.request("PATCH", `/api/v1/contracts/${w.ukeoi.id}`, { paymentTermsDays: null });
    const kato = w.engineers.kato as HoursWorld["engineers"][string];
    const soon = new Date(Date.now() + 10 * 86_400_000).toISOString().slice(0, 10);
    const vetting = await w.operator.post(`/api/v1/engineers/${kato.id}/vetting`, {
      kind: "security_training",
      issuedOn: "2026-01-01",
      expiresOn: soon,
    });
    expect(vetting.status).toBe(201);
    const run = async (name: string) => {
      const schedule = w.t.running.azusa.schedules.find((s) => s.name === name);
      await schedule?.run();
    };
    for (const name of ["payments.remind", "payments.remind", "vetting.remind", "vetting.remind"]) await run(name);
    const titles = async (c: HoursWorld["contractor"]) =>
      (await (await c.get("/api/v1/notifications")).json()).items.map((n: { title: string }) => n.title);
    const dueTitle = `2.2 在庫引当機能 の支払期日 ${delivery.paymentDueOn} が近づいています`;
    expect((await titles(w.contractor)).filter((t: string) => t === dueTitle)).toHaveLength(1);
    expect((await titles(w.lead)).filter((t: string) => t === dueTitle)).toHaveLength(1);
    const vettingTitle = `審査記録（security_training）の有効期限 ${soon} が近づいています`;
    expect((await titles(kato.client)).filter((t: string) => t === vettingTitle)).toHaveLength(1);
    expect((await titles(w.operator)).filter((t: string) => t === vettingTitle)).toHaveLength(1);
  });

  it("signs webhooks with HMAC-SHA256, never shows the secret again, and retries a failing receiver with backoff", async () => {
    const hook = await receiver([500, 503]);
    try {
      const weak = await w.contractor.post("/api/v1/webhooks", { url: hook.url, secret: "short" });
      expect((await weak.json()).error.fields[0].path).toBe("secret");
      expect((await w.lead.post("/api/v1/webhooks", { url: hook.url, secret: SECRET })).status).toBe(403);
      const created = await w.contractor.post("/api/v1/webhooks", { url: hook.url, secret: SECRET });
      expect(created.status).toBe(201);
      const { id } = await created.json();
      const listed = await (await w.contractor.get("/api/v1/webhooks")).text();
      expect(listed).toContain("…0123");
      expect(listed).not.toContain(SECRET);
      // At rest the secret is sealed; one saved before sealing existed is sealed at the next start.
      const db = w.t.running.azusa.db.kysely;
      const stored = async () =>
        (await db.selectFrom("webhook").select("secret").where("id", "=", id).executeTakeFirstOrThrow()).secret;
      expect(await stored()).toMatch(/^sealed:v1:/);
      expect(await stored()).not.toContain(SECRET);
      await db.updateTable("webhook").set({ secret: SECRET }).where("id", "=", id).execute();
      expect(await w.t.running.azusa.notifications.sealStoredSecrets()).toBe(1);
      expect(await w.t.running.azusa.notifications.sealStoredSecrets()).toBe(0);
      expect(w.t.running.azusa.sealer.open(await stored(), sealContext.webhook(id))).toBe(SECRET);

      const pkg = await reviewed("2.1");
      const delivery = await (await sato.client.post(`/api/v1/packages/${pkg.id}/deliver`)).json();
      await hook.requests(3);
      await w.t.running.azusa.notifications.drain();
      expect(hook.got.map((g) => [g.event, g.signatureValid])).toEqual([
        ["delivery.delivered", true],
        ["delivery.delivered", true],
        ["delivery.delivered", true],
      ]);
      expect(new Set(hook.got.map((g) => g.delivery)).size).toBe(1);
      expect(hook.got[0]?.body.data).toMatchObject({ packageId: pkg.id, paymentDueOn: delivery.paymentDueOn });

      const deliveries = (await (await w.contractor.get(`/api/v1/webhooks/${id}/deliveries`)).json()).items;
      expect(deliveries[0]).toMatchObject({ event: "delivery.delivered", state: "delivered" });
      expect(deliveries[0].attempts.map((a: { statusCode: number }) => a.statusCode)).toEqual([500, 503, 200]);
      expect(w.t.logs.join("")).not.toContain(SECRET);

      expect((await w.contractor.delete(`/api/v1/webhooks/${id}`)).status).toBe(204);
      expect((await (await w.contractor.get("/api/v1/webhooks")).json()).items).toEqual([]);
    } finally {
      await hook.close();
    }
  });

  it("refuses webhooks aimed at private, link-local or reserved addresses", async () => {
    for (const url of [
      "https://10.0.0.5/hooks",
      "https://169.254.169.254/latest/meta-data",
      "https://192.168.1.10/hooks",
      "https://[fd00::1]/hooks",
      "https://[::ffff:10.0.0.5]/hooks",
      "http://example.com/hooks",
    ]) {
      const res = await w.contractor.post("/api/v1/webhooks", { url, secret: SECRET });
      expect(res.status, url).toBe(400);
      expect((await res.json()).error.fields[0].path, url).toBe("url");
    }
    expect((await (await w.contractor.get("/api/v1/webhooks")).json()).items).toEqual([]);
  });
});
