// The egress allow-list on a workspace host other than the default one: a second, real dockerd over mutual TLS
// in a network namespace of its own. A workspace placed there whose template names one of two servers on a
// machine beyond that host reaches that one through its proxy, whose end is a container on that engine (so the
// traffic leaves from that host, not from Azusa's machine), and nothing else: not the other, not that host's own
// services, even allow-listed; every connection is audited.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { say, text } from "../src/kernel/messages.ts";
import { inSubnet } from "../src/provisioner/egress-network.ts";
import { runIn } from "./support/docker.ts";
import { farTemplates, registerFarHost } from "./support/far-host.ts";
import { type Client, startTestAzusa, type TestAzusa } from "./support/harness.ts";
import { type NetnsServer, serveInNetns } from "./support/netns-server.ts";
import { secondEngineForTests } from "./support/second-engine.ts";
import { prepareWorkspaces, type WorkspaceSetup } from "./support/workspace-setup.ts";

const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });

/**
 * A network namespace reached from the second engine's namespace through a veth pair, that namespace forwarding
 * to it: a machine beyond that host, as a client's registry is. Its address and namespace, and its removal.
 */
function machineBeyondTheHost(hostNs: string) {
  const tag = randomBytes(3).toString("hex");
  const ns = `aztb-${tag}`;
  const [hostSide, nsSide] = [`aztf${tag}`, `aztb${tag}`];
  const [c, d] = [randomBytes(1)[0] ?? 0, (randomBytes(1)[0] ?? 0) & 0xfc];
  const hostAddress = `198.18.${c}.${d + 1}`;
  const address = `198.18.${c}.${d + 2}`;
  sh("ip", ["netns", "add", ns]);
  sh("ip", ["link", "add", hostSide, "type", "veth", "peer", "name", nsSide]);
  sh("ip", ["link", "set", hostSide, "netns", hostNs]);
  sh("ip", ["link", "set", nsSide, "netns", ns]);
  sh("ip", ["-n", hostNs, "addr", "add", `${hostAddress}/30`, "dev", hostSide]);
  sh("ip", ["-n", hostNs, "link", "set", hostSide, "up"]);
  sh("nsenter", [`--net=/run/netns/${hostNs}`, "sysctl", "-qw", "net.ipv4.ip_forward=1"]);
  sh("ip", ["-n", ns, "addr", "add", `${address}/30`, "dev", nsSide]);
  sh("ip", ["-n", ns, "link", "set", nsSide, "up"]);
  sh("ip", ["-n", ns, "link", "set", "lo", "up"]);
  sh("ip", ["-n", ns, "route", "add", "default", "via", hostAddress]);
  return {
    ns,
    address,
    remove() {
      sh("ip", ["netns", "del", ns]);
    },
  };
}

const engine = secondEngineForTests();

type Server = NetnsServer;

