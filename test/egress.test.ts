// The egress allow-list on the real Docker engine and the real firewall: a workspace whose template names one
// of two servers of this test, on a machine beyond the host, reaches that one through Azusa's proxy, and
// nothing else, directly or not. (An allow-list may not name this machine itself.)
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { lookup as dnsLookup } from "node:dns";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { type AddressInfo, connect, isIP } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { say, text } from "../src/kernel/messages.ts";
import { runIn } from "./support/docker.ts";
import { sampleContract } from "./support/fixtures.ts";
import { type Client, startTestAzusa, type TestAzusa } from "./support/harness.ts";
import { busyboxPath, ensureTestImage } from "./support/images.ts";
import { type NetnsServer, serveInNetns } from "./support/netns-server.ts";
import { SAMPLE_WBS_ROWS, utf8Csv } from "./support/wbs-files.ts";
import { vetFully } from "./support/workspace-setup.ts";

/** A server the test's HTTP servers report to: its port, and the addresses that connected to it. */
type Destination = { port: number; peers: string[]; close(): void };

/** An HTTP server of the test on every address of this machine, noting who connected. */
async function destination(name: string): Promise<Destination> {
  const peers: string[] = [];
  const server = createServer((_req, res) => res.end(`hello from ${name}\n`));
  server.on("connection", (socket) => peers.push((socket.remoteAddress ?? "").replace(/^::ffff:/, "")));
  await new Promise<void>((resolve) => server.listen(0, "0.0.0.0", resolve));
  return { port: (server.address() as AddressInfo).port, peers, close: () => server.close() };
}

/** Whether a TCP connection from this machine to host:port is accepted. */
function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on("error", () => resolve(false));
  });
}

const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });

/**
 * A network namespace of this test reached through a veth pair from the host, with a busybox nc
 * answering "reached" on port 8080: a stand-in for a machine the host routes to.
 */
