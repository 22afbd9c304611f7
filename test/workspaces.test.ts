// A workspace per assignment on the real Docker engine: provisioned when the engineer accepts,
// hardened, started and stopped, destroyed with its volume, every step audited.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, startTestAzusa, type TestAzusa } from "./support/harness.ts";
import { ensureTestImage } from "./support/images.ts";
import { prepareWorkspaces, type WorkspaceSetup } from "./support/workspace-setup.ts";

describe("workspaces", () => {
  const docker = new Docker();
  let templatesDir: string;
  let t: TestAzusa;
  let operator: Client;
  let contractor: Client;
  let lead: Client;
  let sato: Client;
  let other: Client;
  let setup: WorkspaceSetup;
  let pkg: Record<string, { id: string }>;

  const accept = async (wbsId: string) => {
    const ws = await setup.accept(wbsId);
    await t.running.azusa.workspaces.settled(ws.id);
    return (await (await sato.get(`/api/v1/packages/${pkg[wbsId]?.id}/workspace`)).json()) as {
      id: string;
      state: string;
      reason: string;
    };
  };

  beforeAll(async () => {
    const image = await ensureTestImage(docker);
    templatesDir = mkdtempSync(join(tmpdir(), "azusa-templates-"));
    const template = (img: string) =>
      JSON.stringify({
        image: img,
        remoteUser: "azusa",
        customizations: { azusa: { resources: { cpus: 1, memoryMiB: 256, pids: 128 }, idleTimeoutMinutes: 30 } },
      });
    writeFileSync(join(templatesDir, "default.devcontainer.json"), template(image));
    writeFileSync(join(templatesDir, "missing-image.devcontainer.json"), template("azusa-test/not-built:1"));
    t = await startTestAzusa({ env: { AZUSA_TEMPLATES_DIR: templatesDir, AZUSA_SCHEDULES: "off" } });
    operator = await t.signIn("root@office.example");
    setup = await prepareWorkspaces(t.base, operator);
    ({ contractor, lead, sato, pkg } = setup);
    await t.createUser("engineer", "ito@matsumoto.example");
    other = await t.signIn("ito@matsumoto.example");
  });

  afterAll(async () => {
    await t?.stop();
    // Whatever a failed test left behind goes too.
    for (const c of await docker.listContainers({ all: true, filters: { label: ["io.azusa.package"] } })) {
      if (Object.values(pkg ?? {}).some((p) => p.id === c.Labels["io.azusa.package"]))
        await docker.getContainer(c.Id).remove({ force: true, v: true });
    }
    rmSync(templatesDir, { recursive: true, force: true });
  });

  it("provisions a hardened, running workspace when the engineer accepts", async () => {
    const ws = await accept("2.3");
    expect(ws).toMatchObject({ state: "running", reason: "provisioned for the assignment", template: "default" });
    const [container] = await docker.listContainers({
      filters: { label: [`io.azusa.workspace=${ws.id}`, "io.azusa.role=workspace"] },
    });
    expect(container?.Labels).toMatchObject({ "io.azusa.managed": "true", "io.azusa.package": pkg["2.3"]?.id });
    const info = await docker.getContainer(container?.Id as string).inspect();
    expect(info.HostConfig.CapDrop).toEqual(["ALL"]);
    expect(info.HostConfig.NetworkMode).toBe("none");
    expect(info.HostConfig.Memory).toBe(256 * 1024 * 1024);
    expect(info.HostConfig.Privileged).toBe(false);
    expect(info.Config.User).not.toMatch(/^(0|root)(:|$)/);
  });

  it("shows the workspace to its engineer and the contract's people, and to nobody else", async () => {
    const path = `/api/v1/packages/${pkg["2.3"]?.id}/workspace`;
    const seen = {
      sato: (await sato.get(path)).status,
      lead: (await lead.get(path)).status,
      contractor: (await contractor.get(path)).status,
      operator: (await operator.get(path)).status,
      other: (await other.get(path)).status,
    };
    expect(seen).toEqual({ sato: 200, lead: 200, contractor: 200, operator: 200, other: 404 });
  });

  it("stops and starts, with the reason of the last change, audited", async () => {
    const ws = await (await sato.get(`/api/v1/packages/${pkg["2.3"]?.id}/workspace`)).json();
    const stopped = await (await sato.post(`/api/v1/workspaces/${ws.id}/stop`)).json();
    expect(stopped).toMatchObject({ state: "stopped", reason: "stopped by engineer" });
    expect((await sato.post(`/api/v1/workspaces/${ws.id}/stop`)).status).toBe(200);
    const started = await (await sato.post(`/api/v1/workspaces/${ws.id}/start`)).json();
    expect(started).toMatchObject({ state: "running", reason: "started by engineer" });
    expect((await other.post(`/api/v1/workspaces/${ws.id}/stop`)).status).toBe(404);
    const audit = await (await operator.get("/api/v1/audit-events?limit=5")).json();
    expect(audit.items.map((e: { action: string }) => e.action)).toEqual(
      expect.arrayContaining(["workspace.stopped", "workspace.running"]),
    );
  });

  it("destroys the container and its volume, and records the disposal", async () => {
    const ws = await (await lead.get(`/api/v1/packages/${pkg["2.3"]?.id}/workspace`)).json();
    expect((await sato.post(`/api/v1/workspaces/${ws.id}/destroy`, { reason: "x" })).status).toBe(403);
    const res = await lead.post(`/api/v1/workspaces/${ws.id}/destroy`, { reason: "検収済み、保存期間満了" });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ state: "destroyed", reason: "検収済み、保存期間満了" });
    expect(await docker.listContainers({ all: true, filters: { label: [`io.azusa.workspace=${ws.id}`] } })).toEqual([]);
    const volumes = await docker.listVolumes({ filters: { label: [`io.azusa.workspace=${ws.id}`] } });
    expect(volumes.Volumes ?? []).toEqual([]);
    const audit = await (await operator.get("/api/v1/audit-events?limit=3")).json();
    expect(audit.items[0]).toMatchObject({
      action: "workspace.disposed",
      subject: `workspace:${ws.id}`,
      details: {
        from: "running",
        reason: "検収済み、保存期間満了",
        container: expect.any(String),
        volume: expect.any(String),
      },
    });
  });

  it("fails with the reason when the template's image is not on the engine", async () => {
    await lead.request("PATCH", `/api/v1/packages/${pkg["2.1"]?.id}`, { template: "missing-image" });
    const ws = await accept("2.1");
    expect(ws.state).toBe("failed");
    expect(ws.reason).toMatch(/^provisioning failed: .*azusa-test\/not-built:1/);
  });
});
