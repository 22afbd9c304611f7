// The egress allow-list on a workspace host other than the default one: a second, real dockerd over mutual TLS
// in a network namespace of its own. A workspace placed there whose template names one of two servers running
// on that host reaches that one through its proxy, whose end is a container on that engine (so the traffic
// leaves from that host, not from Azusa's machine), and nothing else; every connection is audited.
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { say, text } from "../src/kernel/messages.ts";
import { runIn } from "./support/docker.ts";
import { farTemplates, registerFarHost } from "./support/far-host.ts";
import { type Client, startTestAzusa, type TestAzusa } from "./support/harness.ts";
import { type NetnsServer, serveInNetns } from "./support/netns-server.ts";
import { secondEngineForTests } from "./support/second-engine.ts";
import { prepareWorkspaces, type WorkspaceSetup } from "./support/workspace-setup.ts";

const engine = secondEngineForTests();

type Server = NetnsServer;

describe("egress on a workspace host over TLS", () => {
  let t: TestAzusa;
  let operator: Client;
  let setup: WorkspaceSetup;
  let templatesDir: string;
  let tenantId: string;
  const servers: Server[] = [];
  let allowed: Server;
  let other: Server;
  let ws: { id: string; containerId: string; hostId: string };

  /** An HTTP server in the second engine's network namespace: a service on that host. */
  async function serveOnTheHost(name: string): Promise<Server> {
    const server = await serveInNetns(engine().netns, name);
    servers.push(server);
    return server;
  }

  const at = (s: Server) => `${engine().host}:${s.port}`;

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
    allowed = await serveOnTheHost("the allowed server");
    other = await serveOnTheHost("the other server");
    templatesDir = farTemplates({
      network: {
        // ip6-localhost: a name every container's own hosts file gives the loopback address
        allow: [at(allowed), { host: "ip6-localhost", port: allowed.port, privateNetwork: true }],
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

  it("reaches the allowed server on that host through the proxy, from that host's side, and audits it", async () => {
    const res = await throughProxy(at(allowed));
    expect(res.out, res.err).toContain("hello from the allowed server");
    // The connection came from the proxy container on that host, not from Azusa's machine across the link.
    const linkAddress = engine().host.replace(/\d+$/, (n) => String(Number(n) - 1));
    expect(allowed.peers.length).toBeGreaterThan(0);
    expect(allowed.peers).not.toContain(linkAddress);
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

  it("refuses an allowed name that leads to that host's loopback, resolved there, as a name not allowed, and audits it", async () => {
    const destination = `ip6-localhost:${allowed.port}`;
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
      reason: `${destination} resolves to ::1, a loopback address, which a workspace may never reach`,
      bytesSent: 0,
    });
  });

  it("does not reach the allowed server directly, around the proxy, by the host's address or the bridge's", async () => {
    const info = await engine().docker.getContainer(ws.containerId).inspect();
    const network = await engine()
      .docker.getNetwork(info.HostConfig.NetworkMode ?? "")
      .inspect();
    const gateway = network.IPAM?.Config?.[0]?.Gateway ?? "";
    expect(gateway).not.toBe("");
    for (const address of [engine().host, gateway]) {
      const res = await run(`timeout 5 bash -c 'exec 3<>/dev/tcp/${address}/${allowed.port}' && echo connected`);
      expect(res.out, address).not.toContain("connected");
      expect(res.code).not.toBe(0);
    }
  });
});
