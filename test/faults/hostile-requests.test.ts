// Hostile or careless requests get an honest 4xx with the one error body, never a 500, and change nothing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, startTestAzusa, type TestAzusa } from "../support/harness.ts";

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
});
