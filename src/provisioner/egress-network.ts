// Egress networks on the Docker engine: a small bridge per workspace whose template names destinations,
// fenced by host firewall rules so that the only thing a workspace reaches is Azusa's proxy on its gateway.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { isIPv4 } from "node:net";
import type Docker from "dockerode";
import { fail } from "../kernel/errors.ts";
import { text } from "../kernel/messages.ts";
import { labelKeys, type WorkspaceSpec, workspaceLabels } from "./driver.ts";

/** Every egress bridge's interface name starts with this, so one set of firewall rules covers them all. */
export const egressInterfacePrefix = "azeg";

/** The role label of an egress network (containers carry `workspace`, `probe` or `prepare`). */
export const egressRole = "egress";

/** The part of dockerode egress networks use. */
export type NetworkApi = Pick<Docker, "createNetwork" | "getNetwork" | "listNetworks">;

/** A workspace's egress network as the driver and the proxy need it. */
export interface EgressNetwork {
  name: string;
  /** The host's address on the bridge: the proxy listens here. */
  gateway: string;
  /** The bridge's IPv4 subnet, e.g. 10.213.0.16/28: only addresses in it may use this gateway's proxy. */
  subnet: string;
}

/** What the Docker driver asks of egress networks; created before the container, removed after it. */
export interface EgressNetworks {
  readonly proxyPort: number;
  /** The range every workspace subnet is cut from. */
  readonly pool: string;
  /** Installs the firewall rules (once per process; again after a failure). `create` does it first. */
  fence(): Promise<void>;
  /** `image`: the workspace's, which a proxy beside an engine elsewhere runs in too. */
  create(spec: Pick<WorkspaceSpec, "id" | "tenantId" | "packageId"> & { image?: string }): Promise<EgressNetwork>;
  /** Idempotent: a missing network resolves. */
  remove(workspaceId: string): Promise<void>;
  /** The workspace's network, or undefined when it has none. */
  find(workspaceId: string): Promise<EgressNetwork | undefined>;
  /** The variables that point a workspace's tools at the proxy. */
  proxyEnv(network: EgressNetwork): Record<string, string>;
}

/** Options of the egress networks. */
export interface EgressNetworkOptions {
  docker: NetworkApi;
  /** The Azusa instance the networks belong to (their `io.azusa.instance` label), as for the driver. */
  instance: string;
  /** Port of the proxy on every gateway; default 3128. */
  proxyPort?: number;
  /** IPv4 range the workspace subnets are cut from; default 10.213.0.0/16. */
  pool?: string;
  /** Prefix length of one workspace's subnet; default 28 (the gateway, the workspace and room to spare). */
  prefix?: number;
  /** Prefix of network names; default `azusa-egress-`. */
  namePrefix?: string;
  /** Runs iptables/ip6tables; the rules are installed before the first network is made. */
  firewall?: FirewallRunner;
  /**
   * Networks the engine itself cuts off (`Internal`: no route out) instead of this machine's firewall, for an
   * engine elsewhere whose proxy runs beside it (egress-host-side.ts); no rules are installed, and the engine
   * hands out only the upper half of each subnet, the second address being kept for that proxy.
   */
  internal?: boolean;
}

/** IPv4 address as an unsigned 32-bit number. */
export function ipv4ToNumber(address: string): number {
  return address.split(".").reduce((n, part) => n * 256 + Number(part), 0);
}

export function numberToIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/** Parses "a.b.c.d/len"; throws naming the value when it is not an IPv4 network. */
export function parseCidr(cidr: string): { base: number; length: number } {
  const [address = "", len = ""] = cidr.split("/");
  const length = Number(len);
  if (!isIPv4(address) || !/^\d{1,2}$/.test(len) || length > 32) throw new Error(`"${cidr}" is not an IPv4 network`);
  const mask = length === 0 ? 0 : (0xffffffff << (32 - length)) >>> 0;
  return { base: (ipv4ToNumber(address) & mask) >>> 0, length };
}

