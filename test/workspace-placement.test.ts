// Placement over two real engines: the local one and a second dockerd reached over mutual TLS. A restricted
// contract's workspace waits, pending with the reason, until a host labelled for its tenant is registered,
// then runs there; its checkout, stop and reconcile reach that engine; the least loaded host takes the next.
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { until } from "./support/cli.ts";
import { dialects } from "./support/databases.ts";
import { sampleContract } from "./support/fixtures.ts";
import { type Client, startTestAzusa, type TestAzusa } from "./support/harness.ts";
import { secondEngineForTests } from "./support/second-engine.ts";
import { SAMPLE_WBS_ROWS, utf8Csv } from "./support/wbs-files.ts";
import { prepareWorkspaces, type WorkspaceSetup } from "./support/workspace-setup.ts";

type Ws = { id: string; state: string; reason: string; hostId: string | null; checkout: string };

const engine = secondEngineForTests();

describe.each(dialects)("placement on %s", (dialect) => {
  const local = new Docker();
  let t: TestAzusa;
  let operator: Client;
  let setup: WorkspaceSetup;
  let restricted: Record<string, { id: string }>;
  let tenantId: string;
  let hostId: string;
  let waiting: Ws;

  /** The workspace of a package as its engineer sees it, once nothing is in flight for it here. */
  async function workspaceOf(packageId: string | undefined): Promise<Ws> {
    const first = (await (await setup.sato.get(`/api/v1/packages/${packageId}/workspace`)).json()) as Ws;
    await t.running.azusa.workspaces.settled(first.id);
    return (await (await setup.sato.get(`/api/v1/packages/${packageId}/workspace`)).json()) as Ws;
  }

  /** Offers a package to sato, who accepts; the workspace as it stands once its provisioning has settled. */
  async function accept(packageId: string | undefined): Promise<Ws> {
    expect((await setup.lead.post(`/api/v1/packages/${packageId}/open`)).status).toBe(200);
    const offered = await setup.lead.post(`/api/v1/packages/${packageId}/offers`, { engineerId: setup.satoId });
    const offer = await offered.json();
    expect(offered.status, JSON.stringify(offer)).toBe(201);
    const accepted = await setup.sato.post(`/api/v1/offers/${offer.id}/accept`);
    expect(accepted.status, await accepted.text()).toBe(200);
    return workspaceOf(packageId);
  }

  const containersOn = (docker: Docker, workspaceId: string) =>
    docker.listContainers({
      all: true,
      filters: { label: [`io.azusa.workspace=${workspaceId}`, "io.azusa.role=workspace"] },
    });

  beforeAll(async () => {
    t = await startTestAzusa({ dialect, env: { AZUSA_SCHEDULES: "off" } });
    operator = await t.signIn("root@office.example");
    setup = await prepareWorkspaces(t.base, operator, `-${dialect}`);
    const leadId = (await (await setup.lead.get("/api/v1/me")).json()).id;
    const cleared = await operator.post(`/api/v1/engineers/${setup.satoId}/vetting`, {
      kind: "restricted_clearance",
      issuedOn: "2026-01-01",
      expiresOn: "2028-01-01",
    });
    expect(cleared.status).toBe(201);
    tenantId = (await (await setup.contractor.get("/api/v1/me")).json()).tenantId;
    const contract = await (
      await setup.contractor.post("/api/v1/contracts", {
        ...sampleContract,
        confidentiality: "restricted",
        leadIds: [leadId],
      })
    ).json();
    const imported = await setup.contractor.request(
      "POST",
      `/api/v1/contracts/${contract.id}/wbs`,
      utf8Csv(SAMPLE_WBS_ROWS),
      {
        "content-type": "text/csv",
      },
    );
    expect(imported.status).toBeLessThan(300);
    const items = (await (await setup.lead.get(`/api/v1/contracts/${contract.id}/packages`)).json()).items;
    restricted = Object.fromEntries(items.map((p: { wbsId: string }) => [p.wbsId, p]));
  }, 120_000);

  afterAll(async () => {
    await t?.stop();
    const label = [`io.azusa.tenant=${tenantId}`];
    for (const c of await engine()
      .docker.listContainers({ all: true, filters: { label } })
      .catch(() => []))
      await engine()
        .docker.getContainer(c.Id)
        .remove({ force: true, v: true })
        .catch(() => undefined);
  });

  it("a restricted contract's workspace waits, pending with the reason, while no host is labelled for its tenant", async () => {
    waiting = await accept(restricted["2.3"]?.id);
    expect(waiting).toMatchObject({ state: "pending", hostId: null });
    expect(waiting.reason).toMatch(/^waiting for a workspace host labelled for the tenant of this restricted contract/);
    expect(waiting.reason).toContain("local: not labelled for the tenant");
    expect(await containersOn(local, waiting.id)).toEqual([]);
    const audit = await (await operator.get("/api/v1/audit-events?limit=10")).json();
    expect(audit.items.map((e: { action: string }) => e.action)).toContain("workspace.pending");
  });

  it("still waits on a host over TLS, which cannot limit the default volume size, until an operator allows it", async () => {
    const res = await operator.post("/api/v1/workspace-hosts", {
      name: `tenant-host-${dialect}`,
      endpoint: { kind: "tls", url: engine().url, ...engine().credentials },
      labels: { tenant: tenantId, zone: "nagano-1" },
      capacity: { cpus: 2, memoryMiB: 4096, diskMiB: 20480, workspaces: 4 },
    });
    expect(res.status).toBe(201);
    const host = await res.json();
    hostId = host.id;
    expect(host.unlimitedVolumes).toBe(false);
    // the registration tries the placement again: refused there, saying why
    const refused = await until("the pending workspace to be tried on the new host", async () => {
      const w = await workspaceOf(restricted["2.3"]?.id);
      return w.reason.includes(`tenant-host-${dialect}`) ? w : undefined;
    });
    expect(refused).toMatchObject({ state: "pending", hostId: null });
    expect(refused.reason).toContain(
      `tenant-host-${dialect}: cannot limit a volume's size there, and is not allowed unlimited volumes`,
    );
    expect(await containersOn(engine().docker, waiting.id)).toEqual([]);
    const page = await (await operator.get("/workspace-hosts?lang=en")).text();
    expect(page).toContain("Takes no workspaces: it cannot limit a volume&#39;s size");
    const bad = await operator.request("PATCH", `/api/v1/workspace-hosts/${hostId}`, { unlimitedVolumes: "yes" });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.fields.map((f: { path: string }) => f.path)).toEqual(["unlimitedVolumes"]);
  });

  it("starts on the host registered for its tenant once it may take unlimited volumes, and its code is checked out there", async () => {
    const allowed = await operator.request("PATCH", `/api/v1/workspace-hosts/${hostId}`, { unlimitedVolumes: true });
    expect(allowed.status).toBe(200);
    expect((await allowed.json()).unlimitedVolumes).toBe(true);
    const changes = await (await operator.get("/api/v1/audit-events?limit=30")).json();
    expect(changes.items).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ action: "workspace_host.updated", subject: `workspace_host:${hostId}` }),
      ]),
    );
    // the change starts the placement; wait for it to leave `pending`, then for its provisioning
    let ws = waiting;
    for (let i = 0; i < 300 && (ws.state === "pending" || ws.state === "provisioning"); i++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      ws = await workspaceOf(restricted["2.3"]?.id);
    }
    expect(ws).toMatchObject({ id: waiting.id, state: "running", hostId, checkout: "done" });
    expect(await containersOn(engine().docker, ws.id)).toHaveLength(1);
    expect(await containersOn(local, ws.id)).toEqual([]);
    // the fork was seeded by commands run in the container on the second engine
    const audit = await (await operator.get("/api/v1/audit-events?limit=30")).json();
    expect(audit.items).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ action: "repository.fork_created", subject: `workspace:${ws.id}` }),
      ]),
    );
  });

  it("a template that states its volume's size is not placed on a host over TLS, which cannot limit it", async () => {
    const hosts = t.running.azusa.workspaceHosts;
    const needs = { tenantId, restricted: true, egress: false };
    expect(await hosts.place(needs, async () => {})).toEqual({ hostId });
    expect(await hosts.place({ ...needs, diskLimit: true }, async () => {})).toEqual({
      pending: `waiting for a workspace host labelled for the tenant of this restricted contract (local: not labelled for the tenant; tenant-host-${dialect}: cannot limit a volume's size there)`,
    });
  });

  it("a host with a workspace on it is not removed", async () => {
    const res = await operator.delete(`/api/v1/workspace-hosts/${hostId}`);
    expect(res.status).toBe(409);
    const host = await (await operator.get(`/api/v1/workspace-hosts/${hostId}`)).json();
    expect(host).toMatchObject({ workspaces: 1, health: { running: 1, hardening: { ok: true, inspected: 1 } } });
  });

  it("stop and start reach the workspace's own engine", async () => {
    const [container] = await containersOn(engine().docker, waiting.id);
    expect((await setup.sato.post(`/api/v1/workspaces/${waiting.id}/stop`)).status).toBe(200);
    expect(
      (
        await engine()
          .docker.getContainer(container?.Id ?? "")
          .inspect()
      ).State.Running,
    ).toBe(false);
    expect((await setup.sato.post(`/api/v1/workspaces/${waiting.id}/start`)).status).toBe(200);
    expect(
      (
        await engine()
          .docker.getContainer(container?.Id ?? "")
          .inspect()
      ).State.Running,
    ).toBe(true);
  });

  it("a workspace on a host marked down, or whose engine does not answer, is shown unavailable with the reason", async () => {
    const packageId = restricted["2.3"]?.id;
    const shown = async () =>
      (await (await setup.sato.get(`/api/v1/packages/${packageId}/workspace`)).json()).unavailable;
    expect(await shown()).toBeNull();
    const down = await operator.post(`/api/v1/workspace-hosts/${hostId}/down`, { reason: "rack power lost" });
    expect(down.status).toBe(200);
    const lost = { hostId, hostName: `tenant-host-${dialect}`, why: "down", detail: "rack power lost" };
    expect(await shown()).toEqual(lost);
    const mine = await (await setup.sato.get("/my-packages")).text();
    expect(mine).toContain(
      `利用できません: ワークスペースホスト tenant-host-${dialect} は停止中です（rack power lost）。`,
    );
    const listed = await (await operator.get("/workspaces?lang=en")).text();
    expect(listed).toContain(
      `Unavailable: its workspace host tenant-host-${dialect} is marked down (rack power lost).`,
    );
    expect((await operator.post(`/api/v1/workspace-hosts/${hostId}/activate`)).status).toBe(200);
    expect(await shown()).toBeNull();

    // the host lost to the network: its engine does not answer
    await engine().reachable(false);
    try {
      const silent = await until(
        "the host to be seen silent",
        async () => {
          const u = await shown();
          return u?.why === "unreachable" ? u : undefined;
        },
        60_000,
      );
      expect(silent).toMatchObject({ hostId, hostName: `tenant-host-${dialect}` });
      expect(silent.detail).not.toBe("");
      const page = await (await setup.lead.get(`/packages/${packageId}?lang=en`)).text();
      expect(page).toContain(`Unavailable: its workspace host tenant-host-${dialect} does not answer (`);
    } finally {
      await engine().reachable(true);
    }
    await until("the host to answer again", async () => ((await shown()) === null ? true : undefined), 60_000);
  }, 120_000);

  it("another tenant's workspace is never placed on a host set aside for this one; the least loaded host wins", async () => {
    // the tenant's own unrestricted package: both hosts fit, and `local` (0 of 100) is less loaded than 1 of 4
    const ws = await accept(setup.pkg["2.3"]?.id);
    expect(ws).toMatchObject({ state: "running", hostId: "local" });
    expect(await containersOn(local, ws.id)).toHaveLength(1);
    expect(await containersOn(engine().docker, ws.id)).toEqual([]);
  });

  it("reconcile compares each host's engine with its own workspaces", async () => {
    const before = await t.running.azusa.workspaces.reconcile();
    expect(before.vanished).toBe(0);
    expect(await workspaceOf(restricted["2.3"]?.id)).toMatchObject({ state: "running", hostId });
    // a container removed behind Azusa's back on the second engine is seen there
    const [container] = await containersOn(engine().docker, waiting.id);
    await engine()
      .docker.getContainer(container?.Id ?? "")
      .remove({ force: true });
    const after = await t.running.azusa.workspaces.reconcile();
    expect(after.vanished).toBe(1);
    expect(await workspaceOf(restricted["2.3"]?.id)).toMatchObject({
      state: "failed",
      reason: "its container vanished from the engine",
    });
  });
});
