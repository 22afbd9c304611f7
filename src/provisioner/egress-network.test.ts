// Egress networks on the real Docker engine and the real firewall: subnets cut from the pool, bridges
// the fence covers, removal that can be repeated, and rules that are installed once however often asked.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { ensureTestImage } from "../../test/support/images.ts";
import { loadConfig } from "../config.ts";
import { createDockerDriver } from "./docker-driver.ts";
import { createDockerClient } from "./docker-engine.ts";
import { createEgressNetworks, egressInterfacePrefix, inSubnet, installEgressRules } from "./egress-network.ts";

const docker = createDockerClient(loadConfig({ DOCKER_HOST: process.env.DOCKER_HOST }).docker);
/** The instance label these tests give their objects. */
const instance = `egress-test-${randomBytes(3).toString("hex")}`;
const spec = () => ({ id: `egress-${randomBytes(4).toString("hex")}`, tenantId: "t-egress", packageId: "p-egress" });

describe("egress networks", () => {
  const made: { remove(id: string): Promise<void>; id: string }[] = [];
  afterAll(async () => {
    for (const m of made) await m.remove(m.id).catch(() => undefined);
  });

  it("gives each workspace its own subnet from the pool, on a bridge the fence covers", async () => {
    const networks = createEgressNetworks({ docker, instance });
    const [a, b] = [spec(), spec()];
    const [na, nb] = [await networks.create(a), await networks.create(b)];
    made.push({ remove: networks.remove, id: a.id }, { remove: networks.remove, id: b.id });
    expect(na.subnet).not.toBe(nb.subnet);
    for (const n of [na, nb]) {
      expect(inSubnet(n.gateway, n.subnet)).toBe(true);
      expect(inSubnet(n.gateway, "10.213.0.0/16")).toBe(true);
      const info = await docker.getNetwork(n.name).inspect();
      expect(info.Options?.["com.docker.network.bridge.name"]).toMatch(new RegExp(`^${egressInterfacePrefix}`));
      expect(info.Options?.["com.docker.network.bridge.enable_ip_masquerade"]).toBe("false");
      expect(info.Labels).toMatchObject({ "io.azusa.managed": "true", "io.azusa.role": "egress" });
    }
    expect(await networks.find(a.id)).toEqual(na);
    expect(networks.proxyEnv(na)).toMatchObject({
      https_proxy: `http://${na.gateway}:3128`,
      NO_PROXY: expect.any(String),
    });
  });

  it("removes a network, and removing it again resolves", async () => {
    const networks = createEgressNetworks({ docker, instance });
    const s = spec();
    const n = await networks.create(s);
    await networks.remove(s.id);
    await expect(docker.getNetwork(n.name).inspect()).rejects.toMatchObject({ statusCode: 404 });
    await networks.remove(s.id);
    expect(await networks.find(s.id)).toBeUndefined();
  });

  it("takes up the network a crashed provisioning left with nothing attached, and refuses one in use", async () => {
    const networks = createEgressNetworks({ docker, instance });
    const s = spec();
    const first = await networks.create(s);
    made.push({ remove: networks.remove, id: s.id });
    // A new process (its own queue and fence) provisions the same workspace again after a crash.
    const again = await createEgressNetworks({ docker, instance }).create(s);
    expect(again).toEqual(first);
    // Another instance's network of that name is not taken over.
    await expect(createEgressNetworks({ docker, instance: `${instance}-other` }).create(s)).rejects.toMatchObject({
      code: "CONFLICT",
    });
    // Nor one that a container still uses.
    const image = await ensureTestImage(docker);
    const c = await docker.createContainer({
      Image: image,
      Cmd: ["sleep", "30"],
      Labels: { "io.azusa.managed": "true", "io.azusa.instance": instance },
      HostConfig: { NetworkMode: first.name },
    });
    try {
      await c.start();
      await expect(networks.create(s)).rejects.toMatchObject({ code: "CONFLICT" });
    } finally {
      await c.remove({ force: true });
    }
  });

  it("answers UNAVAILABLE once the pool is used up", async () => {
    const networks = createEgressNetworks({ docker, instance, pool: "10.219.7.0/28", prefix: 28 });
    const first = spec();
    await networks.create(first);
    made.push({ remove: networks.remove, id: first.id });
    await expect(networks.create(spec())).rejects.toMatchObject({
      code: "UNAVAILABLE",
      message: "no free egress subnet left in 10.219.7.0/28",
    });
  });

  it("a driver without egress networks refuses a workspace that asks for egress, and leaves nothing", async () => {
    const driver = createDockerDriver({ docker, instance });
    const s = spec();
    const image = await ensureTestImage(docker);
    await expect(
      driver.create({
        ...s,
        image,
        user: "azusa",
        env: {},
        resources: { cpus: 1, memoryMiB: 64, pids: 64 },
        readOnlyRootFs: true,
        workspaceFolder: "/workspace",
        egress: true,
      }),
    ).rejects.toMatchObject({ code: "UNAVAILABLE" });
    expect(await docker.listContainers({ all: true, filters: { label: [`io.azusa.workspace=${s.id}`] } })).toEqual([]);
    const { Volumes } = await docker.listVolumes({ filters: { label: [`io.azusa.workspace=${s.id}`] } });
    expect(Volumes ?? []).toEqual([]);
  });

  it("installs each firewall rule once, however often it is asked", async () => {
    await installEgressRules({ proxyPort: 3128 });
    await installEgressRules({ proxyPort: 3128 });
    const count = (cmd: string, chain: string, rule: string) =>
      execFileSync(cmd, ["-w", "10", "-S", chain])
        .toString()
        .split("\n")
        .filter((line) => line.startsWith(`-A ${chain} ${rule}`)).length;
    expect(count("iptables", "INPUT", "-i azeg+ -j AZUSA-EGRESS-IN")).toBe(1);
    expect(count("iptables", "DOCKER-USER", "-i azeg+ -j REJECT")).toBe(1);
    expect(count("iptables", "DOCKER-USER", "-o azeg+ -j REJECT")).toBe(1);
    expect(count("iptables", "AZUSA-EGRESS-IN", "-d 10.213.0.0/16 -p tcp -m tcp --dport 3128 -j ACCEPT")).toBe(1);
    expect(count("iptables", "AZUSA-EGRESS-IN", "-j REJECT")).toBe(1);
    expect(count("ip6tables", "INPUT", "-i azeg+ -j REJECT")).toBe(1);
    // the accept comes before the refusal
    const chain = execFileSync("iptables", ["-w", "10", "-S", "AZUSA-EGRESS-IN"]).toString();
    expect(chain.indexOf("ACCEPT")).toBeLessThan(chain.indexOf("-j REJECT"));
  });
});