/** Whether `address` (IPv4, or IPv4-mapped IPv6 as sockets report it) lies in `cidr`. */
export function inSubnet(address: string, cidr: string): boolean {
  const v4 = address.startsWith("::ffff:") ? address.slice(7) : address;
  if (!isIPv4(v4)) return false;
  const { base, length } = parseCidr(cidr);
  const mask = length === 0 ? 0 : (0xffffffff << (32 - length)) >>> 0;
  return (ipv4ToNumber(v4) & mask) >>> 0 === base;
}

const statusOf = (err: unknown) => (err as { statusCode?: number }).statusCode;
const messageOf = (err: unknown) =>
  (err as { json?: { message?: string } }).json?.message ?? (err as Error).message ?? String(err);

/** Docker networks for workspaces with an allow-list, each a fresh subnet cut from `pool`. */
export function createEgressNetworks({
  docker,
  instance,
  proxyPort = 3128,
  pool = "10.213.0.0/16",
  prefix = 28,
  namePrefix = "azusa-egress-",
  firewall = runFirewall,
  internal = false,
}: EgressNetworkOptions): EgressNetworks {
  const range = parseCidr(pool);
  if (prefix < range.length || prefix > 29) throw new Error(`egress subnets of /${prefix} do not fit in ${pool}`);
  const slots = 2 ** (prefix - range.length);
  const size = 2 ** (32 - prefix);
  // One allocation at a time in this process; other processes on the same engine are caught by the
  // engine itself, which refuses a subnet that overlaps one it already has.
  let queue: Promise<unknown> = Promise.resolve();
  let fenced: Promise<void> | undefined;
  let fencedAt = 0;

  /**
   * The fence goes up before the first bridge does. It is checked again (cheaply: the rules are looked
   * up, not rewritten) when the last check is over a minute old, in case someone reloaded the firewall;
   * a failure is retried at the next workspace.
   */
  function fence(): Promise<void> {
    if (internal) return Promise.resolve();
    if (fenced && fencedAt > 0 && Date.now() - fencedAt > 60_000) {
      fenced = undefined;
      fencedAt = 0;
    }
    fenced ??= installEgressRules({ proxyPort, pool, run: firewall }).then(
      () => {
        fencedAt = Date.now();
      },
      (err: unknown) => {
        fenced = undefined;
        const message = err instanceof Error ? err.message : String(err);
        throw fail("UNAVAILABLE", text("egress.firewall", { message }));
      },
    );
    return fenced;
  }

  const toNetwork = (info: Docker.NetworkInspectInfo): EgressNetwork | undefined => {
    const config = info.IPAM?.Config?.[0];
    if (!config?.Subnet || !config.Gateway) return undefined;
    return { name: info.Name, gateway: config.Gateway, subnet: config.Subnet };
  };

  /**
   * The network of this workspace that a provisioning stopped by a crash left behind, with nothing attached
   * to it any more (reconcile removed its containers): provisioning again takes it up instead of failing.
   */
  async function leftBehind(name: string, workspaceId: string): Promise<EgressNetwork | undefined> {
    const info = (await docker
      .getNetwork(name)
      .inspect()
      .catch(() => undefined)) as Docker.NetworkInspectInfo | undefined;
    const labels = info?.Labels ?? {};
    if (!info || labels[labelKeys.workspace] !== workspaceId || labels[labelKeys.instance] !== instance)
      return undefined;
    if (labels["io.azusa.role"] !== egressRole || Object.keys(info.Containers ?? {}).length > 0) return undefined;
    return toNetwork(info);
  }

  async function usedSubnets(): Promise<Set<number>> {
    const all = await docker.listNetworks();
    const used = new Set<number>();
    for (const n of all) {
      for (const c of n.IPAM?.Config ?? []) {
        if (!c.Subnet || !isIPv4(c.Subnet.split("/")[0] ?? "")) continue;
        const { base, length } = parseCidr(c.Subnet);
        // every slot this network overlaps is taken
        const end = base + 2 ** (32 - length);
        for (let slot = 0; slot < slots; slot++) {
          const start = range.base + slot * size;
          if (start < end && base < start + size) used.add(slot);
        }
      }
    }
    return used;
  }

  async function allocate(spec: Pick<WorkspaceSpec, "id" | "tenantId" | "packageId">): Promise<EgressNetwork> {
    const name = `${namePrefix}${spec.id}`;
    const bridge = `${egressInterfacePrefix}${createHash("sha256").update(name).digest("hex").slice(0, 11)}`;
    const used = await usedSubnets();
    for (let slot = 0, tries = 0; slot < slots && tries < 32; slot++) {
      if (used.has(slot)) continue;
      tries++;
      const base = range.base + slot * size;
      const subnet = `${numberToIpv4(base)}/${prefix}`;
      const gateway = numberToIpv4(base + 1);
      try {
        await docker.createNetwork({
          Name: name,
          Driver: "bridge",
          CheckDuplicate: true,
          Internal: internal,
          EnableIPv6: false,
          Labels: { ...workspaceLabels(spec, instance), "io.azusa.role": egressRole },
          IPAM: {
            Driver: "default",
            Config: [
              {
                Subnet: subnet,
                Gateway: gateway,
                ...(internal ? { IPRange: `${numberToIpv4(base + size / 2)}/${prefix + 1}` } : {}),
              },
            ],
          },
          Options: {
            "com.docker.network.bridge.name": bridge,
            // Nothing leaves through the bridge anyway (the firewall drops it); these make sure of it twice.
            "com.docker.network.bridge.enable_ip_masquerade": "false",
            "com.docker.network.bridge.enable_icc": "false",
            // An internal bridge gets no address on the host, so the workspace reaches nothing the host listens on.
            ...(internal ? { "com.docker.network.bridge.inhibit_ipv4": "true" } : {}),
          },
        });
        return { name, gateway, subnet };
      } catch (err) {
        const message = messageOf(err);
        if (statusOf(err) === 409 || /already exists/i.test(message)) {
          const left = await leftBehind(name, spec.id);
          if (left) return left;
          throw fail("CONFLICT", text("egress.hasNetwork", { id: spec.id }));
        }
        // another process took this subnet between our listing and our request: try the next one
        if (/overlap/i.test(message)) continue;
        throw new Error(`Docker engine: creating the egress network failed: ${message}`, { cause: err });
      }
    }
    throw fail("UNAVAILABLE", text("egress.noSubnet", { pool }));
  }

  return {
    proxyPort,
    pool,
    fence,
    create(spec) {
      const result = queue.then(async () => {
        await fence();
        return allocate(spec);
      });
      queue = result.catch(() => undefined);
      return result;
    },

    async remove(workspaceId) {
      try {
        await docker.getNetwork(`${namePrefix}${workspaceId}`).remove();
      } catch (err) {
        if (statusOf(err) !== 404) {
          throw new Error(`Docker engine: removing the egress network failed: ${messageOf(err)}`, { cause: err });
        }
      }
    },

    async find(workspaceId) {
      try {
        const info = (await docker.getNetwork(`${namePrefix}${workspaceId}`).inspect()) as Docker.NetworkInspectInfo;
        if (info.Labels?.[labelKeys.workspace] !== workspaceId) return undefined;
        return toNetwork(info);
      } catch (err) {
        if (statusOf(err) === 404) return undefined;
        throw new Error(`Docker engine: reading the egress network failed: ${messageOf(err)}`, { cause: err });
      }
    },

    proxyEnv(network) {
      const proxy = `http://${network.gateway}:${proxyPort}`;
      const none = "localhost,127.0.0.1,::1";
      // Both spellings: curl and wget read the lower-case ones, many others the upper-case.
      return {
        HTTP_PROXY: proxy,
        HTTPS_PROXY: proxy,
        http_proxy: proxy,
        https_proxy: proxy,
        NO_PROXY: none,
        no_proxy: none,
      };
    },
  };
}

