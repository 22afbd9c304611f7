// Hostile or careless requests get an honest 4xx with the one error body, never a 500, and change nothing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiResponse, type Client, PASSWORD, startTestAzusa, type TestAzusa } from "../support/harness.ts";
import { getPage } from "../support/pages.ts";

describe("hostile requests", () => {
  let t: TestAzusa;
  let operator: Client;

  beforeAll(async () => {
    t = await startTestAzusa();
    operator = await t.signIn("root@office.example");
  });
  afterAll(() => t?.stop());

  describe("a body of the wrong content type", () => {
    it("gets 415 naming the type, and creates nothing", async () => {
      const res = await operator.request("POST", "/api/v1/tenants", "name=東京", { "content-type": "text/plain" });
      expect(res.status).toBe(415);
      const body = await res.json();
      expect(body).toEqual({
        error: {
          code: "UNSUPPORTED_MEDIA_TYPE",
          message: expect.stringContaining('"text/plain"'),
          requestId: res.headers.get("x-request-id"),
        },
      });
      const tenants = await (await operator.get("/api/v1/tenants")).json();
      expect(tenants.items).toEqual([]);
    });

    it("gets 415 for a form sent to a JSON route", async () => {
      const res2 = await operator.request("POST", "/api/v1/tenants", "name=x", {
        "content-type": "application/x-www-form-urlencoded",
      });
      expect(res2.status).toBe(415);
      expect((await res2.json()).error.code).toBe("UNSUPPORTED_MEDIA_TYPE");
    });
  });

  describe("the page after sign-in (`next`)", () => {
    // What a browser makes of each: `/\t/evil.example` is `//evil.example`, another host.
    const offSite = [
      "/%09/evil.example",
      "/%0a/evil.example",
      "/%0d%0a/evil.example",
      "//evil.example",
      "/%5Cevil.example",
      "/%5C%5Cevil.example",
      "/.//evil.example",
      "/a/../..//evil.example",
      "/%2e%2e//evil.example",
      "https://evil.example/",
      "%2F%2Fevil.example",
      "javascript:alert(1)",
    ];

    it.each(offSite)("never leaves the site for next=%s (signed in: home)", async (next) => {
      const home = await getPage(operator, "/sign-in");
      expect(home.status).toBe(303);
      const page = await getPage(operator, `/sign-in?next=${next}`);
      expect(page.status).toBe(303);
      expect(page.location).toBe(home.location);
    });

    it.each(offSite)("never leaves the site for next=%s (the form's own field)", async (next) => {
      const form = await getPage(t.anonymous(), `/sign-in?next=${next}`);
      expect(form.status).toBe(200);
      expect(form.html).toContain('name="next" value="/"');
      const res = await fetch(`${t.base}/sign-in`, {
        method: "POST",
        redirect: "manual",
        headers: { "content-type": "application/x-www-form-urlencoded", origin: t.base },
        body: `email=root%40office.example&password=${PASSWORD}&next=${encodeURIComponent(decodeURIComponent(next))}`,
      });
      expect(res.status).toBe(303);
      expect(new URL(res.headers.get("location") ?? "", t.base).origin).toBe(t.base);
      expect(res.headers.get("location")).not.toMatch(/^\/\/|^\/\\|evil/);
    });

    it("keeps a path of this site, normalised", async () => {
      expect((await getPage(operator, "/sign-in?next=%2Fcontracts%3Fq%3D1")).location).toBe("/contracts?q=1");
      expect((await getPage(operator, "/sign-in?next=/a/../contracts")).location).toBe("/contracts");
      expect((await getPage(operator, "/sign-in?next=/%E5%A5%91%E7%B4%84")).location).toBe("/%E5%A5%91%E7%B4%84");
    });
  });

  describe("the origin of a change made with a session cookie", () => {
    let contractor: Client;
    let key: string;
    let contractId: string;

    beforeAll(async () => {
      const tenant = await t.createTenant("東京システム");
      const u = await t.createUser("contractor", "origin@tokyo-si.example", tenant.id);
      contractor = await t.signIn(u.email);
      key = (await (await contractor.post("/api/v1/api-keys", { name: "export" })).json()).key;
      const created = await contractor.post("/api/v1/contracts", {
        client: "信州銀行",
        title: "勘定系更改",
        type: "ukeoi",
        confidentiality: "internal",
        periodStart: "2027-01-01",
        periodEnd: "2027-06-30",
      });
      expect(created.status).toBe(201);
      contractId = (await created.json()).id;
    });

    /** A request with the contractor's cookie and exactly these headers (no Origin unless given). */
    const send = (method: string, path: string, body: unknown, headers: Record<string, string>) =>
      fetch(`${t.base}${path}`, {
        method,
        headers: { cookie: contractor.cookie, "content-type": "application/json", ...headers },
        body: JSON.stringify(body),
      }) as Promise<ApiResponse>;

    it.each([
      ["a foreign", { origin: "https://evil.example" }],
      ["a look-alike", { origin: "http://127.0.0.1.evil.example" }],
      ["the string null for an", { origin: "null" }],
      ["no", {}],
    ])("refuses a JSON POST with %s Origin, creating nothing", async (_what, headers) => {
      const res = await send("POST", "/api/v1/contracts", { client: "x", title: "乗っ取り" }, headers);
      expect(res.status).toBe(403);
      expect((await res.json()).error).toMatchObject({ code: "FORBIDDEN", message: expect.stringContaining("Origin") });
      const list = await (await contractor.get("/api/v1/contracts")).json();
      expect(list.items.map((c: { title: string }) => c.title)).toEqual(["勘定系更改"]);
    });

    it("refuses a PATCH and a DELETE from elsewhere, changing nothing", async () => {
      const patch = await send("PATCH", `/api/v1/contracts/${contractId}`, { title: "改竄" }, {});
      expect(patch.status).toBe(403);
      const keys = await (await contractor.get("/api/v1/api-keys")).json();
      const del = await send("DELETE", `/api/v1/api-keys/${keys.items[0].id}`, undefined, {
        origin: "https://evil.example",
      });
      expect(del.status).toBe(403);
      expect((await (await contractor.get(`/api/v1/contracts/${contractId}`)).json()).title).toBe("勘定系更改");
      expect((await (await contractor.get("/api/v1/api-keys")).json()).items).toHaveLength(1);
    });

    it("accepts the same change from Azusa's own origin", async () => {
      const res = await send(
        "PATCH",
        `/api/v1/contracts/${contractId}`,
        { title: "勘定系更改 第2期" },
        {
          origin: t.base,
        },
      );
      expect(res.status).toBe(200);
      await send("PATCH", `/api/v1/contracts/${contractId}`, { title: "勘定系更改" }, { origin: t.base });
    });

    it("exempts a script with an API key, which sends no Origin", async () => {
      const res = await fetch(`${t.base}/api/v1/contracts/${contractId}`, {
        method: "PATCH",
        headers: { "x-api-key": key, "content-type": "application/json" },
        body: JSON.stringify({ budgetYen: 1_000_000 }),
      });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { budgetYen: number }).budgetYen).toBe(1_000_000);
    });
  });
});
