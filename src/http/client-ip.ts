// The address a request came from, read one way by every entry point (sign-in, the browser terminal, the IDE).
import type { IncomingMessage } from "node:http";
import type { HttpBindings } from "@hono/node-server";

/**
 * The client's address: the socket's peer, or behind a trusted proxy the address that proxy saw, the last
 * X-Forwarded-For hop (the hops before it are whatever the client sent, and anyone can send one).
 */
export function clientIp(
  c: { req: { header(name: string): string | undefined }; env?: Partial<HttpBindings> },
  trustProxy: boolean,
): string {
  return addressOf(c.req.header("x-forwarded-for"), c.env?.incoming?.socket.remoteAddress, trustProxy);
}

/** The same for a request node's HTTP server hands over as it is (the IDE listener's). */
export function requestIp(req: IncomingMessage, trustProxy: boolean): string {
  const forwarded = req.headers["x-forwarded-for"];
  return addressOf(Array.isArray(forwarded) ? forwarded.join(",") : forwarded, req.socket.remoteAddress, trustProxy);
}

function addressOf(forwardedFor: string | undefined, peer: string | undefined, trustProxy: boolean): string {
  const forwarded = trustProxy ? forwardedFor?.split(",").at(-1)?.trim() : undefined;
  return forwarded || peer || "unknown";
}
