// Floating-point noise never reaches an API answer: 139.07999999999998 is sent as 139.08.
import type { MiddlewareHandler } from "hono";

/** A number written with more decimals than any figure Azusa means (hours, yen, scores): arithmetic's noise. */
const NOISE = /\d\.\d{9,}/;

/** Rounds a number to 6 decimals, which every figure Azusa sends fits in, and drops the noise after. */
export const roundFigure = (n: number): number => (Number.isInteger(n) ? n : Number(n.toFixed(6)));

/**
 * Rewrites a JSON answer whose numbers carry floating-point noise, with each non-integer number rounded by
 * roundFigure. Answers without such a number (nearly all) are passed on untouched, unread beyond a clone.
 */
export function roundNoise(): MiddlewareHandler {
  return async (c, next) => {
    await next();
    if (!c.res.headers.get("content-type")?.startsWith("application/json")) return;
    const body = await c.res.clone().text();
    if (!NOISE.test(body)) return;
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch {
      return;
    }
    const rounded = JSON.stringify(value, (_key, v) => (typeof v === "number" ? roundFigure(v) : v));
    const headers = new Headers(c.res.headers);
    headers.delete("content-length");
    c.res = new Response(rounded, { status: c.res.status, headers });
  };
}
