// Hostile or careless requests get an honest 4xx with the one error body, never a 500, and change nothing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, PASSWORD, startTestAzusa, type TestAzusa } from "../support/harness.ts";
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
});
