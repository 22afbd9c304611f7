// The IDE proxy's header rules and its in-process socket pair; the proxy itself is tested end to end in
// test/web-ide-app.test.ts against a real workspace.
import { describe, expect, it } from "vitest";
import { downstreamHeaders, foreignCookies, ideAppTarget, streamPair, upstreamHeaders } from "./ide-proxy.ts";

describe("the IDE proxy", () => {
  it("finds the package and the IDE's own path in a proxy path, and nothing in others", () => {
    expect(ideAppTarget("/my-packages/p1/ide/app/static/main.js")).toEqual({
      packageId: "p1",
      rest: "/static/main.js",
    });
    expect(ideAppTarget("/my-packages/p1/ide/app")).toEqual({ packageId: "p1", rest: "" });
    expect(ideAppTarget("/my-packages/p1/ide")).toBeNull();
    expect(ideAppTarget("/my-packages/p1/ide/application")).toBeNull();
    expect(ideAppTarget("/api/v1/my-packages/p1/ide/app/")).toBeNull();
  });

  it("keeps the IDE's cookies and drops Azusa's", () => {
    expect(
      foreignCookies("better-auth.session_token=abc; theme=dark; __Secure-better-auth.session_data=x; vscode-tkn=1"),
    ).toBe("theme=dark; vscode-tkn=1");
    expect(foreignCookies("better-auth.session_token=abc")).toBeNull();
    expect(foreignCookies(undefined)).toBeNull();
  });

  it("sends the IDE no hop-by-hop header, no Azusa credential, and says where the request came from", () => {
    const out = upstreamHeaders(
      {
        host: "azusa.example",
        connection: "keep-alive, x-secret-hop",
        "x-secret-hop": "1",
        "keep-alive": "timeout=5",
        "x-api-key": "azk_123",
        authorization: "Bearer azk_456",
        "x-forwarded-for": "10.9.9.9",
        cookie: "better-auth.session_token=abc; theme=dark",
        accept: "text/html",
      },
      { prefix: "/my-packages/p1/ide/app", client: "192.0.2.7", proto: "https", upgrade: false },
    );
    expect(out).toEqual({
      host: "azusa.example",
      accept: "text/html",
      cookie: "theme=dark",
      "x-forwarded-for": "192.0.2.7",
      "x-forwarded-proto": "https",
      "x-forwarded-host": "azusa.example",
      "x-forwarded-prefix": "/my-packages/p1/ide/app",
    });
    const upgrade = upstreamHeaders(
      { host: "h", connection: "Upgrade", upgrade: "websocket", "sec-websocket-key": "k" },
      { prefix: "/p", client: "c", proto: "http", upgrade: true },
    );
    expect(upgrade).toMatchObject({ connection: "Upgrade", upgrade: "websocket", "sec-websocket-key": "k" });
  });

  it("answers with the IDE's headers, its redirects under the prefix and no cookie of Azusa's name", () => {
    const out = downstreamHeaders(
      {
        "content-type": "text/html",
        "transfer-encoding": "chunked",
        location: "/login",
        "service-worker-allowed": "/",
        "clear-site-data": '"cookies"',
        "set-cookie": ["better-auth.session_token=forged; Path=/", "code-server-session=1; Path=/"],
      },
      "/my-packages/p1/ide/app",
    );
    expect(out.get("location")).toBe("/my-packages/p1/ide/app/login");
    expect(out.getSetCookie()).toEqual(["code-server-session=1; Path=/"]);
    expect(out.has("transfer-encoding")).toBe(false);
    expect(out.has("service-worker-allowed")).toBe(false);
    expect(out.has("clear-site-data")).toBe(false);
    expect(out.get("x-frame-options")).toBe("SAMEORIGIN");
    expect(downstreamHeaders({ location: "//elsewhere.example/x" }, "/p").get("location")).toBe(
      "//elsewhere.example/x",
    );
    expect(downstreamHeaders({ location: "login" }, "/p").get("location")).toBe("login");
  });

  it("pairs two streams: bytes cross with backpressure, ends and destruction reach the other side", async () => {
    const [a, b] = streamPair();
    const big = Buffer.alloc(1 << 20, 7);
    // Nobody reads b yet: a's writes are held back once b's buffer is full.
    let accepted = 0;
    while (a.write(big.subarray(0, 64 * 1024))) accepted++;
    expect(accepted).toBeLessThan(16);
    const chunks: Buffer[] = [];
    b.on("data", (d: Buffer) => chunks.push(d));
    const ended = new Promise<void>((resolve) => b.once("end", () => resolve()));
    a.end();
    await ended;
    expect(Buffer.concat(chunks).length).toBe((accepted + 1) * 64 * 1024);
    const closed = new Promise<void>((resolve) => a.once("close", () => resolve()));
    b.destroy();
    await closed;
    expect(a.destroyed).toBe(true);
  });
});
