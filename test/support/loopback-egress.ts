// Loopback in the place of a workspace's bridge, for the egress audit test and bench: the proxy listens on
// 127.0.0.1 and serves 127.0.0.0/8, with no fence, so neither needs root, iptables or a container.
import type { EgressNetworks } from "../../src/provisioner/egress-network.ts";

export const loopbackNetworks: EgressNetworks = {
  proxyPort: 0,
  pool: "10.213.0.0/16",
  fence: async () => undefined,
  create: async () => ({ name: "loopback", gateway: "127.0.0.1", subnet: "127.0.0.0/8" }),
  remove: async () => undefined,
  find: async () => ({ name: "loopback", gateway: "127.0.0.1", subnet: "127.0.0.0/8" }),
  proxyEnv: () => ({}),
};
