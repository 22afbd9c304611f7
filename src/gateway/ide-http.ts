// HTTP between a browser and a template's IDE, as the IDE proxy passes it on: which headers and cookies
// go each way, a response head read off a raw connection, and an in-memory socket pair for node's HTTP client.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import { Duplex } from "node:stream";

// Headers that belong to one hop, never passed on (RFC 9110 §7.6.1), and Azusa's own credentials,
// which the IDE must never see: the workspace's code runs beside it.
const hopByHop = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);
/** Azusa's own cookie names (better-auth's, prefixed or not, and the IDE origin's entry). */
const azusaCookieName = /^(?:(?:__secure-|__host-)?better-auth\.|azusa_ide$)/i;

/**
 * The name of the cookie a `name=value` pair (of a Cookie or a Set-Cookie header) sets, read as browsers read it
 * (RFC 6265bis, "parse a cookie string"): up to the first `;`, then up to the first `=`, with spaces and tabs around
 * it dropped, so `azusa_ide =x` names `azusa_ide`. A pair without `=` is a cookie without a name: its value is
 * returned, since that is what the browser sends back in the name's place.
 */
export function cookieName(pair: string): string {
  const first = pair.split(";", 1)[0] ?? "";
  const eq = first.indexOf("=");
  return (eq === -1 ? first : first.slice(0, eq)).replace(/^[ \t]+|[ \t]+$/g, "");
}

/** Whether a cookie pair names one of Azusa's own cookies. */
const isAzusaCookie = (pair: string) => azusaCookieName.test(cookieName(pair));
// What an IDE's answer may not do to the rest of Azusa's origin: widen a service worker's scope beyond
// its own path, or wipe the origin's storage and cookies.
const originWide = new Set(["service-worker-allowed", "clear-site-data"]);

/** The cookie header without Azusa's own cookies; null when nothing is left. */
export function foreignCookies(header: string | undefined): string | null {
  if (!header) return null;
  const kept = header
    .split(";")
    .map((c) => c.trim())
    .filter((c) => c && !isAzusaCookie(c));
  return kept.length ? kept.join("; ") : null;
}

/** Headers for the IDE: the browser's, less hop-by-hop ones and Azusa's credentials, plus X-Forwarded-*. */
export function upstreamHeaders(
  headers: IncomingHttpHeaders,
  via: { client: string; proto: string; upgrade: boolean },
): Record<string, string | string[]> {
  const named = new Set(
    String(headers.connection ?? "")
      .split(",")
      .map((h) => h.trim().toLowerCase()),
  );
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || hopByHop.has(name) || named.has(name)) continue;
    if (name === "cookie" || name === "x-api-key" || name.startsWith("x-forwarded-")) continue;
    if (name === "authorization" && String(value).startsWith("Bearer azk_")) continue;
    out[name] = value;
  }
  const cookies = foreignCookies(headers.cookie);
  if (cookies) out.cookie = cookies;
  if (via.upgrade) {
    out.connection = "Upgrade";
    out.upgrade = String(headers.upgrade ?? "websocket");
  }
  out["x-forwarded-for"] = via.client;
  out["x-forwarded-proto"] = via.proto;
  if (headers.host) out["x-forwarded-host"] = headers.host;
  return out;
}

/** The IDE's response headers for the browser: no hop-by-hop ones, nothing aimed at Azusa's own cookies. */
export function downstreamHeaders(headers: IncomingHttpHeaders): Headers {
  const out = new Headers();
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || hopByHop.has(name) || originWide.has(name)) continue;
    for (const v of Array.isArray(value) ? value : [value]) {
      if (name === "set-cookie" && isAzusaCookie(v)) continue;
      out.append(name, v);
    }
  }
  return out;
}

/** `headers` as node's writeHead takes them, each Set-Cookie on its own. */
export function headerPairs(headers: Headers): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  headers.forEach((value, name) => {
    if (name !== "set-cookie") out[name] = value;
  });
  const cookies = headers.getSetCookie();
  if (cookies.length) out["set-cookie"] = cookies;
  return out;
}

/** `headers` as the lines of a response head, each ending in CRLF. */
export function headerLines(headers: Headers): string {
  const lines: string[] = [];
  headers.forEach((value, name) => {
    if (name !== "set-cookie") lines.push(`${name}: ${value}\r\n`);
  });
  for (const c of headers.getSetCookie()) lines.push(`set-cookie: ${c}\r\n`);
  return lines.join("");
}

/** A response head read off a raw connection, and what came after it. */
export interface Head {
  status: number;
  reason: string;
  headers: IncomingHttpHeaders;
  /** Bytes that came after the head in the same read. */
  rest: Buffer;
}

/** Reads one response head from `stream` (at most `max` bytes); null when it ends first or is not HTTP. */
export function readHead(stream: Duplex, max: number): Promise<Head | null> {
  return new Promise((resolve) => {
    let buffered = Buffer.alloc(0);
    const done = (head: Head | null) => {
      stream.off("data", onData);
      stream.off("end", onEnd);
      stream.off("close", onEnd);
      stream.pause();
      resolve(head);
    };
    const onEnd = () => done(null);
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf("\r\n\r\n");
      if (end < 0) {
        if (buffered.length > max) done(null);
        return;
      }
      const [statusLine = "", ...lines] = buffered.subarray(0, end).toString("latin1").split("\r\n");
      const m = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(statusLine);
      if (!m) return done(null);
      const headers: IncomingHttpHeaders = {};
      for (const line of lines) {
        const colon = line.indexOf(":");
        if (colon <= 0) return done(null);
        const name = line.slice(0, colon).trim().toLowerCase();
        const value = line.slice(colon + 1).trim();
        if (name === "set-cookie") headers["set-cookie"] = [...(headers["set-cookie"] ?? []), value];
        else headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
      }
      done({ status: Number(m[1]), reason: m[2] ?? "", headers, rest: buffered.subarray(end + 4) });
    };
    stream.on("data", onData);
    stream.once("end", onEnd);
    stream.once("close", onEnd);
  });
}

/**
 * Two connected streams, like the ends of a socket pair: what one writes the other reads, with
 * backpressure, and destroying one destroys the other. The second end has the methods of a socket
 * that node's HTTP client and agent call.
 */
export function streamPair(): [Duplex, Duplex & { setTimeout(ms: number, cb?: () => void): Duplex }] {
  class End extends Duplex {
    peer!: End;
    waiting: (() => void) | null = null;
    timer: NodeJS.Timeout | null = null;
    override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void) {
      this.timer?.refresh();
      if (this.peer.push(chunk)) done();
      else this.peer.waiting = () => done();
    }
    override _read() {
      this.timer?.refresh();
      const go = this.waiting;
      this.waiting = null;
      go?.();
    }
    override _final(done: (err?: Error | null) => void) {
      this.peer.push(null);
      done();
    }
    override _destroy(err: Error | null, done: (err?: Error | null) => void) {
      if (this.timer) clearTimeout(this.timer);
      if (!this.peer.destroyed) this.peer.destroy();
      done(err);
    }
    setTimeout(ms: number, cb?: () => void) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      if (cb) this.once("timeout", cb);
      if (ms > 0) {
        this.timer = setTimeout(() => this.emit("timeout"), ms);
        this.timer.unref();
      }
      return this;
    }
    setKeepAlive() {
      return this;
    }
    setNoDelay() {
      return this;
    }
    ref() {
      return this;
    }
    unref() {
      return this;
    }
  }
  const a = new End();
  const b = new End();
  a.peer = b;
  b.peer = a;
  return [a, b];
}
