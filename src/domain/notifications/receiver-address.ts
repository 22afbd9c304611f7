// Where a tenant's webhooks may point: public addresses only, so that a webhook cannot make Azusa
// reach its own host, the office network or a cloud metadata service (SSRF). Loopback is opt-in.
import { lookup } from "node:dns/promises";
import { BlockList, isIP } from "node:net";
import { invalidField } from "../errors.ts";

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
    throw invalidField("url", "is not a URL");
  }
  if (url.username || url.password)
    throw invalidField("url", "must not carry credentials; the signature authenticates");
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const local = isLocalName(host) || (isIP(host) !== 0 && loopback.check(host, isIP(host) === 4 ? "ipv4" : "ipv6"));
  if (local && !policy.allowLoopback) throw invalidField("url", "must not point at this machine");
  if (url.protocol !== "https:" && !(url.protocol === "http:" && local)) {
    throw invalidField("url", "must be https:// (plain http only to this machine)");
  }
  if (isIP(host) !== 0) {
    const why = refusedAddress(host, policy);
    if (why) throw invalidField("url", `must point at a public address: ${why}`);
  }
  return url.toString();
}

/**
 * Resolves the receiver's host just before a send and refuses it when any address it resolves to is
 * internal (a public name may be pointed at a private address after the webhook was saved).
 */
export async function refusedReceiver(url: string, policy: ReceiverPolicy): Promise<string | null> {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, "");
  if (isLocalName(host)) return policy.allowLoopback ? null : `${host} is this machine`;
  const addresses = isIP(host) !== 0 ? [host] : (await lookup(host, { all: true })).map((a) => a.address);
  for (const a of addresses) {
    const why = refusedAddress(a, policy);
    if (why) return `refused: ${host} resolves to an address no webhook may reach (${why})`;
  }
  return null;
}
