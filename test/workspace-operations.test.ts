// Running workspaces over time, on the real engine: reconcile against what this instance owns, idle
// stop, disposal after the retention period, the end of an assignment, and the warm pool.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDockerDriver } from "../src/provisioner/docker-driver.ts";
import { dialects } from "./support/databases.ts";
import { sweepInstance } from "./support/docker.ts";
import { type Client, startTestAzusa, type TestAzusa } from "./support/harness.ts";
import { ensureTestImage } from "./support/images.ts";
import { prepareWorkspaces, type WorkspaceSetup } from "./support/workspace-setup.ts";

const docker = new Docker();
const MINUTE = 60_000;

/** A templates folder whose default template is the busybox test image, idle after 30 minutes. */
async function testTemplates(): Promise<string> {
  const image = await ensureTestImage(docker);
  const dir = mkdtempSync(join(tmpdir(), "azusa-templates-"));
  writeFileSync(
    join(dir, "default.devcontainer.json"),
    JSON.stringify({
      image,
      remoteUser: "azusa",
      customizations: { azusa: { resources: { cpus: 1, memoryMiB: 128, pids: 64 }, idleTimeoutMinutes: 30 } },
    }),
  );
  return dir;
}

describe.each(dialects)("workspace operations on %s", (dialect) => {
  const instance = `test-ops-${randomBytes(5).toString("hex")}`;
  const foreign = `test-other-${randomBytes(5).toString("hex")}`;
  let templatesDir: string;
  let t: TestAzusa;
  let operator: Client;
  let s: WorkspaceSetup;

  const workspaceOf = async (wbsId: string) =>
    (await s.sato.get(`/api/v1/packages/${s.pkg[wbsId]?.id}/workspace`)).json();
  const provisioned = async (wbsId: string) => {
    const ws = await s.accept(wbsId);
    await t.running.azusa.workspaces.settled(ws.id);
    const now = await workspaceOf(wbsId);
    expect(now.state).toBe("running");
    return now as { id: string; state: string; reason: string };
  };
  const containersOf = (workspaceId: string) =>
    docker.listContainers({ all: true, filters: { label: [`io.azusa.workspace=${workspaceId}`] } });
  const auditActions = async (n: number) =>
    (await (await operator.get(`/api/v1/audit-events?limit=${n}`)).json()).items as {
      action: string;
      subject: string;
      details: Record<string, unknown>;
    }[];

  beforeAll(async () => {
    templatesDir = await testTemplates();
    t = await startTestAzusa({
      dialect,
      env: { AZUSA_TEMPLATES_DIR: templatesDir, AZUSA_SCHEDULES: "off", AZUSA_INSTANCE_ID: instance },
    });
    operator = await t.signIn("root@office.example");
    s = await prepareWorkspaces(t.base, operator);
  });

  afterAll(async () => {
    await t?.stop();
    await sweepInstance(docker, instance);
    await sweepInstance(docker, foreign);
    if (templatesDir) rmSync(templatesDir, { recursive: true, force: true });
  });

  it("every object of a workspace carries this instance's label", async () => {
    const ws = await provisioned("1.1.1");
    const [container] = await containersOf(ws.id);
    expect(container?.Labels["io.azusa.instance"]).toBe(instance);
    const volumes = (await docker.listVolumes({ filters: { label: [`io.azusa.workspace=${ws.id}`] } })).Volumes;
    expect(volumes?.map((v) => v.Labels?.["io.azusa.instance"])).toEqual([instance]);
  });

  it("reconcile removes this instance's orphans, audited, and leaves another instance's objects alone", async () => {
    const image = await ensureTestImage(docker);
    const spec = (id: string) => ({
      id,
      tenantId: "t",
      packageId: "p",
      image,
      user: "azusa",
      env: {},
      resources: { cpus: 0.5, memoryMiB: 64, pids: 32 },
      readOnlyRootFs: true,
      workspaceFolder: "/workspace",
    });
    const orphan = await createDockerDriver({ docker, instance }).create(
      spec(`orphan-${randomBytes(3).toString("hex")}`),
    );
    const theirs = await createDockerDriver({ docker, instance: foreign }).create(
      spec(`theirs-${randomBytes(3).toString("hex")}`),
    );

    const result = await t.running.azusa.workspaces.reconcile();

    expect(result.orphansRemoved).toBe(2); // the container and its volume
    await expect(docker.getContainer(orphan.containerId).inspect()).rejects.toMatchObject({ statusCode: 404 });
    await expect(docker.getVolume(orphan.volume).inspect()).rejects.toMatchObject({ statusCode: 404 });
    expect((await docker.getContainer(theirs.containerId).inspect()).Id).toBe(theirs.containerId);
    expect((await docker.getVolume(theirs.volume).inspect()).Name).toBe(theirs.volume);
    const events = await auditActions(2);
    expect(events.map((e) => e.subject).sort()).toEqual([`container:${orphan.containerId}`, `volume:${orphan.volume}`]);
    expect(events[0]).toMatchObject({ action: "workspace.orphan_removed", details: { workspace: orphan.id } });
    // the workspaces of live rows are untouched
    expect((await workspaceOf("1.1.1")).state).toBe("running");
  });

  it("a workspace whose container vanished is marked failed with the reason", async () => {
    const ws = await provisioned("1.1.2");
    const [container] = await containersOf(ws.id);
    await docker.getContainer(container?.Id as string).remove({ force: true });

    await t.running.azusa.workspaces.reconcile();

    expect(await workspaceOf("1.1.2")).toMatchObject({
      state: "failed",
      reason: "its container vanished from the engine",
    });
  });

  it("a container the row lost track of is re-adopted: the engineer can stop it again", async () => {
    const ws = await provisioned("1.2.1");
    await t.running.azusa.db.kysely
      .updateTable("workspace")
      .set({ container_id: null })
      .where("id", "=", ws.id)
      .execute();
    expect((await s.sato.post(`/api/v1/workspaces/${ws.id}/stop`)).status).toBe(409);

    const result = await t.running.azusa.workspaces.reconcile();

    expect(result.adopted).toBe(1);
    const stopped = await s.sato.post(`/api/v1/workspaces/${ws.id}/stop`);
    expect(await stopped.json()).toMatchObject({ state: "stopped", reason: "stopped by engineer" });
    expect((await auditActions(5)).map((e) => e.action)).toContain("workspace.adopted");
  });

  it("an idle workspace stops after the template's timeout, naming the idle time and the last activity", async () => {
    const idle = await provisioned("1.2.2");
    const busy = await provisioned("2.1");
    const start = Date.now();
    await t.running.azusa.workspaces.recordActivity(idle.id, "ssh shell", new Date(start));
    await t.running.azusa.workspaces.recordActivity(busy.id, "web IDE save", new Date(start + 20 * MINUTE));

    await t.running.azusa.workspaces.stopIdle(new Date(start + 31 * MINUTE));

    const stopped = await workspaceOf("1.2.2");
    expect(stopped.state).toBe("stopped");
    expect(stopped.reason).toMatch(/^idle for 31 minutes \(limit 30\); last activity: ssh shell at /);
    expect((await docker.getContainer((await containersOf(idle.id))[0]?.Id as string).inspect()).State.Running).toBe(
      false,
    );
    expect((await workspaceOf("2.1")).state).toBe("running");
  });

  it("keeps the latest activity when a connection reports an earlier one as it ends", async () => {
    const ws = await workspaceOf("2.1");
    const at = Date.now() + 60 * MINUTE; // after the "web IDE save" noted above
    await t.running.azusa.workspaces.recordActivity(ws.id, "ssh shell", new Date(at));
    await t.running.azusa.workspaces.recordActivity(ws.id, "browser forward", new Date(at - 10 * MINUTE));
    const row = await t.running.azusa.db.kysely
      .selectFrom("workspace")
      .select(["last_activity", "last_activity_at"])
      .where("id", "=", ws.id)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ last_activity: "ssh shell", last_activity_at: new Date(at).toISOString() });
  });

  it("a workspace without activity counts its idle time from its last start, or its code's checkout after it", async () => {
    const ws = await workspaceOf("2.1");
    // Its code was checked out after it was handed over: the idle time counts from then.
    const checkedOut = new Date(Date.parse(ws.updatedAt) + 10 * MINUTE).toISOString();
    await t.running.azusa.db.kysely
      .updateTable("workspace")
      .set({ last_activity_at: null, last_activity: null, prepared_at: checkedOut })
      .where("id", "=", ws.id)
      .execute();
    await t.running.azusa.workspaces.stopIdle(new Date(Date.parse(ws.updatedAt) + 35 * MINUTE));
    expect((await workspaceOf("2.1")).state).toBe("running");
    await t.running.azusa.workspaces.stopIdle(new Date(Date.parse(ws.updatedAt) + 45 * MINUTE));
    const stopped = await workspaceOf("2.1");
    expect(stopped.reason).toBe(`idle for 35 minutes (limit 30); no activity since its start at ${checkedOut}`);
  });

  it("activity from before the last start does not count against a restarted workspace", async () => {
    const ws = await workspaceOf("1.2.2"); // stopped as idle above
    await t.running.azusa.workspaces.recordActivity(ws.id, "ssh shell", new Date(Date.now() - 60 * MINUTE));
    expect((await s.sato.post(`/api/v1/workspaces/${ws.id}/start`)).status).toBe(200);

    await t.running.azusa.workspaces.stopIdle(new Date(Date.now() + 10 * MINUTE));

    expect(await workspaceOf("1.2.2")).toMatchObject({ state: "running", reason: "started by engineer" });
  });

  it("withdrawing the assignment stops its workspace with that reason", async () => {
    const ws = await provisioned("2.2");
    expect((await s.lead.post(`/api/v1/packages/${s.pkg["2.2"]?.id}/withdraw`, { reason: "体制変更" })).status).toBe(
      204,
    );
    // the former engineer sees it no more; the lead does
    expect((await s.sato.get(`/api/v1/packages/${s.pkg["2.2"]?.id}/workspace`)).status).toBe(404);
    expect(await (await s.lead.get(`/api/v1/packages/${s.pkg["2.2"]?.id}/workspace`)).json()).toMatchObject({
      id: ws.id,
      state: "stopped",
      reason: "the assignment ended (withdrawn)",
    });
  });

  it("cancelling the package stops its workspace at once, leaving the schedule nothing to stop", async () => {
    const ws = await provisioned("3.1");
    expect((await s.lead.post(`/api/v1/packages/${s.pkg["3.1"]?.id}/cancel`, { reason: "仕様変更" })).status).toBe(200);

    expect((await containersOf(ws.id)).map((c) => c.State)).toEqual(["exited"]);
    expect(await t.running.azusa.workspaces.stopEnded()).toBe(0);

    expect(await (await s.lead.get(`/api/v1/packages/${s.pkg["3.1"]?.id}/workspace`)).json()).toMatchObject({
      state: "stopped",
      reason: "the assignment ended (cancelled)",
    });
  });

  it("after acceptance and the retention period, the workspace and its volume are disposed of, recorded once", async () => {
    const ws = await provisioned("2.3");
    const [container] = await containersOf(ws.id);
    const acceptedAt = new Date(Date.now() - 31 * 24 * 60 * MINUTE).toISOString();
    // the delivery and acceptance flow is not this test's subject: the package is put in its final state
    await t.running.azusa.db.kysely
      .updateTable("work_package")
      .set({ state: "accepted", updated_at: acceptedAt })
      .where("id", "=", s.pkg["2.3"]?.id as string)
      .execute();

    expect(await t.running.azusa.workspaces.disposeRetained(new Date(Date.now() - 2 * 24 * 60 * MINUTE))).toBe(0);
    expect(await t.running.azusa.workspaces.disposeRetained()).toBe(1);

    expect((await s.sato.get(`/api/v1/packages/${s.pkg["2.3"]?.id}/workspace`)).status).toBe(404);
    expect(await containersOf(ws.id)).toEqual([]);
    expect((await docker.listVolumes({ filters: { label: [`io.azusa.workspace=${ws.id}`] } })).Volumes ?? []).toEqual(
      [],
    );
    const disposals = (await auditActions(10)).filter(
      (e) => e.subject === `workspace:${ws.id}` && e.action === "workspace.disposed",
    );
    expect(disposals).toHaveLength(1);
    expect(disposals[0]?.details).toMatchObject({
      reason: `retention of 30 days after acceptance on ${acceptedAt} ended`,
      container: container?.Id,
      volume: expect.stringContaining(ws.id),
      deletedAt: expect.any(String),
    });
  });
});

