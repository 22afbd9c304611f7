// Hostile or careless requests get an honest 4xx with the one error body, never a 500, and change nothing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { say } from "../../src/kernel/messages.ts";
import { nameProblemText } from "../../src/kernel/text.ts";
import { sampleContract } from "../support/fixtures.ts";
import { type ApiResponse, type Client, PASSWORD, startTestAzusa, type TestAzusa } from "../support/harness.ts";
import { getPage } from "../support/pages.ts";
import { SAMPLE_WBS_ROWS, utf8Csv } from "../support/wbs-files.ts";

/** Text as the pages write it into HTML. */
const escapeHtml = (text: string) =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

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

  describe("names and titles", () => {
    let contractor: Client;
    let lead: Client;
    let contractId: string;
    let packageId: string;

    beforeAll(async () => {
      const tenant = await t.createTenant("名前検査");
      await t.createUser("contractor", "names@tokyo-si.example", tenant.id);
      const leadId = (await t.createUser("lead", "names-lead@tokyo-si.example", tenant.id)).id;
      contractor = await t.signIn("names@tokyo-si.example");
      lead = await t.signIn("names-lead@tokyo-si.example");
      contractId = (await (await contractor.post("/api/v1/contracts", { ...sampleContract, leadIds: [leadId] })).json())
        .id;
      const imported = await contractor.request(
        "POST",
        `/api/v1/contracts/${contractId}/wbs`,
        utf8Csv(SAMPLE_WBS_ROWS),
        {
          "content-type": "text/csv",
        },
      );
      expect(imported.status).toBe(201);
      packageId = (await imported.json()).packages[0].id;
    });

    const hostile = [
      ["NUL", "東京\u0000システム", "control characters"],
      ["a lone surrogate", "東京\ud800", "unpaired surrogate"],
      ["a right-to-left override", "請求書\u202Efdp.exe", "bidirectional controls"],
      ["only zero-width spaces", "\u200b\u200b\u200b", "empty"],
      ["only spaces", "  \u3000 ", "empty"],
    ] as const;

    /** Expects a 400 naming `field` (and what was wrong with it). */
    const refused = async (res: ApiResponse, field: string, problem: string) => {
      expect(res.status).toBe(400);
      const { error } = await res.json();
      expect(error.code).toBe("VALIDATION");
      expect(error.fields).toEqual([{ path: field, message: expect.stringContaining(problem) }]);
    };

    it.each(hostile)("refuses a tenant name with %s, creating none", async (_what, name, problem) => {
      const before = (await (await operator.get("/api/v1/tenants")).json()).items.length;
      await refused(await operator.post("/api/v1/tenants", { name }), "name", problem);
      expect((await (await operator.get("/api/v1/tenants")).json()).items).toHaveLength(before);
    });

    it.each(hostile)("refuses a contract's title and client with %s", async (_what, text, problem) => {
      await refused(await contractor.post("/api/v1/contracts", { ...sampleContract, title: text }), "title", problem);
      await refused(await contractor.post("/api/v1/contracts", { ...sampleContract, client: text }), "client", problem);
      await refused(
        await contractor.request("PATCH", `/api/v1/contracts/${contractId}`, { title: text }),
        "title",
        problem,
      );
      expect((await (await contractor.get(`/api/v1/contracts/${contractId}`)).json()).title).toBe(sampleContract.title);
    });

    it.each(hostile)("refuses a package title with %s", async (_what, title, problem) => {
      const before = (await (await lead.get(`/api/v1/packages/${packageId}`)).json()).title;
      await refused(await lead.request("PATCH", `/api/v1/packages/${packageId}`, { title }), "title", problem);
      expect((await (await lead.get(`/api/v1/packages/${packageId}`)).json()).title).toBe(before);
    });

    it.each(hostile)("refuses an API key name with %s", async (_what, name, problem) => {
      await refused(await contractor.post("/api/v1/api-keys", { name }), "name", problem);
      expect((await (await contractor.get("/api/v1/api-keys")).json()).items).toEqual([]);
    });

    it.each(hostile)("refuses a person's name with %s, over the API and in the form", async (what, name, problem) => {
      const email = `newcomer-${hostile.findIndex(([w]) => w === what)}@matsumoto.example`;
      const invitation = await (await operator.post("/api/v1/invitations", { email, role: "engineer" })).json();
      const res = await t
        .anonymous()
        .post("/api/v1/invitations/accept", { token: invitation.token, name, password: PASSWORD });
      await refused(res, "name", problem);
      // A form is sent as UTF-8, in which a lone surrogate cannot be written (it arrives as U+FFFD).
      if (!/\p{Cs}/u.test(name)) {
        const form = await fetch(`${t.base}/invite`, {
          method: "POST",
          redirect: "manual",
          headers: { "content-type": "application/x-www-form-urlencoded", origin: t.base },
          body: new URLSearchParams({ token: invitation.token, name, password: PASSWORD }).toString(),
        });
        expect(form.status).toBe(400);
        // Blank names meet the form's own "required" first; the others its message, in the page's Japanese.
        const said = nameProblemText(name);
        const page = await form.text();
        if (said && !/^\s*$/.test(name)) expect(page).toContain(escapeHtml(say("ja", said)));
        else expect(page).toMatch(/<strong>(name|氏名)<\/strong>|入力してください/);
      }
      // The invitation is still open: nothing was half-made of the account.
      const items = (await (await operator.get("/api/v1/invitations")).json()).items;
      expect(items.find((i: { id: string }) => i.id === invitation.id).status).toBe("pending");
    });

    it("keeps a name of ordinary text, trimmed", async () => {
      const res = await operator.post("/api/v1/tenants", { name: "  🚄 あずさ　システム  " });
      expect(res.status).toBe(201);
      expect((await res.json()).name).toBe("🚄 あずさ　システム");
    });
  });
});
