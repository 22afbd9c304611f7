// Where a tenant's webhooks may point: public addresses only, so that a webhook cannot make Azusa
// reach its own host, the office network or a cloud metadata service (SSRF). Loopback is opt-in.
import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions, type LookupOneOptions } from "node:dns";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { BlockList, isIP } from "node:net";
import { invalidField } from "../../kernel/errors.ts";
import { text } from "../../kernel/messages.ts";

const loopback = new BlockList();
loopback.addSubnet("127.0.0.0", 8, "ipv4");
loopback.addAddress("::1", "ipv6");

/** Addresses no webhook may reach: private, shared, link-local (metadata), unique-local, reserved. */
const internal = new BlockList();
for (const [net, bits] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
] as const) {
  internal.addSubnet(net, bits, "ipv4");
}
for (const [net, bits] of [
  ["::", 128],
  ["64:ff9b::", 96],
  ["fc00::", 7],
  ["fe80::", 10],
  ["ff00::", 8],
] as const) {
  internal.addSubnet(net, bits, "ipv6");
}

/** What a receiver address may be. */
export interface ReceiverPolicy {
  /** Allow 127.0.0.0/8, ::1 and `localhost` (a relay on this machine, tests); off in production. */
  allowLoopback: boolean;
}

/** Why `ip` may not receive webhooks, or null when it may. */
export function refusedAddress(ip: string, policy: ReceiverPolicy): string | null {
  let family = isIP(ip);
  if (family === 0) return `${ip} is not an IP address`;
  let address = ip;
  // An IPv4-mapped IPv6 address (::ffff:10.0.0.1) is judged as the IPv4 address it carries.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped?.[1]) {
    address = mapped[1];
    family = 4;
  }
  const type = family === 4 ? "ipv4" : "ipv6";
  if (loopback.check(address, type)) return policy.allowLoopback ? null : `${ip} is a loopback address`;
  if (internal.check(address, type)) return `${ip} is a private, link-local or reserved address`;
  return null;
}

const isLocalName = (host: string) => host === "localhost" || host.endsWith(".localhost");

/** The receiver URL, checked: https to a public host, or plain http to loopback when loopback is allowed. */
export function checkReceiverUrl(raw: string, policy: ReceiverPolicy): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalidField("url", text("webhooks.notUrl"));
  }
  if (url.username || url.password) throw invalidField("url", text("webhooks.credentials"));
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const local = isLocalName(host) || (isIP(host) !== 0 && loopback.check(host, isIP(host) === 4 ? "ipv4" : "ipv6"));
  if (local && !policy.allowLoopback) throw invalidField("url", text("webhooks.local"));
  if (url.protocol !== "https:" && !(url.protocol === "http:" && local)) {
    throw invalidField("url", text("webhooks.https"));
  }
  if (isIP(host) !== 0) {
    const why = refusedAddress(host, policy);
    if (why) throw invalidField("url", text("webhooks.public", { why }));
  }
  return url.toString();
}

/** Refuses, before a send, a receiver named by an address literal or a local name that the policy forbids. */
export function refusedReceiver(url: string, policy: ReceiverPolicy): string | null {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, "");
  if (isLocalName(host)) return policy.allowLoopback ? null : `${host} is this machine`;
  return isIP(host) !== 0 ? refusedAddress(host, policy) : null;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for sockets that refuses internal addresses where the connection is made: checking a
 * name before a send and connecting later would let the name point elsewhere in between (DNS rebinding).
 */
export function guardedLookup(policy: ReceiverPolicy) {
  return (hostname: string, options: LookupAllOptions | LookupOneOptions | number, callback: LookupCallback) => {
    const opts = typeof options === "number" ? { family: options } : options;
    dnsLookup(hostname, { ...opts, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      for (const a of addresses) {
        const why = refusedAddress(a.address, policy);
        if (why)
          return callback(
            Object.assign(new Error(`refused: ${hostname} resolves to ${why}`), { code: "EREFUSED" }),
            [],
          );
      }
      const first = addresses[0];
      if (!first) return callback(Object.assign(new Error(`${hostname} has no address`), { code: "ENOTFOUND" }), []);
      if ("all" in opts && opts.all) return callback(null, addresses);
      return callback(null, first.address, first.family);
    });
  };
}

/**
 * POSTs `body` to a receiver over node:http(s) with `guardedLookup`; redirects are not followed.
 * Resolves to the status code; rejects on a refused address, a network error or the timeout.
 */
export function postToReceiver(
  url: string,
  headers: Record<string, string>,
  body: string,
  { policy, timeoutMs }: { policy: ReceiverPolicy; timeoutMs: number },
): Promise<number> {
  const refused = refusedReceiver(url, policy);
  if (refused) return Promise.reject(new Error(`refused: ${refused}`));
  const target = new URL(url);
  const request = target.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      target,
      {
        method: "POST",
        headers: { ...headers, "content-length": String(Buffer.byteLength(body)) },
        lookup: guardedLookup(policy) as never,
        signal: AbortSignal.timeout(timeoutMs),
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}
