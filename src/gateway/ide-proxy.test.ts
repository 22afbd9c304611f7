// The IDE proxy's header rules, its response-head reader and its in-process socket pair; the IDE origins'
// tickets and addresses. The proxy itself is tested end to end in test/web-ide-app.test.ts.
import { describe, expect, it } from "vitest";
import { createSealer } from "../auth/sealed.ts";
import { cookieName, downstreamHeaders, foreignCookies, readHead, streamPair, upstreamHeaders } from "./ide-http.ts";
import { createIdeTokens, ideAddresses } from "./ide-origin.ts";

describe("the IDE proxy", () => {
  it("keeps the IDE's cookies and drops Azusa's", () => {
    expect(
      foreignCookies(
        "better-auth.session_token=abc; theme=dark; __Secure-better-auth.session_data=x; azusa_ide=t; vscode-tkn=1",
      ),
    ).toBe("theme=dark; vscode-tkn=1");
    expect(foreignCookies("better-auth.session_token=abc")).toBeNull();
    expect(foreignCookies(undefined)).toBeNull();
  });

  it("sends the IDE no hop-by-hop header, no Azusa credential, and says where the request came from", () => {
    const out = upstreamHeaders(
      {
        host: "p1.ide.azusa.example",
        connection: "keep-alive, x-secret-hop",
        "x-secret-hop": "1",
        "keep-alive": "timeout=5",
        "x-api-key": "azk_123",
        authorization: "Bearer azk_456",
        "x-forwarded-for": "10.9.9.9",
        cookie: "azusa_ide=abc; theme=dark",
        accept: "text/html",
      },
      { client: "192.0.2.7", proto: "https", upgrade: false },
    );
    expect(out).toEqual({
      host: "p1.ide.azusa.example",
      accept: "text/html",
      cookie: "theme=dark",
      "x-forwarded-for": "192.0.2.7",
      "x-forwarded-proto": "https",
      "x-forwarded-host": "p1.ide.azusa.example",
    });
    const upgrade = upstreamHeaders(
      { host: "h", connection: "Upgrade", upgrade: "websocket", "sec-websocket-key": "k" },
      { client: "c", proto: "http", upgrade: true },
    );
    expect(upgrade).toMatchObject({ connection: "Upgrade", upgrade: "websocket", "sec-websocket-key": "k" });
  });

  it("answers with the IDE's headers but no cookie of Azusa's names and nothing reaching the whole origin", () => {
    const out = downstreamHeaders({
      "content-type": "text/html",
      "transfer-encoding": "chunked",
      location: "/login",
      "service-worker-allowed": "/",
      "clear-site-data": '"cookies"',
      "set-cookie": ["azusa_ide=forged; Path=/", "better-auth.session_token=x", "code-server-session=1; Path=/"],
    });
    expect(out.get("location")).toBe("/login");
    expect(out.getSetCookie()).toEqual(["code-server-session=1; Path=/"]);
    expect(out.has("transfer-encoding")).toBe(false);
    expect(out.has("service-worker-allowed")).toBe(false);
    expect(out.has("clear-site-data")).toBe(false);
  });

  it("reads cookie names as browsers do: spaces and tabs around the name do not hide Azusa's", () => {
    const forged = [
      "azusa_ide =forged; Path=/",
      "\tazusa_ide=forged",
      " azusa_ide\t = forged; Path=/",
      "better-auth.session_token =x",
      "__Secure-better-auth.session_token=x; Secure",
      "__Host-better-auth.session_token=x; Secure; Path=/",
      "__SECURE-better-auth.session_data=x; Secure",
      "azusa_ide; Path=/",
    ];
    const out = downstreamHeaders({ "set-cookie": [...forged, "azusa_ide_theme=dark", "ide =1"] });
    expect(out.getSetCookie()).toEqual(["azusa_ide_theme=dark", "ide =1"]);
    expect(foreignCookies("azusa_ide =t; theme=dark;\tbetter-auth.session_token = s; azusa_ide")).toBe("theme=dark");
    expect(cookieName(" azusa_ide\t= x; Path=/")).toBe("azusa_ide");
    expect(cookieName("lonely")).toBe("lonely");
  });

  it("reads a response head off a raw connection, with what came after it in the same read", async () => {
    const [a, b] = streamPair();
    a.write(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\nframe",
    );
    const head = await readHead(b, 1024);
    expect(head).toEqual({
      status: 101,
      reason: "Switching Protocols",
      headers: { upgrade: "websocket", "set-cookie": ["a=1", "b=2"] },
      rest: Buffer.from("frame"),
    });
    // What comes later stays in the stream for whoever reads next.
    a.write("more");
    const later = await new Promise<string>((resolve) => {
      b.once("data", (d: Buffer) => resolve(d.toString()));
      b.resume();
    });
    expect(later).toBe("more");
    const [c, d] = streamPair();
    c.end("SSH-2.0-not-http\r\n\r\n");
    expect(await readHead(d, 1024)).toBeNull();
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

describe("the IDE origins", () => {
  it("names each package's origin and reads the package back from a Host header", () => {
    const at = ideAddresses("https://{package}.ide.azusa.example");
    expect(at.origin("3f2a")).toBe("https://3f2a.ide.azusa.example");
    expect(at.packageOf("3F2A.ide.azusa.example")).toBe("3f2a");
    expect(at.packageOf("3f2a.ide.azusa.example:443")).toBe("3f2a");
    expect(at.packageOf("x.y.ide.azusa.example")).toBeNull();
    expect(at.packageOf("ide.azusa.example")).toBeNull();
    expect(at.packageOf("3f2a.ide.azusa.example.evil.example")).toBeNull();
    const local = ideAddresses("http://{package}.ide.localhost:8081");
    expect(local.packageOf("p1.ide.localhost:8081")).toBe("p1");
    expect(local.packageOf("p1.ide.localhost:8082")).toBeNull();
  });

  it("opens a ticket only for its package, within its minute, and never as a cookie", () => {
    const tokens = createIdeTokens(createSealer("a-secret-of-azusa-with-enough-entropy"));
    const now = Date.parse("2026-11-26T01:00:00Z");
    const ticket = tokens.ticket("better-auth.session_token=s", "e1", "p1", now);
    expect(tokens.openTicket("p1", ticket, now + 59_000)).toMatchObject({ engineerId: "e1", packageId: "p1" });
    expect(tokens.openTicket("p1", ticket, now + 61_000)).toBeNull();
    expect(tokens.openTicket("p2", ticket, now)).toBeNull();
    expect(tokens.openCookie("p1", ticket, now)).toBeNull();
    expect(createIdeTokens(createSealer("another-secret-of-azusa-entirely")).openTicket("p1", ticket, now)).toBeNull();
    // Anything but a sealed value is refused, though the sealer passes plain text through.
    const plain = JSON.stringify({ signIn: "x", engineerId: "e1", packageId: "p1", expires: now + 60_000 });
    expect(tokens.openTicket("p1", plain, now)).toBeNull();
    const cookie = tokens.cookie({ signIn: "better-auth.session_token=s", engineerId: "e1", packageId: "p1" }, now);
    expect(tokens.openCookie("p1", cookie, now + 3_600_000)?.signIn).toBe("better-auth.session_token=s");
    expect(tokens.openCookie("p2", cookie, now)).toBeNull();
  });
});
