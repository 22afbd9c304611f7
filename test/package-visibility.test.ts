// A package seen through its contract, read the same way wherever a module needs one: its tenant's contractors
// and the leads named on its contract get past the check (and meet the module's own rules), people of another
// tenant get the 404 a package that does not exist gets, word for word.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dialects } from "./support/databases.ts";
import { sampleContract } from "./support/fixtures.ts";
import { type ApiResponse, type Client, startTestAzusa, type TestAzusa } from "./support/harness.ts";
import { SAMPLE_WBS_ROWS, utf8Csv } from "./support/wbs-files.ts";

describe.each(dialects)("a package seen through its contract on %s", (dialect) => {
  let t: TestAzusa;
  let contractor: Client;
  let lead: Client;
  let osakaContractor: Client;
  let osakaLead: Client;
  let packageId: string;
  const missing = "00000000-0000-4000-8000-000000000000";

  beforeAll(async () => {
    t = await startTestAzusa({ dialect, env: { AZUSA_SCHEDULES: "off" } });
    const tokyo = await t.createTenant("東京システムインテグレーション");
    const osaka = await t.createTenant("大阪データサービス");
    await t.createUser("contractor", "buyer@tokyo-si.example", tokyo.id);
    const leadId = (await t.createUser("lead", "lead@tokyo-si.example", tokyo.id)).id;
    await t.createUser("contractor", "buyer@osaka-ds.example", osaka.id);
    const osakaLeadId = (await t.createUser("lead", "lead@osaka-ds.example", osaka.id)).id;
    contractor = await t.signIn("buyer@tokyo-si.example");
    lead = await t.signIn("lead@tokyo-si.example");
    osakaContractor = await t.signIn("buyer@osaka-ds.example");
    osakaLead = await t.signIn("lead@osaka-ds.example");
    const contractId = (
      await (await contractor.post("/api/v1/contracts", { ...sampleContract, leadIds: [leadId] })).json()
    ).id;
    await contractor.request("POST", `/api/v1/contracts/${contractId}/wbs`, utf8Csv(SAMPLE_WBS_ROWS), {
      "content-type": "text/csv",
    });
    const items = (await (await lead.get(`/api/v1/contracts/${contractId}/packages`)).json()).items;
    packageId = items.find((p: { wbsId: string }) => p.wbsId === "2.1").id;
    // Osaka's lead leads a contract of their own: a lead, only not of this one.
    await osakaContractor.post("/api/v1/contracts", { ...sampleContract, leadIds: [osakaLeadId] });
  });
  afterAll(() => t?.stop());

  /** Each request that reads a package through its contract, with who passes the check and the status they get then. */
  const reads: {
    what: string;
    as: () => Client;
    send: (c: Client, id: string) => Promise<ApiResponse>;
    status: number;
  }[] = [
    { what: "the package", as: () => lead, send: (c, id) => c.get(`/api/v1/packages/${id}`), status: 200 },
    { what: "its pull requests", as: () => lead, send: (c, id) => c.get(`/api/v1/packages/${id}/pulls`), status: 200 },
    {
      what: "its deliveries",
      as: () => contractor,
      send: (c, id) => c.get(`/api/v1/packages/${id}/deliveries`),
      status: 200,
    },
    {
      what: "the acceptance of its delivery (nothing delivered yet)",
      as: () => contractor,
      send: (c, id) => c.post(`/api/v1/packages/${id}/accept-delivery`),
      status: 409,
    },
    {
      what: "its sessions",
      as: () => lead,
      send: (c, id) => c.get(`/api/v1/packages/${id}/sessions`),
      status: 200,
    },
    {
      what: "its GitHub repository (no organization set up)",
      as: () => lead,
      send: (c, id) => c.post(`/api/v1/packages/${id}/github-repository`, { engineerLogin: "sato" }),
      status: 409,
    },
  ];

  it.each(reads)("lets its own people reach $what, and answers another tenant as for no package", async (r) => {
    expect((await r.send(r.as(), packageId)).status).toBe(r.status);
    const stranger = r.as() === lead ? osakaLead : osakaContractor;
    const refused = await r.send(stranger, packageId);
    expect(refused.status).toBe(404);
    const absent = await r.send(r.as(), missing);
    expect(absent.status).toBe(404);
    const { requestId: _a, ...refusal } = (await refused.json()).error;
    const { requestId: _b, ...absence } = (await absent.json()).error;
    expect(refusal).toEqual(absence);
    expect(refusal.code).toBe("NOT_FOUND");
  });
});
