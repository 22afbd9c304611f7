// The egress proxy on loopback: what it forwards, what it tunnels, what it refuses, and what it reports.
import { createServer as createHttpServer, type IncomingHttpHeaders } from "node:http";
import { type AddressInfo, connect, createServer, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addressRefusal } from "./egress-address.ts";
import { inSubnet, parseCidr } from "./egress-network.ts";
import { type EgressConnection, type EgressProxy, listenEgressProxy } from "./egress-proxy.ts";

/** Sends `text`, half-closes, and collects everything until the proxy closes. */
function ask(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = "";
    const socket = connect({ host: "127.0.0.1", port }, () => socket.end(text));
    socket.on("data", (d: Buffer) => {
      got += d.toString("latin1");
    });
    socket.on("error", reject);
    socket.on("close", () => resolve(got));
  });
}

/** An answer read byte for byte (as `ask` keeps it), as the UTF-8 text it is. */
const utf8 = (answer: string) => Buffer.from(answer, "latin1").toString("utf8");

/** Opens `n` tunnels to `to` through the proxy and holds them open (their request sent, nothing closed). */
function holdTunnels(port: number, to: number, n: number): Promise<Socket[]> {
  return Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<Socket>((resolve) => {
          const s = connect({ host: "127.0.0.1", port }, () => s.write(`CONNECT 127.0.0.1:${to} HTTP/1.1\r\n\r\n`));
          s.once("data", () => resolve(s));
        }),
    ),
  );
}

