// Two workspaces with egress on a workspace host over TLS (a second, real dockerd in a network namespace of its
// own), of two tenants: neither reaches the other, nor the other's proxy container, over any network Azusa made
// there. A server listens in one; the other's client is refused, while the server answers from its own side. The
// engine keeps its firewall, as on a machine of its own: `enable_icc=false` on the shared outgoing bridge is enforced
// by it (with `--iptables=false` the proxy containers do reach each other there).
import { rmSync } from "node:fs";
import type Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { until } from "./support/cli.ts";
import { runIn } from "./support/docker.ts";
import { farTemplates, registerFarHost } from "./support/far-host.ts";
import { type Client, startTestAzusa, type TestAzusa } from "./support/harness.ts";
import { secondEngineForTests } from "./support/second-engine.ts";
import { prepareWorkspaces } from "./support/workspace-setup.ts";

const engine = secondEngineForTests({ firewall: true });

/** A workspace on the second engine: its container, its proxy container, and their addresses per network. */
interface Placed {
  container: string;
  proxy: string;
  address: string;
  proxyOut: string;
}

const port = 8088;
/** A server answering every connection with `hello from <name>`, for a minute. */
const server = (name: string) => [
  "perl",
  "-MIO::Socket::INET",
  "-e",
  `alarm 120; my $s = IO::Socket::INET->new(LocalAddr => "0.0.0.0", LocalPort => ${port}, Listen => 5, ReuseAddr => 1) or die $!;` +
    ` while (my $c = $s->accept) { print $c "hello from ${name}\\n"; close $c }`,
];
/** What `address` answers on the port, within five seconds, as bash sees it from a container. */
const ask = (docker: Docker, from: string, address: string) =>
  runIn(docker, from, ["bash", "-c", `timeout 5 bash -c 'exec 3<>/dev/tcp/${address}/${port} && cat <&3'`]);

async function serveIn(docker: Docker, container: string, name: string): Promise<void> {
  const exec = await docker.getContainer(container).exec({ Cmd: server(name), AttachStdout: false });
  await exec.start({ Detach: true });
}

describe("workspaces on a workspace host over TLS cannot reach each other", () => {
  let t: TestAzusa;
  let operator: Client;
  let templatesDir: string;
  const placed: Placed[] = [];

  beforeAll(async () => {
    templatesDir = farTemplates({ network: { allow: [`${engine().host}:9`] } });
    t = await startTestAzusa({ env: { AZUSA_TEMPLATES_DIR: templatesDir, AZUSA_SCHEDULES: "off" } });
    operator = await t.signIn("root@office.example");
    await registerFarHost(operator, engine());
    const docker = engine().docker;
    for (const suffix of ["-iso-a", "-iso-b"]) {
      const setup = await prepareWorkspaces(t.base, operator, suffix);
      const id = setup.pkg["2.3"]?.id;
      expect((await setup.lead.request("PATCH", `/api/v1/packages/${id}`, { template: "far" })).status).toBe(200);
      const ws = await setup.accept("2.3");
      await t.running.azusa.workspaces.settled(ws.id);
      const [container] = await docker.listContainers({
        filters: { label: [`io.azusa.workspace=${ws.id}`, "io.azusa.role=workspace"] },
      });
      const [proxy] = await docker.listContainers({
        filters: { label: [`io.azusa.workspace=${ws.id}`, "io.azusa.role=egress-proxy"] },
      });
      expect(container?.State, `workspace ${suffix} on the second engine`).toBe("running");
      const own = Object.values(container?.NetworkSettings.Networks ?? {})[0]?.IPAddress ?? "";
      const out = proxy?.NetworkSettings.Networks["azusa-egress-out"]?.IPAddress ?? "";
      expect(own).not.toBe("");
      expect(out).not.toBe("");
      placed.push({ container: container?.Id ?? "", proxy: proxy?.Id ?? "", address: own, proxyOut: out });
    }
  }, 300_000);

  afterAll(async () => {
    await t?.stop();
    rmSync(templatesDir, { recursive: true, force: true });
  });

  /**
   * Serves in `server` (named `name`) until it answers on `address` from its own side, then asks it from `client`:
   * what the client got.
   */
  async function askAcross(server: string, address: string, client: string, name: string) {
    const docker = engine().docker;
    await serveIn(docker, server, name);
    await until(
      `the server in ${name} to answer`,
      async () => ((await ask(docker, server, address)).out.includes(`hello from ${name}`) ? true : undefined),
      30_000,
    );
    return ask(docker, client, address);
  }

  it("a client in one workspace does not reach a server in the other", async () => {
    const [a, b] = placed as [Placed, Placed];
    const across = await askAcross(b.container, b.address, a.container, "b");
    expect(across.code).not.toBe(0);
    expect(across.out).not.toContain("hello from b");
  }, 60_000);

  it("one workspace's proxy container does not reach the other's on the shared outgoing network", async () => {
    const [a, b] = placed as [Placed, Placed];
    const across = await askAcross(b.proxy, b.proxyOut, a.proxy, "b's proxy");
    expect(across.code).not.toBe(0);
    expect(across.out).not.toContain("hello from b's proxy");
  }, 60_000);
});
