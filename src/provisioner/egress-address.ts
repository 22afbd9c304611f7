// Which addresses the egress proxy may dial, whatever name led there: checked on the address a name resolved to,
// the one then connected to, so that a name allowed by a template cannot lead a workspace to its own host.
import { readFileSync } from "node:fs";
import { BlockList, isIP } from "node:net";
import { networkInterfaces } from "node:os";
import { inSubnet } from "./egress-network.ts";

/** Addresses on the machine itself or its links, never dialled: loopback, link-local, unspecified, multicast. */
const nearby: [string, number, "ipv4" | "ipv6", string][] = [
  ["0.0.0.0", 8, "ipv4", "an unspecified address"], // "this network": 0.0.0.0 reaches the machine's own services
  ["127.0.0.0", 8, "ipv4", "a loopback address"],
  ["169.254.0.0", 16, "ipv4", "a link-local address"], // cloud metadata at 169.254.169.254
  ["224.0.0.0", 4, "ipv4", "a multicast address"],
  ["240.0.0.0", 4, "ipv4", "a reserved or broadcast address"],
  ["::", 128, "ipv6", "an unspecified address"],
  ["::1", 128, "ipv6", "a loopback address"],
  ["fe80::", 10, "ipv6", "a link-local address"],
  ["ff00::", 8, "ipv6", "a multicast address"],
];

/** Private ranges: dialled only for an allow-list entry marked `privateNetwork`. */
const privateRanges: [string, number, "ipv4" | "ipv6"][] = [
  ["10.0.0.0", 8, "ipv4"],
  ["172.16.0.0", 12, "ipv4"],
  ["192.168.0.0", 16, "ipv4"],
  ["100.64.0.0", 10, "ipv4"], // shared address space, where some clouds keep their metadata service too
  ["fc00::", 7, "ipv6"],
];

const lists = nearby.map(([base, length, family, what]) => {
  const list = new BlockList();
  list.addSubnet(base, length, family);
  return { list, family, what };
});
const privateList = new BlockList();
for (const [base, length, family] of privateRanges) privateList.addSubnet(base, length, family);

/**
 * An address as compared: lower case, no zone, an IPv4-mapped IPv6 address as the IPv4 address it is, however
 * written (`::ffff:169.254.169.254`, `::ffff:a9fe:a9fe`, `0:0:0:0:0:ffff:a9fe:a9fe` all reach 169.254.169.254).
 */
export function plainAddress(address: string): string {
  const bare = address.toLowerCase().replace(/%.*$/, "");
  if (isIP(bare) !== 6) return bare;
  // the URL parser writes an IPv6 address one way, an IPv4-mapped one as ::ffff: and two hexadecimal groups
  const canonical = new URL(`http://[${bare}]/`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
  if (!mapped) return bare;
  const [high, low] = [Number.parseInt(mapped[1] ?? "", 16), Number.parseInt(mapped[2] ?? "", 16)];
  return [high >> 8, high & 255, low >> 8, low & 255].join(".");
}

/** Whether `address` lies in a private range (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7). */
export function isPrivateAddress(address: string): boolean {
  const plain = plainAddress(address);
  const family = isIP(plain);
  return family !== 0 && privateList.check(plain, family === 4 ? "ipv4" : "ipv6");
}

/** Addresses looked up in as a set is. */
export interface AddressSet {
  has(address: string): boolean;
}

/** Addresses of every interface as the kernel knows them, down or up (node lists only those up): Linux's files. */
function kernelAddresses(): { v4: string[]; v6: string[] } {
  const read = (file: string) => {
    try {
      return readFileSync(file, "utf8");
    } catch {
      return "";
    }
  };
  // the local table's "/32 host LOCAL" entries, each under the line naming it
  const trie = read("/proc/net/fib_trie").split("\n");
  const v4 = trie.flatMap((line, i) =>
    /\/32 host LOCAL/.test(line) ? (/\|-- (\d+\.\d+\.\d+\.\d+)/.exec(trie[i - 1] ?? "")?.slice(1, 2) ?? []) : [],
  );
  const v6 = read("/proc/net/if_inet6")
    .split("\n")
    .flatMap((line) => (/^[0-9a-f]{32}\b/.test(line) ? [line.slice(0, 32).replace(/(.{4})(?!$)/g, "$1:")] : []));
  return { v4, v6 };
}

/** This machine's addresses on every interface, down or up. */
export function machineAddressList(): string[] {
  const { v4, v6 } = kernelAddresses();
  const up = Object.values(networkInterfaces()).flatMap((l) => (l ?? []).map((a) => plainAddress(a.address)));
  return [...new Set([...v4, ...v6, ...up])];
}

const OWN_TTL_MS = 1000;
let ownCache: { at: number; set: AddressSet } | undefined;

/**
 * This machine's addresses on every interface, its bridges' gateways among them, even those of a bridge that is
 * down (Docker's `docker0` with no container on it still answers on its address). Read again once a second.
 */
export function machineAddresses(): AddressSet {
  const now = Date.now();
  if (ownCache && now - ownCache.at < OWN_TTL_MS) return ownCache.set;
  const list = new BlockList();
  for (const address of machineAddressList()) {
    const family = isIP(address);
    if (family !== 0) list.addAddress(address, family === 4 ? "ipv4" : "ipv6");
  }
  const set: AddressSet = {
    has: (address) => {
      const plain = plainAddress(address);
      const family = isIP(plain);
      return family !== 0 && list.check(plain, family === 4 ? "ipv4" : "ipv6");
    },
  };
  ownCache = { at: now, set };
  return set;
}

/** What the proxy's address rules are checked against. */
export interface AddressRules {
  /** The workspace networks' range (IPv4 CIDR). */
  pool: string;
  /** The addresses of the host the traffic leaves from. */
  own: AddressSet;
  /** Whether the allow-list entry that let the name through allows private addresses. */
  privateAllowed: boolean;
}

/**
 * Why the proxy may not dial `address`, as its audit event says it, or undefined when it may: an address of a
 * workspace network, of the host itself (any interface, a bridge's gateway included), a loopback, link-local,
 * unspecified or multicast address, or a private one unless the entry allows it.
 */
export function addressRefusal(address: string, { pool, own, privateAllowed }: AddressRules): string | undefined {
  const plain = plainAddress(address);
  const family = isIP(plain);
  if (family === 0) return `${address} is not an address`;
  if (family === 4 && inSubnet(plain, pool)) return `resolves to ${plain}, an address of a workspace network`;
  const kind = family === 4 ? "ipv4" : "ipv6";
  const near = lists.find((l) => l.family === kind && l.list.check(plain, kind));
  if (near) return `resolves to ${plain}, ${near.what}, which a workspace may never reach`;
  if (own.has(plain))
    return `resolves to ${plain}, an address of the workspace's host, which a workspace may never reach`;
  if (!privateAllowed && privateList.check(plain, kind)) {
    return `resolves to ${plain}, a private address, which its allow-list entry does not allow (privateNetwork)`;
  }
  return undefined;
}