describe("egress on a workspace host over TLS", () => {
  let t: TestAzusa;
  let operator: Client;
  let setup: WorkspaceSetup;
  let templatesDir: string;
  let tenantId: string;
  const servers: Server[] = [];
  let beyond: ReturnType<typeof machineBeyondTheHost>;
  let allowed: Server;
  let other: Server;
  /** A service of that host itself, on its own address: never reached, even allow-listed. */
  let onTheHost: Server;
  let ws: { id: string; containerId: string; hostId: string };

  /** An HTTP server in network namespace `ns`. */
  async function serveIn(ns: string, name: string): Promise<Server> {
    const server = await serveInNetns(ns, name);
    servers.push(server);
    return server;
  }

  /** host:port of a server beyond that host. */
  const at = (s: Server) => `${beyond.address}:${s.port}`;
  /** host:port of the service of that host itself, on its address. */
  const onHostAt = () => `${engine().host}:${onTheHost.port}`;

  /** Runs a bash script in the workspace on the second engine; its output and exit code. */
  const run = (script: string) => runIn(engine().docker, ws.containerId, ["bash", "-c", script]);

  /** A plain HTTP request through the workspace's proxy (HTTP_PROXY), by bash alone. */
  const throughProxy = (destination: string) =>
    run(
      [
        // biome-ignore lint/suspicious/noTemplateCurlyInString: bash's own expansions
        'p="${HTTP_PROXY#http://}"; exec 3<>"/dev/tcp/${p%:*}/${p##*:}" || exit 9',
        `printf 'GET http://${destination}/ HTTP/1.0\\r\\n\\r\\n' >&3`,
        "cat <&3",
      ].join("\n"),
    );

  const egressEvents = async () => {
    await t.running.azusa.egress.settled();
    const audit = await (await operator.get("/api/v1/audit-events?limit=100")).json();
    return (audit.items as { action: string; subject: string; details: Record<string, unknown> }[]).filter(
      (e) => e.action === "workspace.egress" && e.subject === `workspace:${ws.id}`,
    );
  };

  beforeAll(async () => {
    beyond = machineBeyondTheHost(engine().netns);
    allowed = await serveIn(beyond.ns, "the allowed server");
    other = await serveIn(beyond.ns, "the other server");
    onTheHost = await serveIn(engine().netns, "that host");
    templatesDir = farTemplates({
      network: {
        allow: [
          at(allowed),
          // that host's own address, which a template may not know for one
          onHostAt(),
          // ip6-localhost: a name every container's own hosts file gives the loopback address
          { host: "ip6-localhost", port: allowed.port, privateNetwork: true },
        ],
      },
    });
    t = await startTestAzusa({ env: { AZUSA_TEMPLATES_DIR: templatesDir, AZUSA_SCHEDULES: "off" } });
    operator = await t.signIn("root@office.example");
    setup = await prepareWorkspaces(t.base, operator, "-egress-hosts");
    tenantId = (await (await setup.contractor.get("/api/v1/me")).json()).tenantId;
    const hostId = await registerFarHost(operator, engine());
    const id = setup.pkg["2.3"]?.id;
    expect((await setup.lead.request("PATCH", `/api/v1/packages/${id}`, { template: "far" })).status).toBe(200);
    const first = await setup.accept("2.3");
    await t.running.azusa.workspaces.settled(first.id);
    const settled = await (await setup.sato.get(`/api/v1/packages/${id}/workspace`)).json();
    expect(settled, JSON.stringify(settled)).toMatchObject({ state: "running", hostId });
    const [container] = await engine().docker.listContainers({
      filters: { label: [`io.azusa.workspace=${first.id}`, "io.azusa.role=workspace"] },
    });
    expect(container).toBeDefined();
    ws = { id: first.id, containerId: container?.Id ?? "", hostId };
  }, 240_000);

  afterAll(async () => {
    await t?.stop();
    for (const server of servers) server.close();
    const docker = engine().docker;
    const label = [`io.azusa.tenant=${tenantId}`];
    for (const c of await docker.listContainers({ all: true, filters: { label } }).catch(() => [])) {
      await docker
        .getContainer(c.Id)
        .remove({ force: true, v: true })
        .catch(() => undefined);
    }
    for (const n of await docker.listNetworks({ filters: { label } }).catch(() => [])) {
      await docker
        .getNetwork(n.Id)
        .remove()
        .catch(() => undefined);
    }
    beyond?.remove();
    rmSync(templatesDir, { recursive: true, force: true });
  });

  it("runs the workspace's proxy end as a container on that engine, on the workspace's internal network, routing nothing", async () => {
    const [proxy] = await engine().docker.listContainers({
      filters: { label: [`io.azusa.workspace=${ws.id}`, "io.azusa.role=egress-proxy"] },
    });
    expect(proxy?.State).toBe("running");
    const info = await engine().docker.getContainer(ws.containerId).inspect();
    const network = await engine()
      .docker.getNetwork(info.HostConfig.NetworkMode ?? "")
      .inspect();
    expect(network.Internal).toBe(true);
    expect(Object.keys(proxy?.NetworkSettings.Networks ?? {}).sort()).toEqual(
      [info.HostConfig.NetworkMode, "azusa-egress-out"].sort(),
    );
    // On both networks, it routes nothing between them: the workspace reaches its listener and nothing through it.
    const forwarding = await runIn(engine().docker, proxy?.Id ?? "", ["cat", "/proc/sys/net/ipv4/ip_forward"]);
    expect(forwarding.out.trim(), forwarding.err).toBe("0");
  });

  it("reaches the allowed server beyond that host through the proxy, from that host's side, and audits it", async () => {
    const res = await throughProxy(at(allowed));
    expect(res.out, res.err).toContain("hello from the allowed server");
    // The connection came from the proxy container on that host (its address on `azusa-egress-out`), not from
    // Azusa's machine.
    const out = await engine().docker.getNetwork("azusa-egress-out").inspect();
    const subnet = out.IPAM?.Config?.[0]?.Subnet ?? "";
    expect(allowed.peers.length).toBeGreaterThan(0);
    for (const peer of allowed.peers) expect(inSubnet(peer, subnet), `${peer} in ${subnet}`).toBe(true);
    const events = await egressEvents();
    expect(events.map((e) => e.details)).toContainEqual(
      expect.objectContaining({ destination: at(allowed), method: "GET", outcome: "allowed" }),
    );
  });

  it("refuses the other server, and audits the refusal", async () => {
    const res = await throughProxy(at(other));
    expect(res.out).toContain("403 Forbidden");
    expect(res.out).not.toContain("hello from");
    expect(other.peers).toEqual([]);
    const events = await egressEvents();
    expect(events.map((e) => e.details)).toContainEqual(
      expect.objectContaining({
        destination: at(other),
        outcome: "refused",
        reason: "not in the workspace template's allow-list",
      }),
    );
  });

  it("refuses allowed destinations that lead to that host itself, resolved there, as a name not allowed, and audits them", async () => {
    for (const [destination, address, why] of [
      [`ip6-localhost:${allowed.port}`, "::1", "a loopback address"],
      [onHostAt(), engine().host, "an address of the workspace's host"],
    ] as const) {
      const res = await throughProxy(destination);
      const notAllowed = text("egress.notAllowed", { destination });
      expect(res.out, res.err).toMatch(/^HTTP\/1\.1 403 Forbidden\r\n/);
      expect(res.out.split("\r\n\r\n")[1]).toBe(
        `azusa egress: ${say("ja", notAllowed)}\nazusa egress: ${say("en", notAllowed)}\n`,
      );
      const events = await egressEvents();
      expect(events.find((e) => e.details.destination === destination)?.details).toMatchObject({
        method: "GET",
        outcome: "refused",
        reason: `${destination} resolves to ${address}, ${why}, which a workspace may never reach`,
        bytesSent: 0,
      });
    }
    expect(onTheHost.peers).toEqual([]);
  });

  it("reaches neither that host's service nor the allowed server directly, around the proxy", async () => {
    const info = await engine().docker.getContainer(ws.containerId).inspect();
    const network = await engine()
      .docker.getNetwork(info.HostConfig.NetworkMode ?? "")
      .inspect();
    const gateway = network.IPAM?.Config?.[0]?.Gateway ?? "";
    expect(gateway).not.toBe("");
    for (const [address, port] of [
      [engine().host, onTheHost.port],
      [gateway, onTheHost.port],
      [beyond.address, allowed.port],
    ] as const) {
      const res = await run(`timeout 5 bash -c 'exec 3<>/dev/tcp/${address}/${port}' && echo connected`);
      expect(res.out, address).not.toContain("connected");
      expect(res.code).not.toBe(0);
    }
  });
});