/** Runs one firewall command; resolves with its exit code, rejects only when it could not run. */
export type FirewallRunner = (
  command: "iptables" | "ip6tables",
  args: string[],
) => Promise<{ code: number; stderr: string }>;

export const runFirewall: FirewallRunner = (command, args) =>
  new Promise((resolve, reject) => {
    // -w: wait for the xtables lock that dockerd holds while it edits its own rules
    execFile(command, ["-w", "10", ...args], (err, _stdout, stderr) => {
      if (err && typeof err.code !== "number") return reject(err);
      resolve({ code: typeof err?.code === "number" ? err.code : 0, stderr: String(stderr) });
    });
  });

/** The chain that holds what an egress bridge may send to the host itself. */
export const egressInputChain = "AZUSA-EGRESS-IN";

/**
 * Installs, idempotently, the firewall rules every egress bridge relies on, before any of them exists:
 * nothing is forwarded from or to an `azeg*` interface (DOCKER-USER, which the engine evaluates before
 * its own rules), and the host accepts from one only TCP to the proxy port (INPUT); IPv6, which the
 * bridges do not use, is refused outright. Matching on the interface prefix, the rules hold for every
 * workspace at once, so no bridge is ever up without them and none is left behind by a crash.
 */
export async function installEgressRules({
  proxyPort,
  pool = "10.213.0.0/16",
  run = runFirewall,
}: {
  proxyPort: number;
  /** The range the gateways live in (the egress networks' `pool`). */
  pool?: string;
  run?: FirewallRunner;
}): Promise<void> {
  const ifc = `${egressInterfacePrefix}+`;
  const must = async (command: "iptables" | "ip6tables", args: string[]) => {
    const { code, stderr } = await run(command, args);
    if (code !== 0) throw new Error(`${command} ${args.join(" ")} failed: ${stderr.trim()}`);
  };
  /** Adds `rule` to `chain` unless it is there; `first` puts it at the top, otherwise at the end. */
  const ensure = async (command: "iptables" | "ip6tables", chain: string, rule: string[], first: boolean) => {
    if ((await run(command, ["-C", chain, ...rule])).code === 0) return;
    await must(command, first ? ["-I", chain, "1", ...rule] : ["-A", chain, ...rule]);
  };

  // IPv4, traffic to the host: a chain of ours, the proxy port on a gateway first, then everything else refused.
  const created = await run("iptables", ["-N", egressInputChain]);
  if (created.code !== 0 && !/exists/i.test(created.stderr)) {
    throw new Error(`iptables -N ${egressInputChain} failed: ${created.stderr.trim()}`);
  }
  await ensure(
    "iptables",
    egressInputChain,
    ["-d", pool, "-p", "tcp", "--dport", String(proxyPort), "-j", "ACCEPT"],
    true,
  );
  await ensure("iptables", egressInputChain, ["-j", "REJECT"], false);
  await ensure("iptables", "INPUT", ["-i", ifc, "-j", egressInputChain], true);
  // IPv4, traffic through the host: none, either way.
  await ensure("iptables", "DOCKER-USER", ["-i", ifc, "-j", "REJECT"], true);
  await ensure("iptables", "DOCKER-USER", ["-o", ifc, "-j", "REJECT"], true);
  // IPv6: the bridges still get link-local addresses; nothing may use them.
  await ensure("ip6tables", "INPUT", ["-i", ifc, "-j", "REJECT"], true);
  await ensure("ip6tables", "FORWARD", ["-i", ifc, "-j", "REJECT"], true);
  await ensure("ip6tables", "FORWARD", ["-o", ifc, "-j", "REJECT"], true);
}