async function machineBeyond() {
  const tag = randomBytes(3).toString("hex");
  const ns = `azt-${tag}`;
  const [hostSide, nsSide] = [`aztv${tag}`, `aztp${tag}`];
  const net = `198.18.${randomBytes(1)[0]}.${(randomBytes(1)[0] ?? 0) & 0xfc}`;
  const [a, b, c, d] = net.split(".").map(Number) as [number, number, number, number];
  const hostAddress = `${a}.${b}.${c}.${d + 1}`;
  const address = `${a}.${b}.${c}.${d + 2}`;
  sh("ip", ["netns", "add", ns]);
  sh("ip", ["link", "add", hostSide, "type", "veth", "peer", "name", nsSide]);
  sh("ip", ["link", "set", nsSide, "netns", ns]);
  sh("ip", ["addr", "add", `${hostAddress}/30`, "dev", hostSide]);
  sh("ip", ["link", "set", hostSide, "up"]);
  sh("ip", ["-n", ns, "addr", "add", `${address}/30`, "dev", nsSide]);
  sh("ip", ["-n", ns, "link", "set", nsSide, "up"]);
  sh("ip", ["-n", ns, "link", "set", "lo", "up"]);
  sh("ip", ["-n", ns, "route", "add", "default", "via", hostAddress]);
  const server = spawn(
    "ip",
    ["netns", "exec", ns, busyboxPath, "nc", "-ll", "-p", "8080", "-e", "/bin/echo", "reached"],
    {
      stdio: "ignore",
    },
  );
  const servers: NetnsServer[] = [];
  return {
    address,
    /** This machine's own address on the link to it. */
    hostAddress,
    /** An HTTP server in the machine, answering "hello from <name>" and noting who connected. */
    async serve(name: string): Promise<Destination> {
      const server = await serveInNetns(ns, name);
      servers.push(server);
      return server;
    },
    /** Whether the listener answers from the host, retried while it starts. */
    async reachable() {
      for (let attempt = 0; attempt < 50; attempt++) {
        if (await reachable(address, 8080)) return true;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return false;
    },
    async remove() {
      server.kill();
      for (const child of servers) child.close();
      sh("ip", ["link", "del", hostSide]);
      sh("ip", ["netns", "del", ns]);
    },
  };
}

describe("egress allow-list", () => {
  const docker = new Docker();
  let templatesDir: string;
  let t: TestAzusa;
  let operator: Client;
  let lead: Client;
  let sato: Client;
  let satoId: string;
  let pkg: Record<string, { id: string }>;
  let allowed: Destination;
  let refused: Destination;
  /** A server on this machine itself, which no allow-list may name. */
  let local: Destination;
  /** host:port of a server beyond the host, as the proxy and its audit events name it. */
  const beyondAt = (d: Destination) => `${beyond.address}:${d.port}`;
  let open: { id: string; containerId: string; gateway: string; address: string; network: string };
  let beyond: Awaited<ReturnType<typeof machineBeyond>>;
  /**
   * Names the proxy resolves as this test says (each to one address), through the lookup Azusa takes for tests;
   * what they resolve to is checked and dialled as any name's address is. Other names go to the system's resolver.
   */
  const names = new Map<string, string>();
  /** Allow-listed names leading to this machine itself, each to an address where `local` answers. */
  let hostward: { name: string; address: string; why: string }[];

  /** Offers the package on `template` to sato, who accepts; resolves once the workspace is provisioned. */
  const provision = async (wbsId: string, template: string) => {
    const id = pkg[wbsId]?.id;
    expect((await lead.request("PATCH", `/api/v1/packages/${id}`, { template })).status).toBe(200);
    expect((await lead.post(`/api/v1/packages/${id}/open`)).status).toBe(200);
    const offer = await (await lead.post(`/api/v1/packages/${id}/offers`, { engineerId: satoId })).json();
    expect((await sato.post(`/api/v1/offers/${offer.id}/accept`)).status).toBe(200);
    const ws = await (await sato.get(`/api/v1/packages/${id}/workspace`)).json();
    await t.running.azusa.workspaces.settled(ws.id);
    const settled = await (await sato.get(`/api/v1/packages/${id}/workspace`)).json();
    expect(settled).toMatchObject({ state: "running" });
    const [container] = await docker.listContainers({
      filters: { label: [`io.azusa.workspace=${ws.id}`, "io.azusa.role=workspace"] },
    });
    return { id: ws.id as string, containerId: container?.Id as string };
  };

  /** Runs a shell script in the workspace as its user; its output and exit code. */
  const run = (containerId: string, script: string) => runIn(docker, containerId, ["sh", "-c", script]);

  const egressEvents = async (workspaceId: string) => {
    await t.running.azusa.egress.settled();
    const audit = await (await operator.get("/api/v1/audit-events?limit=100")).json();
    return (audit.items as { action: string; subject: string; details: Record<string, unknown> }[]).filter(
      (e) => e.action === "workspace.egress" && e.subject === `workspace:${workspaceId}`,
    );
  };

  beforeAll(async () => {
    const image = await ensureTestImage(docker);
    beyond = await machineBeyond();
    allowed = await beyond.serve("the allowed server");
    refused = await beyond.serve("the other server");
    local = await destination("this machine");
    const bridge = await docker.getNetwork("bridge").inspect();
    const dockerGateway = (bridge.IPAM?.Config?.[0]?.Gateway as string | undefined) ?? "";
    expect(dockerGateway).not.toBe("");
    hostward = [
      { name: "loopback.azusa.test", address: "127.0.0.1", why: "a loopback address" },
      { name: "docker-bridge.azusa.test", address: dockerGateway, why: "an address of the workspace's host" },
      { name: "host-link.azusa.test", address: beyond.hostAddress, why: "an address of the workspace's host" },
    ];
    for (const h of hostward) names.set(h.name, h.address);
    names.set("metadata.azusa.test", "169.254.169.254");
    names.set("registry.azusa.test", beyond.address);
    templatesDir = mkdtempSync(join(tmpdir(), "azusa-templates-"));
    const template = (allow: (string | { host: string; port: number; privateNetwork?: boolean })[]) =>
      JSON.stringify({
        image,
        remoteUser: "azusa",
        customizations: {
          azusa: { resources: { cpus: 1, memoryMiB: 256, pids: 128 }, network: { allow } },
        },
      });
    writeFileSync(join(templatesDir, "default.devcontainer.json"), template([]));
    writeFileSync(
      join(templatesDir, "registry.devcontainer.json"),
      template([
        beyondAt(allowed),
        `registry.azusa.test:${allowed.port}`,
        // even an entry allowing private addresses never leads to the host itself
        ...hostward.map((h) => ({ host: h.name, port: local.port, privateNetwork: true })),
        { host: "metadata.azusa.test", port: 80, privateNetwork: true },
      ]),
    );
    t = await startTestAzusa({
      env: { AZUSA_TEMPLATES_DIR: templatesDir, AZUSA_SCHEDULES: "off" },
      tuning: {
        egressLookup: (hostname, callback) => {
          const address = names.get(hostname);
          if (address) callback(null, [{ address, family: isIP(address) }]);
          else dnsLookup(hostname, { all: true }, callback);
        },
      },
    });
    const tokyo = await t.createTenant("東京SI");
    await t.createUser("contractor", "buyer@tokyo-si.example", tokyo.id);
    const leadId = (await t.createUser("lead", "lead@tokyo-si.example", tokyo.id)).id;
    satoId = (await t.createUser("engineer", "sato@matsumoto.example")).id;
    operator = await t.signIn("root@office.example");
    const contractor = await t.signIn("buyer@tokyo-si.example");
    lead = await t.signIn("lead@tokyo-si.example");
    sato = await t.signIn("sato@matsumoto.example");
    await operator.put(`/api/v1/engineers/${satoId}`, {
      weeklyCapacityHours: 40,
      skills: [
        { skill: "java", level: 5 },
        { skill: "spring", level: 5 },
      ],
    });
    await vetFully(operator, satoId);
    const contract = await (
      await contractor.post("/api/v1/contracts", { ...sampleContract, leadIds: [leadId] })
    ).json();
    await contractor.request("POST", `/api/v1/contracts/${contract.id}/wbs`, utf8Csv(SAMPLE_WBS_ROWS), {
      "content-type": "text/csv",
    });
    const items = (await (await lead.get(`/api/v1/contracts/${contract.id}/packages`)).json()).items;
    pkg = Object.fromEntries(items.map((p: { wbsId: string }) => [p.wbsId, p]));

    const ws = await provision("2.3", "registry");
    const info = await docker.getContainer(ws.containerId).inspect();
    const network = info.HostConfig.NetworkMode as string;
    const attachment = info.NetworkSettings.Networks[network] as { Gateway?: string; IPAddress?: string } | undefined;
    const { Gateway: gateway = "", IPAddress: address = "" } = attachment ?? {};
    open = { ...ws, network, gateway, address };
  });

  afterAll(async () => {
    await t?.stop();
    local?.close();
    await beyond?.remove();
    // Whatever a failed test left behind goes too.
    const ours = (labels: Record<string, string>) =>
      Object.values(pkg ?? {}).some((p) => p.id === labels["io.azusa.package"]);
    for (const c of await docker.listContainers({ all: true, filters: { label: ["io.azusa.package"] } })) {
      if (ours(c.Labels)) await docker.getContainer(c.Id).remove({ force: true, v: true });
    }
    for (const n of await docker.listNetworks({ filters: { label: ["io.azusa.package"] } })) {
      if (ours(n.Labels ?? {})) await docker.getNetwork(n.Id).remove();
    }
    rmSync(templatesDir, { recursive: true, force: true });
  });

  it("reaches the allowed destination through the proxy, and audits the connection", async () => {
    const res = await run(open.containerId, `wget -q -O - http://${beyondAt(allowed)}/`);
    expect(res).toMatchObject({ code: 0, out: "hello from the allowed server\n" });
    const [event] = await egressEvents(open.id);
    expect(event?.details).toMatchObject({
      destination: beyondAt(allowed),
      method: "GET",
      outcome: "allowed",
      source: open.address,
    });
    expect(event?.details.bytesReceived).toBeGreaterThan(0);
  });

  it("refuses a destination the template does not name, and audits the refusal", async () => {
    const res = await run(open.containerId, `wget -q -O - http://${beyondAt(refused)}/`);
    expect(res.code).not.toBe(0);
    expect(res.err).toContain("403");
    expect(refused.peers).toEqual([]);
    const events = await egressEvents(open.id);
    expect(events[0]?.details).toMatchObject({
      destination: beyondAt(refused),
      outcome: "refused",
      reason: "not in the workspace template's allow-list",
      bytesSent: 0,
    });
  });

  it("tunnels CONNECT to the allowed destination only", async () => {
    const tunnel = (port: number) =>
      run(
        open.containerId,
        `printf 'CONNECT ${beyond.address}:${port} HTTP/1.1\\r\\nHost: ${beyond.address}:${port}\\r\\n\\r\\nGET / HTTP/1.0\\r\\n\\r\\n' | nc ${open.gateway} 3128`,
      );
    const through = await tunnel(allowed.port);
    expect(through.out).toMatch(/^HTTP\/1\.1 200 Connection Established\r\n\r\nHTTP\/1\.1 200 OK/);
    expect(through.out).toContain("hello from the allowed server");
    const blocked = await tunnel(refused.port);
    expect(blocked.out).toMatch(/^HTTP\/1\.1 403 Forbidden/);
    expect(blocked.out).not.toContain("hello");
    expect(refused.peers).toEqual([]);
    const events = await egressEvents(open.id);
    expect(events.slice(0, 2).map((e) => [e.details.method, e.details.outcome])).toEqual(
      expect.arrayContaining([
        ["CONNECT", "allowed"],
        ["CONNECT", "refused"],
      ]),
    );
  });

  it("refuses an allowed name that leads to this machine or its metadata address, as a name not allowed, and audits it", async () => {
    const ask = (destination: string) =>
      run(open.containerId, `printf 'GET http://${destination}/ HTTP/1.0\\r\\n\\r\\n' | nc ${open.gateway} 3128`);
    // where the names lead does answer, from this machine: only the proxy's check stands in the way
    for (const { address } of hostward) expect(await reachable(address, local.port), address).toBe(true);
    const seenBefore = local.peers.length;
    for (const { name, address, why } of [
      ...hostward,
      { name: "metadata.azusa.test", address: "169.254.169.254", why: "a link-local address" },
    ]) {
      const destination = `${name}:${name.startsWith("metadata") ? 80 : local.port}`;
      const res = await ask(destination);
      const notAllowed = text("egress.notAllowed", { destination });
      expect(res.out, destination).toMatch(/^HTTP\/1\.1 403 Forbidden\r\n/);
      expect(res.out.split("\r\n\r\n")[1]).toBe(
        `azusa egress: ${say("ja", notAllowed)}\nazusa egress: ${say("en", notAllowed)}\n`,
      );
      const events = await egressEvents(open.id);
      expect(events.find((e) => e.details.destination === destination)?.details).toMatchObject({
        method: "GET",
        outcome: "refused",
        reason: `${destination} resolves to ${address}, ${why}, which a workspace may never reach`,
        bytesSent: 0,
      });
    }
    expect(local.peers.length).toBe(seenBefore);
    // an allowed name leading to an allowed address goes through the same resolution and is reached
    const reached = await ask(`registry.azusa.test:${allowed.port}`);
    expect(reached.out).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(reached.out).toContain("hello from the allowed server");
  });

  it("cannot reach this machine's servers on the bridge's own address, nor the servers beyond without the proxy", async () => {
    // The server does answer on that address, from this machine: only the fence stands in the way.
    expect(await reachable(open.gateway, local.port)).toBe(true);
    const res = await run(open.containerId, `wget -Y off -q -O - http://${open.gateway}:${local.port}/`);
    expect(res).toMatchObject({ code: 1, out: "" });
    expect(res.err).toContain("Connection refused");
    for (const d of [allowed, refused]) {
      const direct = await run(open.containerId, `wget -Y off -q -O - http://${beyondAt(d)}/`);
      expect(direct).toMatchObject({ code: 1, out: "" });
    }
    // No server ever saw the workspace's own address: everything it got came through the proxy.
    for (const d of [local, allowed, refused]) expect(d.peers).not.toContain(open.address);
  });

  it("cannot reach a machine beyond the host", async () => {
    // The machine is a network namespace of this test behind a veth pair, routed by the host like any
    // other network: without the fence the workspace's packets would be forwarded to it.
    const listening = await beyond.reachable();
    expect(listening).toBe(true);
    const res = await run(open.containerId, `printf 'hi\\n' | nc ${beyond.address} 8080`);
    expect(res.out).toBe("");
    expect(res.err).toMatch(/refused|unreachable/i);
  });

  it("keeps every other hardening, with the proxy named in the environment", async () => {
    const info = await docker.getContainer(open.containerId).inspect();
    expect(info.HostConfig.NetworkMode).toBe(`azusa-egress-${open.id}`);
    expect(info.HostConfig.CapDrop).toEqual(["ALL"]);
    expect(info.HostConfig.SecurityOpt).toEqual(["no-new-privileges:true"]);
    expect(info.HostConfig.PortBindings ?? {}).toEqual({});
    expect(info.Config.Env).toContain(`https_proxy=http://${open.gateway}:3128`);
    const network = await docker.getNetwork(open.network).inspect();
    expect(network.Labels).toMatchObject({ "io.azusa.workspace": open.id, "io.azusa.managed": "true" });
  });

  it("gives a workspace whose template names no destination no network at all", async () => {
    const sealed = await provision("2.1", "default");
    const info = await docker.getContainer(sealed.containerId).inspect();
    expect(info.HostConfig.NetworkMode).toBe("none");
    expect(info.Config.Env.some((e) => /^https?_proxy=/i.test(e))).toBe(false);
    const res = await run(sealed.containerId, `nc ${open.gateway} 3128 </dev/null`);
    expect(res.err).toContain("Network is unreachable");
  });

  it("gets its proxy back when Azusa starts again", async () => {
    await t.running.azusa.egress.shutdown();
    const stopped = await run(open.containerId, `wget -q -O - http://${beyondAt(allowed)}/`);
    expect(stopped.code).not.toBe(0);
    await t.running.azusa.egress.resume();
    const res = await run(open.containerId, `wget -q -O - http://${beyondAt(allowed)}/`);
    expect(res).toMatchObject({ code: 0, out: "hello from the allowed server\n" });
  });

  it("removes the network and the proxy with the workspace", async () => {
    const res = await lead.post(`/api/v1/workspaces/${open.id}/destroy`, { reason: "検収済み" });
    expect(res.status).toBe(200);
    await expect(docker.getNetwork(open.network).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });
});
