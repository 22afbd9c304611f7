// Gives every request its id and every response the security headers, at the cost of a few property
// writes: headers set on Node's response are merged into whatever the handler returns.
import { randomUUID } from "node:crypto";
import type { Context } from "hono";
import type { AppEnv } from "./router.ts";

const securityHeaders: [string, string][] = [
  ["x-content-type-options", "nosniff"],
  ["x-frame-options", "DENY"],
  ["referrer-policy", "same-origin"],
  ["cross-origin-opener-policy", "same-origin"],
  ["cross-origin-resource-policy", "same-origin"],
  ["origin-agent-cluster", "?1"],
  ["x-dns-prefetch-control", "off"],
  ["x-permitted-cross-domain-policies", "none"],
];

/** A request id from the caller is kept when it is short and plain, so that traces join up. */
const plainId = /^[\w.:-]{1,128}$/;

/**
 * Sets `requestId`, echoes it as `x-request-id`, and adds the security headers (HSTS when served over https):
 * a plain call rather than a middleware, so that app.ts's one middleware for every request makes it.
 */
export function requestStamp({ https }: { https: boolean }): (c: Context<AppEnv>) => void {
  const headers: [string, string][] = https
    ? [...securityHeaders, ["strict-transport-security", "max-age=31536000; includeSubDomains"]]
    : securityHeaders;
  return (c) => {
    const given = c.req.header("x-request-id");
    const id = given && plainId.test(given) ? given : randomUUID();
    c.set("requestId", id);
    const outgoing = c.env?.outgoing;
    if (outgoing) {
      // Node merges these into writeHead's headers, so they reach every response, however it was built.
      for (const [name, value] of headers) outgoing.setHeader(name, value);
      outgoing.setHeader("x-request-id", id);
    } else {
      for (const [name, value] of headers) c.header(name, value);
      c.header("x-request-id", id);
    }
  };
}