describe("the egress proxy", () => {
  let origin: { port: number; seen: { url: string; headers: IncomingHttpHeaders }[]; close(): Promise<void> };
  let closedPort: number;
  let proxy: EgressProxy;
  const events: EgressConnection[] = [];

  beforeAll(async () => {
    const seen: { url: string; headers: IncomingHttpHeaders }[] = [];
    const server = createHttpServer((req, res) => {
      seen.push({ url: req.url ?? "", headers: req.headers });
      res.end("from the origin\n");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    origin = {
      port: (server.address() as AddressInfo).port,
      seen,
      close: () => new Promise((resolve) => server.close(() => resolve())),
    };
    // a port that was free a moment ago and is closed now: connecting to it is refused
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    closedPort = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    proxy = await listenEgressProxy({
      workspaceId: "ws-1",
      host: "127.0.0.1",
      port: 0,
      subnet: "127.0.0.0/8",
      allowed: (host, port) => host === "127.0.0.1" && (port === origin.port || port === closedPort),
      onConnection: (e) => events.push(e),
    });
  });

  afterAll(async () => {
    await proxy?.close();
    await origin?.close();
  });

  /** A proxy on loopback that lets everything through. */
  const openProxy = (workspaceId: string) => ({
    workspaceId,
    host: "127.0.0.1",
    port: 0,
    subnet: "127.0.0.0/8",
    allowed: () => true,
  });

  const last = async () => {
    await proxy.idle();
    return events.at(-1);
  };

  it("forwards a plain HTTP request to an allowed destination in origin form, one request per connection", async () => {
    const res = await ask(
      proxy.port,
      `GET http://127.0.0.1:${origin.port}/a?b=1 HTTP/1.1\r\nHost: 127.0.0.1:${origin.port}\r\nProxy-Connection: keep-alive\r\n\r\n`,
    );
    expect(res).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(res).toContain("from the origin");
    expect(origin.seen.at(-1)?.url).toBe("/a?b=1");
    expect(origin.seen.at(-1)?.headers).toMatchObject({ host: `127.0.0.1:${origin.port}`, connection: "close" });
    expect(origin.seen.at(-1)?.headers["proxy-connection"]).toBeUndefined();
    expect(await last()).toMatchObject({
      workspaceId: "ws-1",
      destination: `127.0.0.1:${origin.port}`,
      method: "GET",
      outcome: "allowed",
      source: "127.0.0.1",
    });
  });

  it("tunnels CONNECT and counts the bytes each way", async () => {
    const res = await ask(proxy.port, `CONNECT 127.0.0.1:${origin.port} HTTP/1.1\r\n\r\nGET /t HTTP/1.0\r\n\r\n`);
    expect(res).toMatch(/^HTTP\/1\.1 200 Connection Established\r\n\r\nHTTP\/1\.1 200 OK/);
    const event = await last();
    expect(event).toMatchObject({ method: "CONNECT", outcome: "allowed", bytesSent: "GET /t HTTP/1.0\r\n\r\n".length });
    expect(event?.bytesReceived).toBe(res.length - "HTTP/1.1 200 Connection Established\r\n\r\n".length);
  });

  it("refuses a destination outside the allow-list with 403 and never connects", async () => {
    const before = origin.seen.length;
    const res = await ask(proxy.port, `CONNECT 127.0.0.1:${origin.port + 1} HTTP/1.1\r\n\r\n`);
    expect(res).toMatch(/^HTTP\/1\.1 403 Forbidden/);
    // Said to a tool in the workspace in Japanese, then in English, a line each.
    expect(utf8(res)).toContain(
      `\r\n\r\nazusa egress: 127.0.0.1:${origin.port + 1} はこのワークスペースの接続許可リストにありません\n` +
        `azusa egress: 127.0.0.1:${origin.port + 1} is not in this workspace's allow-list\n`,
    );
    expect(origin.seen.length).toBe(before);
    expect(await last()).toMatchObject({ outcome: "refused", bytesSent: 0, bytesReceived: 0 });
  });

  it("matches names exactly: the same server under another name is refused", async () => {
    const res = await ask(proxy.port, `GET http://localhost:${origin.port}/ HTTP/1.1\r\n\r\n`);
    expect(res).toMatch(/^HTTP\/1\.1 403 Forbidden/);
  });

  it("answers 400 to what is not a proxy request, and only forwards http://", async () => {
    expect(await ask(proxy.port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")).toMatch(/^HTTP\/1\.1 400 Bad Request/);
    expect(await ask(proxy.port, "hello\r\n\r\n")).toMatch(/^HTTP\/1\.1 400 Bad Request/);
    const ftp = await ask(proxy.port, `GET ftp://127.0.0.1:${origin.port}/ HTTP/1.1\r\n\r\n`);
    expect(utf8(ftp)).toContain("azusa egress: 転送するのは http:// だけです");
    expect(ftp).toContain("azusa egress: only http:// is forwarded");
    expect(await last()).toMatchObject({ outcome: "refused" });
  });

  it("answers 502 when an allowed destination does not answer, reported as failed", async () => {
    const res = await ask(proxy.port, `CONNECT 127.0.0.1:${closedPort} HTTP/1.1\r\n\r\n`);
    expect(res).toMatch(/^HTTP\/1\.1 502 Bad Gateway/);
    expect(await last()).toMatchObject({ outcome: "failed", reason: "cannot connect: ECONNREFUSED" });
  });

  it("never connects to a forbidden address, named or resolved, and says so as for a name not allowed", async () => {
    const guarded = await listenEgressProxy({
      workspaceId: "ws-3",
      host: "127.0.0.1",
      port: 0,
      subnet: "127.0.0.0/8",
      allowed: () => true,
      forbidden: (address) => (address === "127.0.0.1" || address === "::1" ? "resolves to this machine" : undefined),
      onConnection: (e) => events.push(e),
    });
    const before = origin.seen.length;
    for (const host of ["127.0.0.1", "localhost"]) {
      const res = await ask(guarded.port, `GET http://${host}:${origin.port}/ HTTP/1.1\r\n\r\n`);
      await guarded.idle();
      expect(utf8(res)).toMatch(
        new RegExp(
          `^HTTP/1\\.1 403 Forbidden\r\n[^]*\r\n\r\nazusa egress: ${host}:${origin.port} はこのワークスペースの接続許可リストにありません\n` +
            `azusa egress: ${host}:${origin.port} is not in this workspace's allow-list\n$`,
        ),
      );
      expect(events.at(-1)).toMatchObject({
        workspaceId: "ws-3",
        outcome: "refused",
        reason: `${host}:${origin.port} resolves to this machine`,
        bytesSent: 0,
      });
    }
    await guarded.close();
    expect(origin.seen.length).toBe(before);
  });

  it("resolves a name once and dials the very address it checked, whatever the name resolves to next", async () => {
    const asked: string[] = [];
    // the name leads to the origin when checked, and would lead to a forbidden address after that (a rebinding)
    const rebinding = await listenEgressProxy({
      workspaceId: "ws-5",
      host: "127.0.0.1",
      port: 0,
      subnet: "127.0.0.0/8",
      allowed: () => true,
      forbidden: (address) => (address === "127.0.0.2" ? "resolves to a forbidden address" : undefined),
      lookup: (hostname, callback) => {
        asked.push(hostname);
        callback(null, [{ address: asked.length === 1 ? "127.0.0.1" : "127.0.0.2", family: 4 }]);
      },
      onConnection: (e) => events.push(e),
    });
    const res = await ask(rebinding.port, `GET http://registry.test:${origin.port}/once HTTP/1.1\r\n\r\n`);
    await rebinding.idle();
    expect(res).toContain("from the origin");
    expect(asked).toEqual(["registry.test"]);
    expect(events.at(-1)).toMatchObject({ workspaceId: "ws-5", outcome: "allowed" });
    await rebinding.close();
  });

  it("answers 503 to a connection beyond the workspace's limit, and serves again once one ends", async () => {
    const limited = await listenEgressProxy({
      workspaceId: "ws-4",
      host: "127.0.0.1",
      port: 0,
      subnet: "127.0.0.0/8",
      allowed: () => true,
      maxConnections: 2,
      onConnection: (e) => events.push(e),
    });
    // Two tunnels held open (their request sent, nothing closed) fill the limit.
    const held = await holdTunnels(limited.port, origin.port, 2);
    const third = await ask(limited.port, `CONNECT 127.0.0.1:${origin.port} HTTP/1.1\r\n\r\n`);
    expect(third).toMatch(/^HTTP\/1\.1 503 Service Unavailable/);
    expect(third).toContain("too many connections at once (at most 2)");
    for (const s of held) s.destroy();
    await limited.idle();
    const again = await ask(limited.port, `CONNECT 127.0.0.1:${origin.port} HTTP/1.1\r\n\r\nGET / HTTP/1.0\r\n\r\n`);
    expect(again).toMatch(/^HTTP\/1\.1 200 Connection Established/);
    await limited.close();
  });

  it("lets a refused connection go at once and reports a burst of refusals as a few events with their count", async () => {
    const mine: EgressConnection[] = [];
    const limited = await listenEgressProxy({
      ...openProxy("ws-5"),
      maxConnections: 2,
      // Long enough that a refused socket kept until this timeout would outlive the test.
      headTimeoutMs: 60_000,
      onConnection: (e) => mine.push(e),
    });
    const held = await holdTunnels(limited.port, origin.port, 2);
    // Clients that never close their side: a loop in a workspace that opens and forgets.
    const refused = await Promise.all(
      Array.from(
        { length: 40 },
        () =>
          new Promise<{ socket: Socket; answer: string }>((resolve) => {
            let answer = "";
            const s = connect({ host: "127.0.0.1", port: limited.port, allowHalfOpen: true }, () =>
              s.write(`CONNECT 127.0.0.1:${origin.port} HTTP/1.1\r\n\r\n`),
            );
            s.on("error", () => undefined);
            s.on("data", (d: Buffer) => {
              answer += d.toString("latin1");
            });
            s.once("end", () => resolve({ socket: s, answer }));
          }),
      ),
    );
    for (const { answer } of refused) expect(answer).toMatch(/^HTTP\/1\.1 503 Service Unavailable/);
    // The proxy holds only the two tunnels, though none of the refused clients has closed.
    await expect.poll(() => limited.connections()).toBe(2);
    for (const s of held) s.destroy();
    await limited.idle();
    const refusals = mine.filter((e) => e.reason?.startsWith("too many connections at once"));
    expect(refusals.length).toBeLessThanOrEqual(2);
    expect(refusals.reduce((sum, e) => sum + (e.refusedCount ?? 0), 0)).toBe(40);
    for (const { socket } of refused) socket.destroy();
    await limited.close();
  });

  it("serves only peers from the workspace's own network", async () => {
    const other = await listenEgressProxy({
      workspaceId: "ws-2",
      host: "127.0.0.1",
      port: 0,
      subnet: "10.213.0.16/28",
      allowed: () => true,
      onConnection: (e) => events.push(e),
    });
    const res = await ask(other.port, `CONNECT 127.0.0.1:${origin.port} HTTP/1.1\r\n\r\n`);
    await other.close();
    expect(res).toBe("");
    expect(events.at(-1)).toMatchObject({
      workspaceId: "ws-2",
      outcome: "refused",
      reason: "the connection did not come from this workspace's network",
    });
  });
});

describe("the addresses the proxy never dials", () => {
  const rules = { pool: "10.213.0.0/16", own: new Set(["192.0.2.7", "172.17.0.1"]), privateAllowed: false };

  it("refuses loopback, link-local, unspecified, multicast, the host's own and the workspace networks' addresses", () => {
    for (const [address, why] of [
      ["127.0.0.1", "a loopback address"],
      ["127.9.9.9", "a loopback address"],
      ["::1", "a loopback address"],
      ["::ffff:127.0.0.1", "a loopback address"],
      ["169.254.169.254", "a link-local address"],
      ["fe80::1%eth0", "a link-local address"],
      ["0.0.0.0", "an unspecified address"],
      ["::", "an unspecified address"],
      ["224.0.0.1", "a multicast address"],
      ["ff02::1", "a multicast address"],
      ["255.255.255.255", "a reserved or broadcast address"],
      ["192.0.2.7", "an address of the workspace's host"],
      ["172.17.0.1", "an address of the workspace's host"],
      ["10.213.4.1", "an address of a workspace network"],
      // IPv4-mapped addresses in hexadecimal or spelt out reach the IPv4 address all the same
      ["::ffff:a9fe:a9fe", "a link-local address"],
      ["0:0:0:0:0:FFFF:7F00:0001", "a loopback address"],
      ["::ffff:0:0", "an unspecified address"],
      ["::ffff:e000:1", "a multicast address"],
      ["::ffff:c000:207", "an address of the workspace's host"],
      ["::ffff:ad5:401", "an address of a workspace network"],
    ] as const) {
      expect(addressRefusal(address, rules), address).toContain(why);
      // an entry allowing private addresses changes none of these
      expect(addressRefusal(address, { ...rules, privateAllowed: true }), address).toContain(why);
    }
  });

  it("dials a private address only for an entry that allows it, and a public one always", () => {
    for (const address of [
      "10.1.2.3",
      "172.20.0.5",
      "192.168.1.10",
      "100.100.100.200",
      "fd00:ec2::254",
      "::ffff:a01:203",
    ]) {
      expect(addressRefusal(address, rules), address).toContain("a private address");
      expect(addressRefusal(address, { ...rules, privateAllowed: true }), address).toBeUndefined();
    }
    for (const address of ["198.18.0.2", "203.0.113.9", "2001:db8::1", "172.32.0.1"]) {
      expect(addressRefusal(address, rules), address).toBeUndefined();
    }
  });
});

describe("subnets", () => {
  it("tells addresses inside a subnet from those outside, IPv4-mapped or not", () => {
    expect(inSubnet("10.213.0.18", "10.213.0.16/28")).toBe(true);
    expect(inSubnet("::ffff:10.213.0.30", "10.213.0.16/28")).toBe(true);
    expect(inSubnet("10.213.0.32", "10.213.0.16/28")).toBe(false);
    expect(inSubnet("fe80::1", "10.213.0.16/28")).toBe(false);
  });

  it("refuses what is not an IPv4 network", () => {
    expect(parseCidr("10.213.0.7/16")).toEqual({ base: (10 * 256 + 213) * 65536, length: 16 });
    expect(() => parseCidr("10.213.0.0/33")).toThrow('"10.213.0.0/33" is not an IPv4 network');
    expect(() => parseCidr("fd00::/8")).toThrow("is not an IPv4 network");
  });
});
