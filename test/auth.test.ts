// Sign-in, invitations, roles, tenant isolation and API keys, over real HTTP, on SQLite and PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dialects } from "./support/databases.ts";
import { type Client, PASSWORD, startTestAzusa, type TestAzusa } from "./support/harness.ts";

describe.each(dialects)("accounts on %s", (dialect) => {
  let t: TestAzusa;
  let tokyo: { id: string };
  let osaka: { id: string };
  let as: Record<"operator" | "contractor" | "lead" | "engineer" | "otherContractor", Client>;

  beforeAll(async () => {
    t = await startTestAzusa({ dialect });
    tokyo = await t.createTenant("東京システムインテグレーション");
    osaka = await t.createTenant("大阪情報サービス");
    await t.createOperator("ops@office.example");
    await t.createUser("contractor", "buyer@tokyo-si.example", tokyo.id);
    await t.createUser("lead", "lead@tokyo-si.example", tokyo.id);
    await t.createUser("engineer", "sato@matsumoto.example");
    await t.createUser("contractor", "buyer@osaka-is.example", osaka.id);
    as = {
      operator: await t.signIn("ops@office.example"),
      contractor: await t.signIn("buyer@tokyo-si.example"),
      lead: await t.signIn("lead@tokyo-si.example"),
      engineer: await t.signIn("sato@matsumoto.example"),
      otherContractor: await t.signIn("buyer@osaka-is.example"),
    };
  });
  afterAll(() => t?.stop());

  describe("sign-in", () => {
    it("returns a session for the right password and the session reaches /me", async () => {
      const me = await as.engineer.get("/api/v1/me");
      expect(me.status).toBe(200);
      const body = await me.json();
      expect(body).toMatchObject({
        email: "sato@matsumoto.example",
        role: "engineer",
        tenantId: null,
        via: "session",
      });
      // /me answers from the credential check; it is the same profile as the user's row.
      const row = await (await as.engineer.get(`/api/v1/users/${body.id}`)).json();
      expect(body).toEqual({ ...row, via: "session" });
      expect(row.name).not.toBe("");
      expect(new Date(row.createdAt).toISOString()).toBe(row.createdAt);
    });

    it("refuses a wrong password with the common error body and records the failure", async () => {
      const res = await t
        .anonymous()
        .post("/api/auth/sign-in/email", { email: "sato@matsumoto.example", password: "wrong-password-123" });
      expect(res.status).toBe(401);
      const body = await res.json();
      expect(body).toMatchObject({ error: { code: "UNAUTHENTICATED", requestId: res.headers.get("x-request-id") } });
      const audit = await (await as.operator.get("/api/v1/audit-events?limit=20")).json();
      expect(audit.items).toContainEqual(
        expect.objectContaining({ action: "auth.sign_in_failed", subject: "email:sato@matsumoto.example" }),
      );
      expect(audit.items).toContainEqual(expect.objectContaining({ action: "auth.sign_in", actorRole: "engineer" }));
    });

    it("refuses a sign-in posted from another site", async () => {
      const res = await t
        .anonymous()
        .request(
          "POST",
          "/api/auth/sign-in/email",
          { email: "sato@matsumoto.example", password: PASSWORD },
          { origin: "https://phish.example" },
        );
      expect(res.status).toBe(403);
      expect((await res.json()).error.code).toBe("FORBIDDEN");
    });

    it("keeps better-auth's other endpoints out of reach", async () => {
      for (const path of ["/api/auth/api-key/create", "/api/auth/update-user", "/api/auth/sign-up/email"]) {
        const res = await as.contractor.post(path, { name: "x" });
        expect(res.status, path).toBe(404);
      }
    });

    it("has no open sign-up", async () => {
      const res = await t
        .anonymous()
        .post("/api/auth/sign-up/email", { email: "x@example.com", password: PASSWORD, name: "x" });
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(
        (await t.anonymous().post("/api/auth/sign-in/email", { email: "x@example.com", password: PASSWORD })).status,
      ).toBe(401);
    });

    it("ends the session at sign-out", async () => {
      const c = await t.signIn("sato@matsumoto.example");
      expect((await c.post("/api/auth/sign-out")).status).toBe(200);
      expect((await c.get("/api/v1/me")).status).toBe(401);
    });

    it("asks for a sign-in on every API route", async () => {
      for (const path of [
        "/api/v1/me",
        "/api/v1/tenants",
        "/api/v1/users",
        "/api/v1/audit-events",
        "/api/v1/api-keys",
      ]) {
        const res = await t.anonymous().get(path);
        expect(res.status, path).toBe(401);
        expect((await res.json()).error.code).toBe("UNAUTHENTICATED");
      }
    });
  });

  describe("what each role reaches", () => {
    // [method, path, body] → status per role; a matrix, so that a widened permission shows at once.
    const matrix: [string, string, unknown, Record<keyof typeof as, number>][] = [
      [
        "GET",
        "/api/v1/tenants",
        undefined,
        { operator: 200, contractor: 200, lead: 200, engineer: 403, otherContractor: 200 },
      ],
      [
        "POST",
        "/api/v1/tenants",
        { name: "新規" },
        { operator: 201, contractor: 403, lead: 403, engineer: 403, otherContractor: 403 },
      ],
      [
        "GET",
        "/api/v1/users",
        undefined,
        { operator: 200, contractor: 200, lead: 200, engineer: 403, otherContractor: 200 },
      ],
      [
        "GET",
        "/api/v1/invitations",
        undefined,
        { operator: 200, contractor: 200, lead: 403, engineer: 403, otherContractor: 200 },
      ],
      [
        "POST",
        "/api/v1/invitations",
        { email: "new-engineer@matsumoto.example", role: "engineer" },
        { operator: 201, contractor: 403, lead: 403, engineer: 403, otherContractor: 403 },
      ],
      [
        "GET",
        "/api/v1/audit-events",
        undefined,
        { operator: 200, contractor: 200, lead: 403, engineer: 403, otherContractor: 200 },
      ],
      [
        "GET",
        "/api/v1/audit-events/verify",
        undefined,
        { operator: 200, contractor: 403, lead: 403, engineer: 403, otherContractor: 403 },
      ],
      [
        "GET",
        "/api/v1/api-keys",
        undefined,
        { operator: 403, contractor: 200, lead: 403, engineer: 403, otherContractor: 200 },
      ],
    ];

    for (const [method, path, body, expected] of matrix) {
      it(`${method} ${path}`, async () => {
        const seen: Record<string, number> = {};
        for (const role of Object.keys(expected) as (keyof typeof as)[]) {
          // Each role gets its own copy of a creating body so that a 201 does not collide with the next role.
          const b = body && typeof body === "object" ? uniquify(body as Record<string, unknown>, role) : body;
          seen[role] = (await as[role].request(method, path, b)).status;
        }
        expect(seen).toEqual(expected);
      });
    }

    it("lets a contractor invite a lead into their own tenant only", async () => {
      // Another tenant's id is refused as any foreign id is, never quietly rewritten to the caller's tenant.
      const foreign = await as.contractor.post("/api/v1/invitations", {
        email: "lead2@tokyo-si.example",
        role: "lead",
        tenantId: osaka.id,
      });
      expect(foreign.status).toBe(404);
      expect((await foreign.json()).error.code).toBe("NOT_FOUND");
      const invited = (await (await as.operator.get("/api/v1/invitations")).json()).items as { email: string }[];
      expect(invited.map((i) => i.email)).not.toContain("lead2@tokyo-si.example");
      for (const tenantId of [tokyo.id, undefined]) {
        const res = await as.contractor.post("/api/v1/invitations", {
          email: `lead-${tenantId ?? "own"}@tokyo-si.example`,
          role: "lead",
          tenantId,
        });
        expect(res.status).toBe(201);
        expect((await res.json()).tenantId).toBe(tokyo.id);
      }
      const engineer = await as.contractor.post("/api/v1/invitations", { email: "e@x.example", role: "engineer" });
      expect(engineer.status).toBe(403);
    });

    it("lets only operators change roles, records it and ends the changed user's sessions", async () => {
      const u = await t.createUser("engineer", "role-change@matsumoto.example");
      const session = await t.signIn(u.email);
      expect((await as.contractor.put(`/api/v1/users/${u.id}/role`, { role: "lead", tenantId: tokyo.id })).status).toBe(
        403,
      );
      expect((await as.lead.put(`/api/v1/users/${u.id}/role`, { role: "operator" })).status).toBe(403);
      const res = await as.operator.put(`/api/v1/users/${u.id}/role`, { role: "lead", tenantId: tokyo.id });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ role: "lead", tenantId: tokyo.id });
      expect((await session.get("/api/v1/me")).status).toBe(401);
      const audit = await (await as.operator.get("/api/v1/audit-events?limit=5")).json();
      expect(audit.items[0]).toMatchObject({
        action: "user.role_changed",
        subject: `user:${u.id}`,
        details: { from: "engineer", to: "lead" },
      });
    });

    it("keeps the last operator", async () => {
      const t2 = await startTestAzusa({ dialect });
      try {
        const root = await t2.signIn("root@office.example");
        const me = await (await root.get("/api/v1/me")).json();
        const res = await root.put(`/api/v1/users/${me.id}/role`, { role: "engineer" });
        expect(res.status).toBe(409);
      } finally {
        await t2.stop();
      }
    });
  });

  describe("tenant isolation", () => {
    it("shows a tenant only to its own staff and the office", async () => {
      expect((await as.contractor.get(`/api/v1/tenants/${tokyo.id}`)).status).toBe(200);
      expect((await as.operator.get(`/api/v1/tenants/${osaka.id}`)).status).toBe(200);
      const res = await as.contractor.get(`/api/v1/tenants/${osaka.id}`);
      expect(res.status).toBe(404);
      expect((await res.json()).error.code).toBe("NOT_FOUND");
      expect((await as.engineer.get(`/api/v1/tenants/${tokyo.id}`)).status).toBe(404);
    });

    it("lists only the caller's tenant and its people", async () => {
      const tenants = await (await as.otherContractor.get("/api/v1/tenants")).json();
      expect(tenants.items.map((x: { id: string }) => x.id)).toEqual([osaka.id]);
      const users = await (await as.contractor.get("/api/v1/users")).json();
      const emails = users.items.map((u: { email: string }) => u.email);
      expect(emails).toContain("lead@tokyo-si.example");
      expect(emails).not.toContain("buyer@osaka-is.example");
      expect(emails).not.toContain("sato@matsumoto.example");
    });

    it("hides another tenant's people and audit trail", async () => {
      const osakaUsers = await (await as.otherContractor.get("/api/v1/users")).json();
      const osakaBuyer = osakaUsers.items.find((u: { email: string }) => u.email === "buyer@osaka-is.example");
      expect((await as.contractor.get(`/api/v1/users/${osakaBuyer.id}`)).status).toBe(404);
      const audit = await (await as.contractor.get("/api/v1/audit-events?limit=1000")).json();
      expect(audit.items.length).toBeGreaterThan(0);
      expect(audit.items.every((e: { tenantId: string }) => e.tenantId === tokyo.id)).toBe(true);
    });
  });

  describe("invitations", () => {
    it("creates an account that can sign in, once", async () => {
      const inv = await (
        await as.operator.post("/api/v1/invitations", { email: "Suzuki@Matsumoto.example", role: "engineer" })
      ).json();
      expect(inv).toMatchObject({ email: "suzuki@matsumoto.example", role: "engineer", status: "pending" });
      const accept = { token: inv.token, name: "鈴木", password: PASSWORD };
      const res = await t.anonymous().post("/api/v1/invitations/accept", accept);
      expect(res.status).toBe(201);
      expect(await res.json()).toMatchObject({ email: "suzuki@matsumoto.example", role: "engineer" });
      expect((await t.anonymous().post("/api/v1/invitations/accept", accept)).status).toBe(409);
      await t.signIn("suzuki@matsumoto.example");
    });

    it("refuses an unknown token, a short password, and a revoked invitation", async () => {
      expect(
        (
          await t
            .anonymous()
            .post("/api/v1/invitations/accept", { token: "x".repeat(43), name: "a", password: PASSWORD })
        ).status,
      ).toBe(404);
      const inv = await (
        await as.operator.post("/api/v1/invitations", { email: "revoked@matsumoto.example", role: "engineer" })
      ).json();
      const short = await t
        .anonymous()
        .post("/api/v1/invitations/accept", { token: inv.token, name: "a", password: "short" });
      expect(short.status).toBe(400);
      expect((await short.json()).error.fields).toEqual([expect.objectContaining({ path: "password" })]);
      expect((await as.operator.delete(`/api/v1/invitations/${inv.id}`)).status).toBe(204);
      const res = await t
        .anonymous()
        .post("/api/v1/invitations/accept", { token: inv.token, name: "a", password: PASSWORD });
      expect(res.status).toBe(409);
      expect((await res.json()).error).toMatchObject({ code: "INVALID_STATE", message: "invitation is revoked" });
    });

    it("refuses an invitation for an email that already has an account", async () => {
      const res = await as.operator.post("/api/v1/invitations", { email: "sato@matsumoto.example", role: "engineer" });
      expect(res.status).toBe(409);
    });

    it("needs a tenant for a contractor and none for an engineer", async () => {
      const noTenant = await as.operator.post("/api/v1/invitations", { email: "c@x.example", role: "contractor" });
      expect(noTenant.status).toBe(400);
      expect((await noTenant.json()).error.fields[0].path).toBe("tenantId");
      const withTenant = await as.operator.post("/api/v1/invitations", {
        email: "e2@x.example",
        role: "engineer",
        tenantId: tokyo.id,
      });
      expect(withTenant.status).toBe(400);
    });
  });

  describe("API keys", () => {
    it("lets a contractor's script call the API with a key until it is revoked", async () => {
      const created = await as.contractor.post("/api/v1/api-keys", { name: "billing export" });
      expect(created.status).toBe(201);
      const key = await created.json();
      expect(key.key).toMatch(/^azk_/);
      const script = t.anonymous();
      const me = await script.request("GET", "/api/v1/me", undefined, { "x-api-key": key.key });
      expect(me.status).toBe(200);
      const profile = await me.json();
      expect(profile).toMatchObject({ email: "buyer@tokyo-si.example", via: "api_key" });
      const row = await (await as.contractor.get(`/api/v1/users/${profile.id}`)).json();
      expect(profile).toEqual({ ...row, via: "api_key" });
      const bearer = await script.request("GET", "/api/v1/tenants", undefined, { authorization: `Bearer ${key.key}` });
      expect((await bearer.json()).items.map((x: { id: string }) => x.id)).toEqual([tokyo.id]);

      const listed = await (await as.contractor.get("/api/v1/api-keys")).json();
      expect(listed.items).toContainEqual(expect.objectContaining({ id: key.id, name: "billing export" }));
      expect(JSON.stringify(listed)).not.toContain(key.key);

      // A key cannot mint more keys, and another contractor cannot revoke it.
      expect((await script.request("POST", "/api/v1/api-keys", { name: "x" }, { "x-api-key": key.key })).status).toBe(
        403,
      );
      expect((await as.otherContractor.delete(`/api/v1/api-keys/${key.id}`)).status).toBe(404);

      expect((await as.contractor.delete(`/api/v1/api-keys/${key.id}`)).status).toBe(204);
      expect((await script.request("GET", "/api/v1/me", undefined, { "x-api-key": key.key })).status).toBe(401);
    });

    it("ends a contractor's keys when their role changes", async () => {
      const tenant = (await (await as.contractor.get("/api/v1/tenants")).json()).items[0].id;
      const u = await t.createUser("contractor", `keys-${dialect}@tokyo-si.example`, tenant);
      const c = await t.signIn(u.email);
      const { key } = await (await c.post("/api/v1/api-keys", { name: "nightly export" })).json();
      expect((await t.anonymous().request("GET", "/api/v1/me", undefined, { "x-api-key": key })).status).toBe(200);
      await as.operator.put(`/api/v1/users/${u.id}/role`, { role: "lead", tenantId: tenant });
      await as.operator.put(`/api/v1/users/${u.id}/role`, { role: "contractor", tenantId: tenant });
      expect((await t.anonymous().request("GET", "/api/v1/me", undefined, { "x-api-key": key })).status).toBe(401);
    });

    it("refuses a made-up key", async () => {
      const res = await t.anonymous().request("GET", "/api/v1/me", undefined, { "x-api-key": `azk_${"a".repeat(64)}` });
      expect(res.status).toBe(401);
    });
  });
});

function uniquify(body: Record<string, unknown>, role: string): Record<string, unknown> {
  const out = { ...body };
  if (typeof out.name === "string") out.name = `${out.name}-${role}`;
  if (typeof out.email === "string") out.email = out.email.replace("@", `+${role}@`);
  return out;
}
