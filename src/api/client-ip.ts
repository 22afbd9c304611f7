// The address a request came from, read one way by every entry point (sign-in, the browser terminal).
import type { HttpBindings } from "@hono/node-server";

/** The client's address: the socket's peer, or the first X-Forwarded-For hop behind a trusted proxy. */
export function clientIp(
  c: { req: { header(name: string): string | undefined }; env?: Partial<HttpBindings> },
  trustProxy: boolean,
): string {
  if (trustProxy) {
    const forwarded = c.req.header("x-forwarded-for")?.split(",")[0]?.trim();
    if (forwarded) return forwarded;
  }
  return c.env?.incoming?.socket.remoteAddress ?? "unknown";
}
