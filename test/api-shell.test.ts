// The API shell as a client meets it: one error body everywhere, health, readiness, metrics and docs.
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, PASSWORD, startTestAzusa, type TestAzusa } from "./support/harness.ts";

describe("the API shell", () => {
  let t: TestAzusa;
  let operator: Client;

  beforeAll(async () => {
    t = await startTestAzusa({ env: { AZUSA_BODY_LIMIT: "4096" } });
    operator = await t.signIn("root@office.example");
  });
  afterAll(() => t?.stop());

  describe("errors share one body", () => {
    it("for an unknown route", async () => {
      const res = await operator.get("/api/v1/nothing-here");
      expect(res.status).toBe(404);
      const body = await res.json();
      expect(body).toEqual({
        error: { code: "NOT_FOUND", message: "no route for GET /api/v1/nothing-here", requestId: expect.any(String) },
      });
      expect(res.headers.get("x-request-id")).toBe(body.error.requestId);
    });

    it("for malformed JSON", async () => {
      const res = await operator.request("POST", "/api/v1/tenants", '{"name": "東京', {
        "content-type": "application/json",
      });
      expect(res.status).toBe(400);
      expect((await res.json()).error).toMatchObject({
        code: "VALIDATION",
        message: expect.stringMatching(/malformed json/i),
      });
    });

    it("for an unknown field, naming it", async () => {
      const res = await operator.post("/api/v1/tenants", { name: "東京", budget: 5 });
      expect(res.status).toBe(400);
      const { error } = await res.json();
      expect(error.code).toBe("VALIDATION");
      expect(error.fields).toEqual([{ path: "budget", message: "unknown field" }]);
      expect(error.message).toContain("budget");
    });

    it("for a wrong type, naming the field", async () => {
      const res = await operator.post("/api/v1/tenants", { name: 42 });
      expect(res.status).toBe(400);
      const { error } = await res.json();
      expect(error.fields).toEqual([{ path: "name", message: expect.stringContaining("string") }]);
    });

    it("for a missing body", async () => {
      const res = await operator.request("POST", "/api/v1/tenants");
      expect(res.status).toBe(400);
      expect((await res.json()).error.fields[0].path).toBe("name");
    });

    it("for a body over the limit, writing nothing", async () => {
      const res = await operator.post("/api/v1/tenants", { name: "x".repeat(5000) });
      expect(res.status).toBe(413);
      expect((await res.json()).error.code).toBe("PAYLOAD_TOO_LARGE");
      const tenants = await (await operator.get("/api/v1/tenants")).json();
      expect(tenants.items).toEqual([]);
    });

    it("for a bad query parameter", async () => {
      const res = await operator.get("/api/v1/audit-events?limit=zero");
      expect(res.status).toBe(400);
      expect((await res.json()).error.fields[0].path).toBe("limit");
    });

    it("for a cross-site form post", async () => {
      const res = await operator.request("POST", "/api/v1/tenants", "name=x", {
        "content-type": "application/x-www-form-urlencoded",
        origin: "https://evil.example",
      });
      expect(res.status).toBe(403);
      expect((await res.json()).error.code).toBe("FORBIDDEN");
    });
  });

  it("gives every kind of response the security headers and its request id", async () => {
    const security = {
      "x-content-type-options": "nosniff",
      "x-frame-options": "DENY",
      "referrer-policy": "same-origin",
      "cross-origin-opener-policy": "same-origin",
      "cross-origin-resource-policy": "same-origin",
      "origin-agent-cluster": "?1",
      "x-dns-prefetch-control": "off",
      "x-permitted-cross-domain-policies": "none",
    };
    const anonymous = t.anonymous();
    const answers = {
      "JSON read": await operator.get("/api/v1/me"),
      "unknown route": await operator.get("/api/v1/nothing-here"),
      "sign-in refused by better-auth": await anonymous.post("/api/auth/sign-in/email", {
        email: "root@office.example",
        password: "not-the-password",
      }),
      page: await operator.get("/"),
      "page redirect": await anonymous.get("/contracts"),
      "docs page": await anonymous.get("/api/v1/docs"),
      metrics: await anonymous.get("/metrics"),
      stylesheet: await anonymous.get("/assets/azusa.css"),
    };
    for (const [what, res] of Object.entries(answers)) {
      const seen = Object.fromEntries(Object.keys(security).map((name) => [name, res.headers.get(name)]));
      expect({ what, ...seen }).toEqual({ what, ...security });
      expect(res.headers.get("x-request-id"), what).toMatch(/^[\w.:-]+$/);
      // One of each: a header given twice would reach the browser as a list.
      expect(res.headers.get("x-frame-options"), what).toBe("DENY");
    }
    expect(answers.page.headers.get("content-security-policy")).toContain("default-src");
    const traced = await operator.request("GET", "/api/v1/me", undefined, { "x-request-id": "trace-1594.castle" });
    expect(traced.headers.get("x-request-id")).toBe("trace-1594.castle");
    const refused = await operator.request("GET", "/api/v1/me", undefined, { "x-request-id": "not plain<script>" });
    expect(refused.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("refuses an upgrade to anything but a WebSocket instead of leaving the connection hanging", async () => {
    const port = Number(new URL(t.base).port);
    const answer = await new Promise<string>((resolve, reject) => {
      let got = "";
      const socket = connect({ host: "127.0.0.1", port }, () =>
        socket.write("GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"),
      );
      socket.on("data", (d: Buffer) => {
        got += d.toString();
      });
      socket.on("close", () => resolve(got));
      socket.on("error", reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
  });

  it("answers /healthz", async () => {
    const res = await t.anonymous().get("/healthz");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });

  it("is ready when the database and the Docker engine answer", async () => {
    const res = await t.anonymous().get("/readyz");
    const body = await res.json();
    expect(body.checks).toEqual({ database: { ok: true }, docker: { ok: true } });
    expect(res.status).toBe(200);
  });

  it("counts requests for Prometheus, each scrape adding what came since the last", async () => {
    const scrape = async () => {
      const res = await t.anonymous().get("/metrics");
      expect(res.status).toBe(200);
      return res.text();
    };
    const count = (text: string, route: string, status: number) =>
      Number(
        new RegExp(`azusa_http_requests_total\\{method="GET",route="${route}",status="${status}"\\} (\\d+)`).exec(
          text,
        )?.[1] ?? 0,
      );
    const before = await scrape();
    for (let i = 0; i < 3; i++) await t.anonymous().get("/healthz");
    const after = await scrape();
    expect(count(after, "/healthz", 200)).toBe(count(before, "/healthz", 200) + 3);
    await t.anonymous().get("/healthz");
    expect(count(await scrape(), "/healthz", 200)).toBe(count(before, "/healthz", 200) + 4);
    expect(after).toMatch(/azusa_http_request_duration_seconds_count\{method="GET",route="\/healthz"\} \d+/);
    expect(after).toContain("azusa_http_request_duration_seconds_bucket");
  });

  it("publishes an OpenAPI document of every route", async () => {
    const res = await t.anonymous().get("/api/v1/openapi.json");
    expect(res.status).toBe(200);
    const doc = await res.json();
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(
        [
          "/tenants",
          "/tenants/{id}",
          "/users",
          "/users/{id}/role",
          "/invitations",
          "/invitations/accept",
          "/api-keys",
          "/audit-events",
          "/me",
        ].map((p) => `/api/v1${p}`),
      ),
    );
    expect(doc.components.schemas.Error).toBeDefined();
    expect(doc.paths["/api/v1/tenants"].post.responses["400"]).toBeDefined();
  });

  it("keeps secrets out of the logs", async () => {
    const key = await (async () => {
      const tenant = await t.createTenant("ログ確認");
      const u = await t.createUser("contractor", "logs@tokyo-si.example", tenant.id);
      const c = await t.signIn(u.email);
      return (await (await c.post("/api/v1/api-keys", { name: "k" })).json()).key as string;
    })();
    await t.anonymous().request("GET", "/api/v1/me", undefined, { "x-api-key": key });
    const logs = t.logs.join("");
    expect(logs).toContain('"path":"/api/auth/sign-in/email"');
    expect(logs).not.toContain(PASSWORD);
    expect(logs).not.toContain(key);
    expect(logs).not.toContain(operator.cookie.split("=")[1]?.split(".")[0]);
  });

  it("hides the details of an unexpected failure", async () => {
    const broken = await startTestAzusa();
    try {
      const client = await broken.signIn("root@office.example");
      // A fault inside a service, with the kind of detail a stack carries (a database that does not answer
      // is another matter: 503 UNAVAILABLE, test/faults/postgres-restart.test.ts).
      broken.running.azusa.tenants.list = async () => {
        throw new TypeError("kysely: driver has already been destroyed at src/db/db.ts:42");
      };
      const res = await client.get("/api/v1/tenants");
      expect(res.status).toBe(500);
      const text = await res.text();
      expect(JSON.parse(text)).toEqual({
        error: { code: "INTERNAL", message: "internal error", requestId: expect.any(String) },
      });
      expect(text).not.toMatch(/at .*\.ts|destroyed|kysely/i);
      expect(broken.logs.join("")).toContain("unexpected error");
    } finally {
      await broken.stop().catch(() => {});
    }
  });
});

describe("metrics behind a token", () => {
  it("asks for the token when one is set", async () => {
    const t = await startTestAzusa({ env: { AZUSA_METRICS_TOKEN: "scrape-token-0123456789" } });
    try {
      const anonymous = await t.anonymous().get("/metrics");
      expect(anonymous.status).toBe(401);
      expect((await anonymous.json()).error.code).toBe("UNAUTHENTICATED");
      const scraper = t.anonymous();
      const res = await scraper.request("GET", "/metrics", undefined, {
        authorization: "Bearer scrape-token-0123456789",
      });
      expect(res.status).toBe(200);
    } finally {
      await t.stop();
    }
  });
});

describe("readiness without Docker", () => {
  it("reports the engine as the reason", async () => {
    const t = await startTestAzusa({ env: { DOCKER_HOST: "unix:///nonexistent/docker.sock" } });
    try {
      const res = await t.anonymous().get("/readyz");
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({
        status: "unavailable",
        checks: { database: { ok: true }, docker: { ok: false, error: "unreachable" } },
      });
      expect(t.logs.join("")).toContain("ENOENT");
    } finally {
      await t.stop();
    }
  });
});
