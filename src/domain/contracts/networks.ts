// Source networks a contract allows sessions from: CIDR blocks, IPv4 or IPv6, checked with node's BlockList.
import { BlockList, isIP } from "node:net";

/** Parses "192.0.2.0/24" or "2001:db8::/32" (a bare address is a single host); null when malformed. */
export function parseCidr(text: string): { address: string; prefix: number; family: "ipv4" | "ipv6" } | null {
  const [address = "", prefixText, extra] = text.trim().split("/");
  if (extra !== undefined) return null;
  const version = isIP(address);
  if (version === 0) return null;
  const max = version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!/^\d{1,3}$/.test(prefixText ?? String(max)) || prefix > max) return null;
  return { address, prefix, family: version === 4 ? "ipv4" : "ipv6" };
}

/**
 * True when `address` lies in one of `cidrs`; an empty list allows every address. An IPv4 address
 * seen as IPv6 (::ffff:192.0.2.1, as dual-stack sockets report it) is checked as IPv4.
 */
export function inNetworks(address: string, cidrs: readonly string[]): boolean {
  if (cidrs.length === 0) return true;
  const list = new BlockList();
  for (const cidr of cidrs) {
    const parsed = parseCidr(cidr);
    if (parsed) list.addSubnet(parsed.address, parsed.prefix, parsed.family);
  }
  const plain = address.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, "$1");
  const family = isIP(plain) === 6 ? "ipv6" : "ipv4";
  return isIP(plain) !== 0 && list.check(plain, family);
}
