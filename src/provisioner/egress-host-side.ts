// Egress on a workspace host whose engine is elsewhere (or reached through another socket): this machine's
// firewall cannot fence its bridges, so the workspace's network is internal to that engine (no route out), and
// the proxy's end on that host's side is a small container on that network and on one outgoing network. Azusa
// drives it over the engine's exec API: a listener there takes the workspace's connections to Azusa's proxy
// (egress-proxy.ts, the same allow-list and audit), and each allowed connection leaves from that container.
import type Docker from "dockerode";
import { labelKeys, type WorkspaceSpec, workspaceLabels } from "./driver.ts";
import {
  createEgressNetworks,
  type EgressNetwork,
  type EgressNetworkOptions,
  type EgressNetworks,
  numberToIpv4,
  parseCidr,
} from "./egress-network.ts";

/** The role label of a workspace's proxy container on its host. */
export const egressProxyRole = "egress-proxy";

/** The network every proxy container of this Azusa on an engine reaches destinations through. */
export const outgoingNetwork = "azusa-egress-out";

/** Egress networks on a host elsewhere, each with its proxy container. */
export interface HostSideEgressNetworks extends EgressNetworks {
  /** The name of the workspace's proxy container. */
  proxyContainer(workspaceId: string): string;
}

const statusOf = (err: unknown) => (err as { statusCode?: number }).statusCode;
const messageOf = (err: unknown) =>
  (err as { json?: { message?: string } }).json?.message ?? (err as Error).message ?? String(err);

/**
 * The proxy container's confinement: that of a workspace (no capability, no new privileges, limits), read-only,
 * as nobody, forwarding no packet between its two networks; it runs `sleep` until Azusa runs its listener and relays in it. The engine restarts it after a
 * reboot, so that a workspace started again finds its proxy.
 */
function proxyHostConfig(network: string): Docker.HostConfig {
  const memory = 256 * 1024 * 1024;
  return {
    Init: true,
    CapDrop: ["ALL"],
    SecurityOpt: ["no-new-privileges:true"],
    Privileged: false,
    PidsLimit: 512,
    Memory: memory,
    MemorySwap: memory,
    NanoCpus: 1e9,
    ReadonlyRootfs: true,
    NetworkMode: network,
    // Joined to the workspace's network and the outgoing one, it must never route between them: a new network
    // namespace takes the host's ip_forward (1 wherever Docker runs), so only its own listener and relays carry.
    Sysctls: { "net.ipv4.ip_forward": "0" },
    RestartPolicy: { Name: "unless-stopped" },
  };
}

/**
 * Egress networks for an engine elsewhere: `Internal` bridges cut from `pool` as on the default host, the second
 * address of each kept for the workspace's proxy container (what `gateway` names here: the workspace's proxy
 * variables and resolver point there). The container joins the outgoing network too, made once per engine.
 */
export function createHostSideEgressNetworks(
  options: Omit<EgressNetworkOptions, "firewall" | "internal"> & { docker: Docker },
): HostSideEgressNetworks {
  const { docker, instance } = options;
  const inner = createEgressNetworks({ ...options, internal: true });
  const proxyContainer = (workspaceId: string) => `azusa-egress-proxy-${workspaceId}`;
  const proxyAddress = (n: EgressNetwork) => numberToIpv4(parseCidr(n.subnet).base + 2);
  const asSeen = (n: EgressNetwork): EgressNetwork => ({ ...n, gateway: proxyAddress(n) });

  async function outgoing(): Promise<string> {
    try {
      await docker.getNetwork(outgoingNetwork).inspect();
      return outgoingNetwork;
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
    }
    try {
      await docker.createNetwork({
        Name: outgoingNetwork,
        Driver: "bridge",
        CheckDuplicate: true,
        Labels: { [labelKeys.managed]: "true", "io.azusa.role": "egress-out" },
        // proxies of different workspaces do not reach each other
        Options: { "com.docker.network.bridge.enable_icc": "false" },
      });
    } catch (err) {
      // another process made it meanwhile
      if (statusOf(err) !== 409 && !/already exists/i.test(messageOf(err))) throw err;
    }
    return outgoingNetwork;
  }

  async function removeProxy(workspaceId: string): Promise<void> {
    try {
      await docker.getContainer(proxyContainer(workspaceId)).remove({ force: true });
    } catch (err) {
      const status = statusOf(err);
      if (status !== 404 && status !== 409) {
        throw new Error(`Docker engine: removing the egress proxy failed: ${messageOf(err)}`, { cause: err });
      }
    }
  }

  async function startProxy(
    spec: Pick<WorkspaceSpec, "id" | "tenantId" | "packageId"> & { image?: string },
    network: EgressNetwork,
  ): Promise<void> {
    if (!spec.image) throw new Error("an egress proxy on a workspace host needs the workspace's image");
    const container = await docker.createContainer({
      name: proxyContainer(spec.id),
      Image: spec.image,
      User: "65534:65534",
      Entrypoint: ["sleep"],
      Cmd: ["infinity"],
      Labels: { ...workspaceLabels(spec, instance), "io.azusa.role": egressProxyRole },
      HostConfig: proxyHostConfig(network.name),
      NetworkingConfig: { EndpointsConfig: { [network.name]: { IPAMConfig: { IPv4Address: proxyAddress(network) } } } },
    });
    await docker.getNetwork(await outgoing()).connect({ Container: container.id });
    await container.start();
  }

  return {
    ...inner,
    proxyContainer,
    async create(spec) {
      const network = await inner.create(spec);
      try {
        await startProxy(spec, network);
      } catch (err) {
        await removeProxy(spec.id).catch(() => undefined);
        await inner.remove(spec.id).catch(() => undefined);
        throw new Error(`Docker engine: starting the egress proxy failed: ${messageOf(err)}`, { cause: err });
      }
      return asSeen(network);
    },
    async remove(workspaceId) {
      await removeProxy(workspaceId);
      await inner.remove(workspaceId);
    },
    async find(workspaceId) {
      const network = await inner.find(workspaceId);
      return network && asSeen(network);
    },
    proxyEnv: (network) => inner.proxyEnv(network),
  };
}
