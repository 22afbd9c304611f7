// A contract may ask for workspace host labels (office, zone): its workspaces are placed only on hosts carrying
// them, besides the template's; with none fitting a workspace waits pending with the reason, and a host
// registered or a contract's labels changed lets it start. The labelled host is the local engine again,
// registered through its socket.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { until } from "./support/cli.ts";
import { dialects } from "./support/databases.ts";
import { sampleContract } from "./support/fixtures.ts";
import { type Client, startTestAzusa, type TestAzusa } from "./support/harness.ts";
import { csrfTokenIn, getPage, postForm } from "./support/pages.ts";
import { importSampleContract, prepareWorkspaces, type WorkspaceSetup } from "./support/workspace-setup.ts";

type Ws = { id: string; state: string; reason: string; hostId: string | null };

describe.each(dialects)("placement by a contract's host labels on %s", (dialect) => {
  let t: TestAzusa;
  let operator: Client;
  let setup: WorkspaceSetup;
  let other: WorkspaceSetup;
  let contractId: string;
  let packages: Record<string, { id: string }>;
  let hostId: string;

  const workspaceOf = async (packageId: string | undefined): Promise<Ws> =>
    (await setup.sato.get(`/api/v1/packages/${packageId}/workspace`)).json();

  beforeAll(async () => {
    t = await startTestAzusa({ dialect, env: { AZUSA_SCHEDULES: "off" } });
    operator = await t.signIn("root@office.example");
    setup = await prepareWorkspaces(t.base, operator, `-${dialect}`);
    other = await prepareWorkspaces(t.base, operator, `-other-${dialect}`);
    const leadId = (await (await setup.lead.get("/api/v1/me")).json()).id;
    ({ contractId, packages } = await importSampleContract(setup.contractor, setup.lead, leadId, {
      hostLabels: { zone: "tokyo-9" },
    }));
  }, 180_000);

  afterAll(async () => {
    await t?.stop();
  });

  it("keeps the labels a contract asks for, and refuses a label that is not one, naming it and writing nothing", async () => {
    const contract = await (await setup.contractor.get(`/api/v1/contracts/${contractId}`)).json();
    expect(contract.hostLabels).toEqual({ zone: "tokyo-9" });
    const plain = await (await setup.contractor.post("/api/v1/contracts", sampleContract)).json();
    expect(plain.hostLabels).toEqual({});

    const bad = await setup.contractor.request("PATCH", `/api/v1/contracts/${contractId}`, {
      hostLabels: { zone: "tokyo 9" },
    });
    expect(bad.status).toBe(400);
    const { error } = await bad.json();
    expect(error).toMatchObject({ code: "VALIDATION", requestId: expect.any(String) });
    expect(error.fields.map((f: { path: string }) => f.path)).toEqual(["hostLabels.zone"]);
    const tenantLabel = await setup.contractor.request("PATCH", `/api/v1/contracts/${contractId}`, {
      hostLabels: { tenant: "x" },
    });
    expect(tenantLabel.status).toBe(400);
    const after = await (await setup.contractor.get(`/api/v1/contracts/${contractId}`)).json();
    expect(after.hostLabels).toEqual({ zone: "tokyo-9" });
  });

  it("another tenant's contractor can neither see nor change them", async () => {
    expect((await other.contractor.get(`/api/v1/contracts/${contractId}`)).status).toBe(404);
    const res = await other.contractor.request("PATCH", `/api/v1/contracts/${contractId}`, {
      hostLabels: { zone: "nagano-1" },
    });
    expect(res.status).toBe(404);
    const still = await (await setup.contractor.get(`/api/v1/contracts/${contractId}`)).json();
    expect(still.hostLabels).toEqual({ zone: "tokyo-9" });
  });

  it("a workspace waits, pending with the reason, while no host carries the contract's labels", async () => {
    const packageId = packages["2.3"]?.id;
    expect((await setup.lead.post(`/api/v1/packages/${packageId}/open`)).status).toBe(200);
    const offered = await setup.lead.post(`/api/v1/packages/${packageId}/offers`, { engineerId: setup.satoId });
    expect(offered.status).toBe(201);
    const accepted = await setup.sato.post(`/api/v1/offers/${(await offered.json()).id}/accept`);
    expect(accepted.status, await accepted.text()).toBe(200);
    await t.running.azusa.workspaces.settled((await workspaceOf(packageId)).id);
    const waiting = await workspaceOf(packages["2.3"]?.id);
    expect(waiting).toMatchObject({ state: "pending", hostId: null });
    expect(waiting.reason).toBe(
      "waiting for a workspace host that fits (local: not labelled zone=tokyo-9, as the contract asks)",
    );

    // a host is registered with other labels: still waiting, and it is named in the reason
    const res = await operator.post("/api/v1/workspace-hosts", {
      name: `nagano-${dialect}`,
      endpoint: { kind: "socket", path: "/var/run/docker.sock" },
      labels: { office: "matsumoto", zone: "nagano-1" },
      capacity: { cpus: 2, memoryMiB: 4096, diskMiB: 20480, workspaces: 4 },
    });
    expect(res.status, await res.clone().text()).toBe(201);
    hostId = (await res.json()).id;
    const still = await until("the pending workspace to be tried again", async () => {
      const w = await workspaceOf(packages["2.3"]?.id);
      return w.reason.includes(`nagano-${dialect}`) ? w : undefined;
    });
    expect(still).toMatchObject({ state: "pending", hostId: null });
    expect(still.reason).toContain(`nagano-${dialect}: not labelled zone=tokyo-9, as the contract asks`);
  });

  it("starts on a host carrying them once the contract asks for labels that host has", async () => {
    const changed = await setup.contractor.request("PATCH", `/api/v1/contracts/${contractId}`, {
      hostLabels: { office: "matsumoto", zone: "nagano-1" },
    });
    expect(changed.status, await changed.clone().text()).toBe(200);
    expect((await changed.json()).hostLabels).toEqual({ office: "matsumoto", zone: "nagano-1" });
    const started = await until(
      "the workspace to be placed and running",
      async () => {
        const w = await workspaceOf(packages["2.3"]?.id);
        return w.state === "running" || w.state === "failed" ? w : undefined;
      },
      120_000,
    );
    expect(started).toMatchObject({ state: "running", hostId });
  });

  it("combines the contract's labels with the template's: a host must carry both", async () => {
    const hosts = t.running.azusa.workspaceHosts;
    const needs = { tenantId: "any", restricted: false, egress: false };
    expect(
      await hosts.place(
        { ...needs, labels: { office: "matsumoto" }, contractLabels: { zone: "nagano-1" } },
        async () => {},
      ),
    ).toEqual({ hostId });
    expect(
      await hosts.place(
        { ...needs, labels: { office: "matsumoto" }, contractLabels: { zone: "tokyo-9" } },
        async () => {},
      ),
    ).toEqual({
      pending: `waiting for a workspace host that fits (local: not labelled office=matsumoto; nagano-${dialect}: not labelled zone=tokyo-9, as the contract asks)`,
    });
  });

  it("the contract form takes the labels, and the contract's page shows them", async () => {
    const token = csrfTokenIn((await getPage(setup.contractor, "/contracts/new")).html);
    const res = await postForm(setup.contractor, "/contracts", {
      _csrf: token,
      title: "ラベル付き契約",
      client: "株式会社松本精密",
      type: "ukeoi",
      confidentiality: "internal",
      periodStart: "2027-04-01",
      periodEnd: "2027-09-30",
      hostOffice: "matsumoto",
      hostZone: "",
    });
    expect(res.status, res.html).toBe(303);
    const id = res.location?.split("?")[0]?.split("/").pop();
    const made = await (await setup.contractor.get(`/api/v1/contracts/${id}`)).json();
    expect(made.hostLabels).toEqual({ office: "matsumoto" });
    const page = await getPage(setup.contractor, `/contracts/${id}`);
    expect(page.html).toMatch(/<dd id="host-labels">office=matsumoto<\/dd>/);

    const bad = await postForm(setup.contractor, "/contracts", {
      _csrf: token,
      title: "ラベルが不正な契約",
      client: "株式会社松本精密",
      type: "ukeoi",
      confidentiality: "internal",
      periodStart: "2027-04-01",
      periodEnd: "2027-09-30",
      hostZone: "nagano 1",
    });
    expect(bad.status).toBe(400);
    expect(bad.html).toContain("hostLabels.zone");
    const titles = (await (await setup.contractor.get("/api/v1/contracts")).json()).items.map(
      (c: { title: string }) => c.title,
    );
    expect(titles).not.toContain("ラベルが不正な契約");
  });
});
