// Warm pools on every workspace host: with a second, real dockerd over mutual TLS registered, a template's
// pooled workspaces wait on each host placement could choose for it; an assignment placed on the second host
// claims the one waiting there (its container becomes the workspace's), and the pool there fills again.
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { until } from "./support/cli.ts";
import { farTemplates, registerFarHost } from "./support/far-host.ts";
import { type Client, startTestAzusa, type TestAzusa } from "./support/harness.ts";
import { secondEngineForTests } from "./support/second-engine.ts";
import { prepareWorkspaces, type WorkspaceSetup } from "./support/workspace-setup.ts";

const engine = secondEngineForTests();

describe("warm pools per workspace host", () => {
  let t: TestAzusa;
  let operator: Client;
  let setup: WorkspaceSetup;
  let templatesDir: string;
  let hostId: string;

  /** The pooled containers of `template` on the second engine, as the engine lists them. */
  const pooledThere = (template: string) =>
    engine().docker.listContainers({ all: true, filters: { label: [`io.azusa.pool=${template}`] } });

  beforeAll(async () => {
    templatesDir = farTemplates();
    t = await startTestAzusa({
      env: { AZUSA_TEMPLATES_DIR: templatesDir, AZUSA_SCHEDULES: "off", AZUSA_WARM_POOL: "1" },
    });
    operator = await t.signIn("root@office.example");
    setup = await prepareWorkspaces(t.base, operator, "-pool-hosts");
    hostId = await registerFarHost(operator, engine());
  }, 240_000);

  afterAll(async () => {
    await t?.stop();
    const docker = engine().docker;
    for (const c of await docker
      .listContainers({ all: true, filters: { label: ["io.azusa.managed"] } })
      .catch(() => [])) {
      await docker
        .getContainer(c.Id)
        .remove({ force: true, v: true })
        .catch(() => undefined);
    }
    rmSync(templatesDir, { recursive: true, force: true });
  });

  it("fills each template's pool on every host that could take it, the second engine included", async () => {
    const pool = t.running.azusa.pool;
    // both templates fit the second host (the default asks for no label, `far` for the one it carries)
    await until(
      "pooled workspaces on the second engine",
      async () => {
        await pool.drain();
        await pool.fill();
        const [far, plain] = await Promise.all([pooledThere("far"), pooledThere("default")]);
        return far.length === 1 && plain.length === 1 ? true : undefined;
      },
      180_000,
    );
    const [far] = await pooledThere("far");
    expect(far?.State).toBe("running");
    expect(far?.Labels["io.azusa.role"]).toBe("workspace");
  }, 240_000);

  it("an assignment placed on the second host claims the workspace waiting there, and the pool fills again", async () => {
    const [pooled] = await pooledThere("far");
    expect(pooled).toBeDefined();
    const id = setup.pkg["2.3"]?.id;
    expect((await setup.lead.request("PATCH", `/api/v1/packages/${id}`, { template: "far" })).status).toBe(200);
    const first = await setup.accept("2.3");
    await t.running.azusa.workspaces.settled(first.id);
    const ws = await (await setup.sato.get(`/api/v1/packages/${id}/workspace`)).json();
    expect(ws, JSON.stringify(ws)).toMatchObject({ state: "running", hostId });
    // the pooled container is the workspace's now
    const [container] = await engine().docker.listContainers({
      filters: { label: [`io.azusa.workspace=${pooled?.Labels["io.azusa.workspace"]}`] },
    });
    expect(container?.Id).toBe(pooled?.Id);
    const audit = await (await operator.get("/api/v1/audit-events?limit=100")).json();
    const running = (audit.items as { action: string; subject: string; details: Record<string, unknown> }[]).find(
      (e) => e.subject === `workspace:${ws.id}` && e.action === "workspace.running",
    );
    expect(running?.details).toMatchObject({ warmPool: true });
    // its files are reached through the second engine: the checkout ran there
    expect(ws.checkout).toBe("done");
    await until(
      "the pool on the second engine filled again",
      async () => {
        const now = await pooledThere("far");
        return now.some((c) => c.Id !== pooled?.Id) ? true : undefined;
      },
      120_000,
    );
  }, 240_000);
});
