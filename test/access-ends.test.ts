// Access ends when it is taken away, on the real engine and both databases: a lead withdraws an assignment
// the engineer has started, which stops the workspace and keeps its volume until someone destroys it; a
// former engineer cannot read, start or stop it; after 検収 the engineer's access ends; and who may start
// and stop a workspace.
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PackageState } from "../src/domain/packages/lifecycle.ts";
import { system } from "../src/kernel/actor.ts";
import { dialects } from "./support/databases.ts";
import { sweepInstance } from "./support/docker.ts";
import { templatesFolder } from "./support/gateway-world.ts";
import { type Client, startTestAzusa, type TestAzusa } from "./support/harness.ts";
import { ensureTestImage } from "./support/images.ts";
import { prepareWorkspaces, type WorkspaceSetup } from "./support/workspace-setup.ts";

const docker = new Docker();

describe.each(dialects)("access ends when it is taken away (%s)", (dialect) => {
  const instance = `test-access-${randomBytes(5).toString("hex")}`;
  let templatesDir: string;
  let t: TestAzusa;
  let operator: Client;
  let s: WorkspaceSetup;

  /** sato accepts the package and its workspace runs; then the package is moved along `path` as Azusa would. */
  const startedAt = async (wbsId: string, path: PackageState[]) => {
    const ws = await s.accept(wbsId);
    await t.running.azusa.workspaces.settled(ws.id);
    for (const to of path) await t.running.azusa.packages.transition(system("test"), s.pkg[wbsId]?.id as string, to);
    return ws.id as string;
  };
  const volumeOf = async (workspaceId: string) =>
    (await docker.listVolumes({ filters: { label: [`io.azusa.workspace=${workspaceId}`] } })).Volumes ?? [];

  beforeAll(async () => {
    const resources = { cpus: 1, memoryMiB: 128, pids: 64, diskMiB: 64 };
    templatesDir = templatesFolder(await ensureTestImage(docker), 128, { resources });
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
    if (templatesDir) rmSync(templatesDir, { recursive: true, force: true });
  });

  it.each<[string, PackageState[]]>([
    ["1.1.1", ["in_progress"]],
    ["1.1.2", ["in_progress", "in_review"]],
    ["1.2.1", ["in_progress", "in_review", "changes_requested"]],
  ])("a lead withdraws the assignment of %s after the engineer started (%j)", async (wbsId, path) => {
    const id = await startedAt(wbsId, path);
    const packageId = s.pkg[wbsId]?.id as string;

    expect((await s.lead.post(`/api/v1/packages/${packageId}/withdraw`, { reason: "体制変更" })).status).toBe(204);

    expect((await (await s.lead.get(`/api/v1/packages/${packageId}`)).json()).state).toBe("open");
    expect(await (await s.lead.get(`/api/v1/packages/${packageId}/workspace`)).json()).toMatchObject({
      id,
      state: "stopped",
      reason: "the assignment ended (withdrawn)",
    });
    expect(await volumeOf(id)).toHaveLength(1); // kept until the lead or an operator destroys it
    const access = await t.running.azusa.engineers.access(s.satoId, packageId);
    expect(access).toMatchObject({ ok: false, reason: "the package is not assigned to this engineer" });
    // the former engineer: nothing to read, start or stop
    expect((await s.sato.get(`/api/v1/packages/${packageId}/workspace`)).status).toBe(404);
    expect((await s.sato.post(`/api/v1/workspaces/${id}/start`)).status).toBe(404);
    expect((await s.sato.post(`/api/v1/workspaces/${id}/stop`)).status).toBe(404);
  });

  it("the lead destroys a withdrawn assignment's workspace with its volume, audited as a disposal", async () => {
    const id = await startedAt("1.2.2", ["in_progress"]);
    const packageId = s.pkg["1.2.2"]?.id as string;
    expect((await s.lead.post(`/api/v1/packages/${packageId}/withdraw`, { reason: "体制変更" })).status).toBe(204);

    const res = await s.lead.post(`/api/v1/workspaces/${id}/destroy`, { reason: "引き継ぎ完了" });
    expect(res.status).toBe(200);
    expect(await volumeOf(id)).toEqual([]);
    const events = (await (await operator.get("/api/v1/audit-events?limit=50")).json()).items as {
      action: string;
      subject: string;
      details: Record<string, unknown>;
    }[];
    const disposal = events.find((e) => e.subject === `workspace:${id}` && e.action === "workspace.disposed");
    expect(disposal?.details).toMatchObject({ reason: "引き継ぎ完了", volume: expect.stringContaining(id) });
  });

  it("a package delivered cannot be withdrawn: acceptance or rejection decides", async () => {
    await startedAt("2.1", ["in_progress", "in_review", "delivered"]);
    const res = await s.lead.post(`/api/v1/packages/${s.pkg["2.1"]?.id}/withdraw`, { reason: "体制変更" });
    expect(res.status).toBe(409);
    expect((await res.json()).error.message).toContain("package is delivered");
  });

  it("after 検収 the engineer's access ends: no session, no start, while lead and operator may still stop", async () => {
    const id = await startedAt("2.2", ["in_progress", "in_review", "delivered", "accepted"]);
    const packageId = s.pkg["2.2"]?.id as string;

    expect(await t.running.azusa.engineers.access(s.satoId, packageId)).toMatchObject({
      ok: false,
      reason: "the package was accepted (検収): the engineer's access has ended",
    });
    expect((await s.sato.post(`/api/v1/workspaces/${id}/stop`)).status).toBe(200);
    const start = await s.sato.post(`/api/v1/workspaces/${id}/start`);
    expect(start.status).toBe(403);
    expect((await start.json()).error.message).toContain("access to the workspace has ended");
    expect((await s.lead.post(`/api/v1/workspaces/${id}/stop`)).status).toBe(200);
  });

  it("the engineer starts and stops; the lead and an operator stop but never start; a contractor does neither", async () => {
    const id = await startedAt("2.3", ["in_progress"]);
    const post = (who: Client, action: "start" | "stop") => who.post(`/api/v1/workspaces/${id}/${action}`);

    expect(await (await post(s.lead, "stop")).json()).toMatchObject({ state: "stopped", reason: "stopped by lead" });
    expect((await post(s.lead, "start")).status).toBe(403);
    expect((await post(operator, "start")).status).toBe(403);
    expect((await post(s.contractor, "start")).status).toBe(403);
    expect(await (await post(s.sato, "start")).json()).toMatchObject({
      state: "running",
      reason: "started by engineer",
    });
    expect((await post(s.contractor, "stop")).status).toBe(403);
    expect(await (await post(operator, "stop")).json()).toMatchObject({
      state: "stopped",
      reason: "stopped by operator",
    });
    expect(await (await post(s.sato, "start")).json()).toMatchObject({ state: "running" });
    expect(await (await post(s.sato, "stop")).json()).toMatchObject({
      state: "stopped",
      reason: "stopped by engineer",
    });
  });
});
