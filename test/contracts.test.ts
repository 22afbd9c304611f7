// Contracts over HTTP: who creates and sees them, and the terms each contract type needs.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dialects } from "./support/databases.ts";
import { sampleContract } from "./support/fixtures.ts";
import { type Client, startTestAzusa, type TestAzusa } from "./support/harness.ts";

describe.each(dialects)("contracts on %s", (dialect) => {
  let t: TestAzusa;
  let as: Record<"operator" | "contractor" | "lead" | "otherLead" | "engineer" | "otherContractor", Client>;
  let leadId: string;
  let osakaId: string;

  beforeAll(async () => {
    t = await startTestAzusa({ dialect });
    const tokyo = await t.createTenant("東京システムインテグレーション");
    const osaka = await t.createTenant("大阪情報サービス");
    osakaId = osaka.id;
    await t.createUser("contractor", "buyer@tokyo-si.example", tokyo.id);
    leadId = (await t.createUser("lead", "lead@tokyo-si.example", tokyo.id)).id;
    await t.createUser("lead", "lead2@tokyo-si.example", tokyo.id);
    await t.createUser("engineer", "sato@matsumoto.example");
    await t.createUser("contractor", "buyer@osaka-is.example", osaka.id);
    as = {
      operator: await t.signIn("root@office.example"),
      contractor: await t.signIn("buyer@tokyo-si.example"),
      lead: await t.signIn("lead@tokyo-si.example"),
      otherLead: await t.signIn("lead2@tokyo-si.example"),
      engineer: await t.signIn("sato@matsumoto.example"),
      otherContractor: await t.signIn("buyer@osaka-is.example"),
    };
  });
  afterAll(() => t?.stop());

  it("lets a contractor create a 請負 contract with its lead, and records it", async () => {
    const res = await as.contractor.post("/api/v1/contracts", { ...sampleContract, leadIds: [leadId] });
    expect(res.status).toBe(201);
    const contract = await res.json();
    expect(contract).toMatchObject({
      ...sampleContract,
      leadIds: [leadId],
      band: null,
      maxPackageHours: 80,
      sourceRepository: null,
    });
    const audit = await (await as.contractor.get("/api/v1/audit-events?limit=1")).json();
    expect(audit.items[0]).toMatchObject({ action: "contract.created", subject: `contract:${contract.id}` });
  });

  it("needs the hours band for 準委任 and refuses one for 請負", async () => {
    const band = { monthlyFeeYen: 900_000, minHours: 140, maxHours: 180, overRateYen: 5_000, underRateYen: 6_400 };
    const juninin = await as.contractor.post("/api/v1/contracts", { ...sampleContract, type: "juninin", band });
    expect(juninin.status).toBe(201);
    expect((await juninin.json()).band).toEqual(band);

    const noBand = await as.contractor.post("/api/v1/contracts", { ...sampleContract, type: "juninin" });
    expect(noBand.status).toBe(400);
    expect((await noBand.json()).error.fields).toEqual([{ path: "band", message: expect.stringContaining("準委任") }]);

    const ukeoiBand = await as.contractor.post("/api/v1/contracts", { ...sampleContract, band });
    expect(ukeoiBand.status).toBe(400);
    const inJapanese = await as.contractor.request(
      "POST",
      "/api/v1/contracts",
      { ...sampleContract, band },
      { "accept-language": "ja" },
    );
    expect((await inJapanese.json()).error.fields).toEqual([
      { path: "band", message: "請負契約は成果物ごとの支払いのため、月間精算幅は設定できません" },
    ]);

    const upsideDown = await as.contractor.post("/api/v1/contracts", {
      ...sampleContract,
      type: "juninin",
      band: { ...band, minHours: 180, maxHours: 140 },
    });
    expect((await upsideDown.json()).error.fields[0].path).toBe("band.maxHours");
  });

  it("names each wrong field", async () => {
    const res = await as.contractor.post("/api/v1/contracts", {
      ...sampleContract,
      type: "haken",
      confidentiality: "secret",
      periodStart: "2027-13-01",
      sourceRepository: "ftp://example/repo",
    });
    expect(res.status).toBe(400);
    const paths = (await res.json()).error.fields.map((f: { path: string }) => f.path).sort();
    expect(paths).toEqual(["confidentiality", "periodStart", "sourceRepository", "type"]);
  });

  it("refuses an end before the start, and a lead from another tenant", async () => {
    const backwards = await as.contractor.post("/api/v1/contracts", { ...sampleContract, periodEnd: "2026-12-31" });
    expect((await backwards.json()).error.fields[0].path).toBe("periodEnd");
    const osakaUsers = await (await as.otherContractor.get("/api/v1/users")).json();
    const stranger = osakaUsers.items[0].id;
    const res = await as.contractor.post("/api/v1/contracts", { ...sampleContract, leadIds: [stranger] });
    expect(res.status).toBe(400);
    expect((await res.json()).error.fields[0].path).toBe("leadIds");
  });

  it("shows a contract to its tenant's contractors and its leads, and to nobody else", async () => {
    const contract = await (
      await as.contractor.post("/api/v1/contracts", { ...sampleContract, leadIds: [leadId] })
    ).json();
    const path = `/api/v1/contracts/${contract.id}`;
    const seen: Record<string, number> = {};
    for (const [who, client] of Object.entries(as)) seen[who] = (await client.get(path)).status;
    expect(seen).toEqual({
      operator: 404,
      contractor: 200,
      lead: 200,
      otherLead: 404,
      engineer: 404,
      otherContractor: 404,
    });

    const led = await (await as.lead.get("/api/v1/contracts")).json();
    expect(led.items.map((c: { id: string }) => c.id)).toContain(contract.id);
    expect((await (await as.otherLead.get("/api/v1/contracts")).json()).items).toEqual([]);
    expect((await (await as.otherContractor.get("/api/v1/contracts")).json()).items).toEqual([]);
  });

  it("lets only the tenant's contractor change a contract", async () => {
    const contract = await (
      await as.contractor.post("/api/v1/contracts", { ...sampleContract, leadIds: [leadId] })
    ).json();
    const path = `/api/v1/contracts/${contract.id}`;
    expect((await as.lead.request("PATCH", path, { title: "x" })).status).toBe(403);
    expect((await as.otherContractor.request("PATCH", path, { title: "x" })).status).toBe(404);
    const res = await as.contractor.request("PATCH", path, {
      title: "販売管理システム刷新 第2期",
      maxPackageHours: 60,
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ title: "販売管理システム刷新 第2期", maxPackageHours: 60 });
    expect((await as.contractor.request("PATCH", path, { type: "juninin" })).status).toBe(400);
  });

  it("takes a lead's contracts away when an operator moves the lead to another tenant", async () => {
    const moved = await t.createUser(
      "lead",
      `moving-${dialect}@tokyo-si.example`,
      (await (await as.contractor.get("/api/v1/tenants")).json()).items[0].id,
    );
    const contract = await (
      await as.contractor.post("/api/v1/contracts", { ...sampleContract, leadIds: [moved.id] })
    ).json();
    expect((await (await t.signIn(moved.email)).get(`/api/v1/contracts/${contract.id}`)).status).toBe(200);
    expect((await as.operator.put(`/api/v1/users/${moved.id}/role`, { role: "lead", tenantId: osakaId })).status).toBe(
      200,
    );
    expect((await (await t.signIn(moved.email)).get(`/api/v1/contracts/${contract.id}`)).status).toBe(404);
    expect((await (await as.contractor.get(`/api/v1/contracts/${contract.id}`)).json()).leadIds).toEqual([]);
  });

  it("lets only contractors create contracts", async () => {
    for (const who of ["operator", "lead", "engineer"] as const) {
      expect((await as[who].post("/api/v1/contracts", sampleContract)).status, who).toBe(403);
    }
  });
});
