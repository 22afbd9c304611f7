// A workspace whose template names a destination, moved from a workspace host over TLS (a second, real dockerd in
// a network namespace of its own) to the default engine: its network and proxy are made anew there, and from there
// it reaches the allowed server (a service in that namespace) through the proxy on this machine, the connection
// audited; its network and proxy container on the old host are gone.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { baseImageTag } from "../src/provisioner/base-image.ts";
import { runIn } from "./support/docker.ts";
import { registerFarHost } from "./support/far-host.ts";
import { type Client, startTestAzusa, type TestAzusa } from "./support/harness.ts";
import { type NetnsServer, serveInNetns } from "./support/netns-server.ts";
import { secondEngineForTests } from "./support/second-engine.ts";
import { prepareWorkspaces, type WorkspaceSetup } from "./support/workspace-setup.ts";

const engine = secondEngineForTests();
const local = new Docker();

describe("moving a workspace with egress between hosts", () => {
  let t: TestAzusa;
  let operator: Client;
  let setup: WorkspaceSetup;
  let templatesDir: string;
  let server: NetnsServer;
  let farId: string;
  let wsId: string;

  const destination = () => `${engine().host}:${server.port}`;

  beforeAll(async () => {
    server = await serveInNetns(engine().netns, "the allowed server");
    templatesDir = mkdtempSync(join(tmpdir(), "azusa-templates-"));
    writeFileSync(
      join(templatesDir, "default.devcontainer.json"),
      JSON.stringify({
        image: baseImageTag,
        remoteUser: "azusa",
        customizations: {
          azusa: { resources: { cpus: 1, memoryMiB: 256, pids: 128 }, network: { allow: [destination()] } },
        },
      }),
    );
    t = await startTestAzusa({ env: { AZUSA_TEMPLATES_DIR: templatesDir, AZUSA_SCHEDULES: "off" } });
    operator = await t.signIn("root@office.example");
    setup = await prepareWorkspaces(t.base, operator, "-move-egress");
    farId = await registerFarHost(operator, engine());
    // placed on the far host: the default one takes nothing while drained
    expect((await operator.post("/api/v1/workspace-hosts/local/drain")).status).toBe(200);
    const ws = await setup.accept("2.3");
    await t.running.azusa.workspaces.settled(ws.id);
    wsId = ws.id;
    const shown = await (await setup.sato.get(`/api/v1/packages/${setup.pkg["2.3"]?.id}/workspace`)).json();
    expect(shown, JSON.stringify(shown)).toMatchObject({ state: "running", hostId: farId });
    expect((await operator.post("/api/v1/workspace-hosts/local/activate")).status).toBe(200);
  }, 300_000);

  afterAll(async () => {
    await t?.stop();
    server?.close();
    rmSync(templatesDir, { recursive: true, force: true });
  });

  it("reaches the allowed destination through its proxy on the new host, audited", async () => {
    expect((await setup.sato.post(`/api/v1/workspaces/${wsId}/stop`)).status).toBe(200);
    const moved = await operator.post(`/api/v1/workspaces/${wsId}/move`, {
      hostId: "local",
      reason: "rack maintenance",
    });
    expect(moved.status, await moved.clone().text()).toBe(200);
    // nothing of it is left on the far host: neither its container nor its proxy container nor its network
    const left = await engine().docker.listContainers({
      all: true,
      filters: { label: [`io.azusa.workspace=${wsId}`] },
    });
    expect(left).toEqual([]);
    const networks = await engine().docker.listNetworks({ filters: { label: [`io.azusa.workspace=${wsId}`] } });
    expect(networks).toEqual([]);

    expect((await setup.sato.post(`/api/v1/workspaces/${wsId}/start`)).status).toBe(200);
    const [container] = await local.listContainers({
      filters: { label: [`io.azusa.workspace=${wsId}`, "io.azusa.role=workspace"] },
    });
    expect(container?.State).toBe("running");
    const res = await runIn(local, container?.Id ?? "", [
      "bash",
      "-c",
      [
        // biome-ignore lint/suspicious/noTemplateCurlyInString: bash's own expansions
        'p="${HTTP_PROXY#http://}"; exec 3<>"/dev/tcp/${p%:*}/${p##*:}" || exit 9',
        `printf 'GET http://${destination()}/ HTTP/1.0\\r\\n\\r\\n' >&3`,
        "cat <&3",
      ].join("\n"),
    ]);
    expect(res.out, res.err).toContain("hello from the allowed server");
    await t.running.azusa.egress.settled();
    const audit = await (await operator.get("/api/v1/audit-events?limit=200")).json();
    const events = (audit.items as { action: string; subject: string; details: Record<string, unknown> }[]).filter(
      (e) => e.action === "workspace.egress" && e.subject === `workspace:${wsId}`,
    );
    expect(events.map((e) => e.details)).toContainEqual(
      expect.objectContaining({ destination: destination(), outcome: "allowed" }),
    );
  }, 300_000);
});