describe("warm pool", () => {
  const instance = `test-pool-${randomBytes(5).toString("hex")}`;
  let templatesDir: string;
  let t: TestAzusa;
  let s: WorkspaceSetup;

  beforeAll(async () => {
    templatesDir = await testTemplates();
    t = await startTestAzusa({
      env: {
        AZUSA_TEMPLATES_DIR: templatesDir,
        AZUSA_SCHEDULES: "off",
        AZUSA_INSTANCE_ID: instance,
        AZUSA_WARM_POOL: "1",
      },
    });
    s = await prepareWorkspaces(t.base, await t.signIn("root@office.example"));
  });

  afterAll(async () => {
    await t?.stop();
    await sweepInstance(docker, instance);
    if (templatesDir) rmSync(templatesDir, { recursive: true, force: true });
  });

  const poolContainers = () =>
    docker.listContainers({
      all: true,
      filters: { label: [`io.azusa.instance=${instance}`, "io.azusa.pool=default"] },
    });

  it("an assignment claims a running, hardened pool container, and the pool fills again", async () => {
    await t.running.azusa.pool.fill();
    const [pooled] = await poolContainers();
    expect(pooled?.State).toBe("running");

    const ws = await s.accept("2.3");
    await t.running.azusa.workspaces.settled(ws.id);
    expect(await (await s.sato.get(`/api/v1/packages/${s.pkg["2.3"]?.id}/workspace`)).json()).toMatchObject({
      state: "running",
      reason: "provisioned for the assignment",
    });
    const row = await t.running.azusa.db.kysely
      .selectFrom("workspace")
      .selectAll()
      .where("id", "=", ws.id)
      .executeTakeFirstOrThrow();
    expect(row.container_id).toBe(pooled?.Id);

    const info = await docker.getContainer(pooled?.Id as string).inspect();
    expect(info.HostConfig.CapDrop).toEqual(["ALL"]);
    expect(info.HostConfig.SecurityOpt).toContain("no-new-privileges:true");
    expect(info.HostConfig.NetworkMode).toBe("none");
    expect(info.HostConfig.ReadonlyRootfs).toBe(true);
    expect(info.HostConfig.Memory).toBe(128 * 1024 * 1024);
    expect(info.Config.User).toBe("1000:1000");

    await t.running.azusa.pool.fill();
    const refilled = await poolContainers();
    // labels stay as made: the claimed container keeps its pool label beside its successor's
    const successor = refilled.find((c) => c.Id !== pooled?.Id);
    expect(refilled).toHaveLength(2);
    expect(successor?.State).toBe("running");
  });

  it("reconcile keeps the pool's containers and the claimed one", async () => {
    const before = (await poolContainers()).map((c) => c.Id).sort();
    const result = await t.running.azusa.workspaces.reconcile();
    expect(result.orphansRemoved).toBe(0);
    expect((await poolContainers()).map((c) => c.Id).sort()).toEqual(before);
  });

  it("stopping Azusa removes the pool's unclaimed workspaces and keeps the claimed one", async () => {
    const claimed = await t.running.azusa.db.kysely
      .selectFrom("workspace")
      .select("container_id")
      .executeTakeFirstOrThrow();
    expect(await poolContainers()).toHaveLength(2);
    await t.running.stop();
    expect((await poolContainers()).map((c) => c.Id)).toEqual([claimed.container_id]);
  });
});
