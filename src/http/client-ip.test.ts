// The client's address behind a proxy is the one the proxy saw, whatever the client wrote into X-Forwarded-For.
import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import { clientIp, requestIp } from "./client-ip.ts";

const ctx = (forwarded: string | undefined, peer = "10.0.0.2") => ({
  req: { header: (name: string) => (name === "x-forwarded-for" ? forwarded : undefined) },
  env: { incoming: { socket: { remoteAddress: peer } } } as never,
});

describe("the client address", () => {
  it("is the socket's peer unless the proxy is trusted", () => {
    expect(clientIp(ctx("198.51.100.9"), false)).toBe("10.0.0.2");
    expect(clientIp(ctx(undefined), true)).toBe("10.0.0.2");
  });

  it("behind a trusted proxy is the hop the proxy added, not one the client sent", () => {
    expect(clientIp(ctx("198.51.100.9"), true)).toBe("198.51.100.9");
    expect(clientIp(ctx("127.0.0.1, 198.51.100.9"), true)).toBe("198.51.100.9");
    expect(clientIp(ctx("203.0.113.1,198.51.100.9 "), true)).toBe("198.51.100.9");
  });

  it("is read the same way from a node request (the IDE listener)", () => {
    const req = (forwarded: string | string[]) =>
      ({
        headers: { "x-forwarded-for": forwarded },
        socket: { remoteAddress: "10.0.0.2" },
      }) as unknown as IncomingMessage;
    expect(requestIp(req("127.0.0.1, 198.51.100.9"), true)).toBe("198.51.100.9");
    expect(requestIp(req(["127.0.0.1", "198.51.100.9"]), true)).toBe("198.51.100.9");
    expect(requestIp(req("127.0.0.1, 198.51.100.9"), false)).toBe("10.0.0.2");
  });
});
