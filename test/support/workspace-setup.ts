// Over HTTP, what a workspace test needs before its first assignment: a tenant, its contractor and
// lead, a vetted engineer able to take every sample package, and the sample WBS imported.
import { mkdirSync, renameSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import { sampleContract } from "./fixtures.ts";
import { Client, PASSWORD, type TestAzusa } from "./harness.ts";
import { SAMPLE_WBS_ROWS, utf8Csv } from "./wbs-files.ts";

/** The people and packages of one workspace test. */
export interface WorkspaceSetup {
  contractor: Client;
  lead: Client;
  sato: Client;
  satoId: string;
  /** Sample packages by WBS id. */
  pkg: Record<string, { id: string }>;
  /** Opens the package, offers it to sato, has sato accept; returns the new workspace as sato sees it. */
  accept(wbsId: string): Promise<{ id: string; state: string; reason: string }>;
}

/** Every skill the sample WBS asks for, at level 5. */
const allSampleSkills = ["java", "spring", "oracle", "sql", "業務分析", "テスト設計"].map((skill) => ({
  skill,
  level: 5,
}));

async function invite(by: Client, base: string, email: string, role: string, tenantId: string | null) {
  const res = await by.post("/api/v1/invitations", { email, role, tenantId });
  expect(res.status).toBe(201);
  const { token } = await res.json();
  const accepted = await new Client(base).post("/api/v1/invitations/accept", {
    token,
    name: email.split("@")[0],
    password: PASSWORD,
  });
  expect(accepted.status).toBeLessThan(300);
  const client = new Client(base);
  expect((await client.post("/api/auth/sign-in/email", { email, password: PASSWORD })).status).toBe(200);
  return { client, id: (await (await client.get("/api/v1/me")).json()).id as string };
}

/**
 * Builds the setup through the API of the Azusa at `base`, as `operator` (signed in); `suffix` keeps
 * emails apart when one Azusa serves several setups.
 */
export async function prepareWorkspaces(base: string, operator: Client, suffix = ""): Promise<WorkspaceSetup> {
  const tenant = await (await operator.post("/api/v1/tenants", { name: `東京SI${suffix}` })).json();
  const contractor = await invite(operator, base, `buyer${suffix}@tokyo-si.example`, "contractor", tenant.id);
  const lead = await invite(contractor.client, base, `lead${suffix}@tokyo-si.example`, "lead", tenant.id);
  const sato = await invite(operator, base, `sato${suffix}@matsumoto.example`, "engineer", null);
  await operator.put(`/api/v1/engineers/${sato.id}`, { weeklyCapacityHours: 40, skills: allSampleSkills });
  await vetFully(operator, sato.id);
  const { packages: pkg } = await importSampleContract(contractor.client, lead.client, lead.id);
  return {
    contractor: contractor.client,
    lead: lead.client,
    sato: sato.client,
    satoId: sato.id,
    pkg,
    async accept(wbsId) {
      const id = pkg[wbsId]?.id;
      expect((await lead.client.post(`/api/v1/packages/${id}/open`)).status).toBe(200);
      const offer = await (await lead.client.post(`/api/v1/packages/${id}/offers`, { engineerId: sato.id })).json();
      expect((await sato.client.post(`/api/v1/offers/${offer.id}/accept`)).status).toBe(200);
      return (await sato.client.get(`/api/v1/packages/${id}/workspace`)).json();
    },
  };
}

/** Records, as `operator`, every vetting an engineer needs (NDA, background check, security training) until 2028. */
export async function vetFully(operator: Client, engineerId: string): Promise<void> {
  for (const kind of ["nda", "background_check", "security_training"]) {
    const res = await operator.post(`/api/v1/engineers/${engineerId}/vetting`, {
      kind,
      issuedOn: "2026-01-01",
      expiresOn: "2028-01-01",
    });
    expect(res.status).toBe(201);
  }
}

/** Records, as `operator`, the `my_number` vetting (until 2028) of engineers (a profile first, if they have none) and of leads. */
export async function vetForMyNumber(
  operator: Client,
  people: { engineers?: string[]; leads?: string[] },
): Promise<void> {
  const body = { kind: "my_number", issuedOn: "2026-01-01", expiresOn: "2028-01-01" };
  for (const id of people.engineers ?? []) {
    if ((await operator.get(`/api/v1/engineers/${id}`)).status === 404) {
      expect((await operator.put(`/api/v1/engineers/${id}`, { weeklyCapacityHours: 40, skills: [] })).status).toBe(200);
    }
    expect((await operator.post(`/api/v1/engineers/${id}/vetting`, body)).status).toBe(201);
  }
  for (const id of people.leads ?? []) {
    expect((await operator.post(`/api/v1/leads/${id}/vetting`, body)).status).toBe(201);
  }
}

/**
 * The sample contract with `leadId` as its lead (and `more` of its fields) and the sample WBS imported; its
 * packages by WBS id.
 */
export async function importSampleContract(
  contractor: Client,
  lead: Client,
  leadId: string,
  more: Record<string, unknown> = {},
): Promise<{ contractId: string; packages: Record<string, { id: string }> }> {
  const contract = await (
    await contractor.post("/api/v1/contracts", { ...sampleContract, leadIds: [leadId], ...more })
  ).json();
  const imported = await contractor.request("POST", `/api/v1/contracts/${contract.id}/wbs`, utf8Csv(SAMPLE_WBS_ROWS), {
    "content-type": "text/csv",
  });
  expect(imported.status).toBeLessThan(300);
  const items = (await (await lead.get(`/api/v1/contracts/${contract.id}/packages`)).json()).items;
  return { contractId: contract.id, packages: Object.fromEntries(items.map((p: { wbsId: string }) => [p.wbsId, p])) };
}

/**
 * A forge test's people and package: tenant 東京SI, whose contract names the repository `source` (moved into the
 * tenant's import folder under `imports` as `hanbai.git`), its contractor and lead, and sato, vetted and skilled
 * for package 2.3, which is opened.
 */
export async function contractOnSource(
  t: TestAzusa,
  imports: string,
  source: string,
): Promise<{ tenantId: string; lead: Client; sato: Client; satoId: string; packageId: string }> {
  const tokyo = await t.createTenant("東京SI");
  mkdirSync(join(imports, tokyo.id));
  renameSync(source, join(imports, tokyo.id, "hanbai.git"));
  await t.createUser("contractor", "buyer@tokyo-si.example", tokyo.id);
  const leadId = (await t.createUser("lead", "lead@tokyo-si.example", tokyo.id)).id;
  const satoId = (await t.createUser("engineer", "sato@matsumoto.example")).id;
  const operator = await t.signIn("root@office.example");
  const contractor = await t.signIn("buyer@tokyo-si.example");
  const lead = await t.signIn("lead@tokyo-si.example");
  const sato = await t.signIn("sato@matsumoto.example");
  await operator.put(`/api/v1/engineers/${satoId}`, {
    weeklyCapacityHours: 40,
    skills: [
      { skill: "java", level: 5 },
      { skill: "spring", level: 5 },
    ],
  });
  await vetFully(operator, satoId);
  const { packages } = await importSampleContract(contractor, lead, leadId, { sourceRepository: "hanbai.git" });
  const packageId = packages["2.3"]?.id as string;
  expect((await lead.post(`/api/v1/packages/${packageId}/open`)).status).toBe(200);
  return { tenantId: tokyo.id, lead, sato, satoId, packageId };
}
