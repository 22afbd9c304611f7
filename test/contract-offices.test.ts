// A contract's office rule: a tenant prefers or requires engineers of some offices (or prefectures); suggestions
// rank or keep to them, offers and acceptances refuse anyone else, and "why not" says so in Japanese.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { dialects } from "./support/databases.ts";
import { sampleContract } from "./support/fixtures.ts";
import { type Client, startTestAzusa, type TestAzusa } from "./support/harness.ts";
import { officeInput } from "./support/offices.ts";
import { csrfTokenIn, getPage, postForm } from "./support/pages.ts";
import { SAMPLE_WBS_ROWS, utf8Csv } from "./support/wbs-files.ts";

describe.each(dialects)("a contract's office rule on %s", (dialect) => {
  let t: TestAzusa;
  let operator: Client;
  let contractor: Client;
  let otherContractor: Client;
  let lead: Client;
  let leadId: string;
  let northId: string;
  let southId: string;
  const engineer: Record<string, string> = {};
  let contractId: string;
  let packageId: string;

  /** A fully vetted engineer with java and spring at `level`, in `officeId` (or none). */
  async function addEngineer(name: string, level: number, officeId: string | null) {
    const { id } = await t.createUser("engineer", `${name}@example.jp`);
    await operator.put(`/api/v1/engineers/${id}`, {
      weeklyCapacityHours: 40,
      skills: [
        { skill: "java", level },
        { skill: "spring", level },
      ],
    });
    for (const kind of ["nda", "background_check", "security_training"]) {
      await operator.post(`/api/v1/engineers/${id}/vetting`, { kind, issuedOn: "2026-04-01", expiresOn: "2027-12-31" });
    }
    if (officeId) expect((await operator.put(`/api/v1/offices/${officeId}/members/${id}`)).status).toBe(200);
    engineer[name] = id;
  }

  /** A contract of the sample WBS with this office rule; `packageId` is its 2.1 (java:3, spring:3), opened. */
  async function contractWith(officeRule: unknown) {
    const made = await contractor.post("/api/v1/contracts", { ...sampleContract, leadIds: [leadId], officeRule });
    expect(made.status).toBe(201);
    contractId = (await made.json()).id;
    await contractor.request("POST", `/api/v1/contracts/${contractId}/wbs`, utf8Csv(SAMPLE_WBS_ROWS), {
      "content-type": "text/csv",
    });
    const items = (await (await lead.get(`/api/v1/contracts/${contractId}/packages`)).json()).items;
    packageId = items.find((p: { wbsId: string }) => p.wbsId === "2.1").id;
    expect((await lead.post(`/api/v1/packages/${packageId}/open`)).status).toBe(200);
  }

  const suggestions = async () => {
    const res = await lead.get(`/api/v1/packages/${packageId}/suggestions`);
    expect(res.status).toBe(200);
    return res.json();
  };

  beforeAll(async () => {
    t = await startTestAzusa({ dialect, env: { AZUSA_SCHEDULES: "off" } });
    const tokyo = await t.createTenant("東京システムインテグレーション");
    const osaka = await t.createTenant("大阪ソリューションズ");
    await t.createUser("contractor", "buyer@tokyo-si.example", tokyo.id);
    await t.createUser("contractor", "buyer@osaka.example", osaka.id);
    leadId = (await t.createUser("lead", "lead@tokyo-si.example", tokyo.id)).id;
    operator = await t.signIn("root@office.example");
    contractor = await t.signIn("buyer@tokyo-si.example");
    otherContractor = await t.signIn("buyer@osaka.example");
    lead = await t.signIn("lead@tokyo-si.example");
    northId = (await (await operator.post("/api/v1/offices", officeInput("松本オフィス", "松本市"))).json()).id;
    const south = { ...officeInput("上越オフィス", "上越市"), prefecture: "新潟県" };
    southId = (await (await operator.post("/api/v1/offices", south)).json()).id;
    await addEngineer("sato", 3, northId); // just enough: no skill margin
    await addEngineer("ito", 5, southId); // the larger margin: first without a rule
    await addEngineer("kato", 4, null); // belongs to no office
  });
  afterAll(() => t?.stop());

  beforeEach(() => {
    contractId = "";
    packageId = "";
  });

  it("keeps the rule on the contract, and without one ranks by skill alone", async () => {
    await contractWith({ mode: "preferred", officeIds: [northId] });
    const contract = await (await contractor.get(`/api/v1/contracts/${contractId}`)).json();
    expect(contract.officeRule).toEqual({ mode: "preferred", officeIds: [northId], prefectures: [] });
    const cleared = await contractor.patch(`/api/v1/contracts/${contractId}`, { officeRule: null });
    expect(cleared.status).toBe(200);
    expect((await cleared.json()).officeRule).toBeNull();
    const s = await suggestions();
    expect(s.ranked.map((r: { name: string }) => r.name)).toEqual(["ito", "kato", "sato"]);
    expect(s.ranked.every((r: { reasons: { preferredOffice: boolean } }) => !r.reasons.preferredOffice)).toBe(true);
  });

  it("ranks a preferred office's engineers first and still suggests the others", async () => {
    await contractWith({ mode: "preferred", officeIds: [northId] });
    const s = await suggestions();
    expect(s.ranked.map((r: { name: string }) => r.name)).toEqual(["sato", "ito", "kato"]);
    expect(s.ranked[0].reasons).toMatchObject({ preferredOffice: true, skillMargin: 0 });
    expect(s.ranked[1].reasons).toMatchObject({ preferredOffice: false, skillMargin: 4 });
    expect(s.ineligible).toEqual([]);
    // The package page marks the preferred engineer.
    const page = await getPage(lead, `/packages/${packageId}`);
    expect(page.html).toMatch(/sato<span class="badge">優先オフィス<\/span>/);
    expect(page.html).not.toMatch(/ito<span class="badge">/);
  });

  it("keeps a required prefecture's engineers only, and says why not in Japanese", async () => {
    await contractWith({ mode: "required", prefectures: ["長野県"] });
    const s = await suggestions();
    expect(s.ranked.map((r: { name: string }) => r.name)).toEqual(["sato"]);
    const rules = Object.fromEntries(s.ineligible.map((i: { name: string; rules: unknown[] }) => [i.name, i.rules]));
    expect(rules).toEqual({
      ito: [{ rule: "office", office: "上越オフィス", allowed: ["長野県"] }],
      kato: [{ rule: "office", office: null, allowed: ["長野県"] }],
    });
    const page = await getPage(lead, `/packages/${packageId}`);
    expect(page.status).toBe(200);
    expect(page.html).toContain("所属は上越オフィスです。この契約は長野県の技術者に限られます");
    expect(page.html).toContain("所属オフィスがありません。この契約は長野県の技術者に限られます");
  });

  it("refuses an offer to an engineer of another office, in Japanese when asked, and offers within the rule", async () => {
    await contractWith({ mode: "required", officeIds: [northId] });
    const refused = await lead.request(
      "POST",
      `/api/v1/packages/${packageId}/offers`,
      { engineerId: engineer.ito },
      { "accept-language": "ja" },
    );
    expect(refused.status).toBe(409);
    const body = await refused.json();
    expect(body.error).toMatchObject({ code: "CONFLICT", requestId: expect.any(String) });
    expect(body.error.message).toContain("所属は上越オフィスです。この契約は松本オフィスの技術者に限られます");
    expect((await (await lead.get(`/api/v1/packages/${packageId}`)).json()).state).toBe("open");
    expect((await lead.post(`/api/v1/packages/${packageId}/offers`, { engineerId: engineer.sato })).status).toBe(201);
  });

  it("refuses the acceptance when the rule changed after the offer", async () => {
    await contractWith(null);
    const made = await lead.post(`/api/v1/packages/${packageId}/offers`, { engineerId: engineer.ito });
    expect(made.status).toBe(201);
    const tightened = await contractor.patch(`/api/v1/contracts/${contractId}`, {
      officeRule: { mode: "required", officeIds: [northId] },
    });
    expect(tightened.status).toBe(200);
    const ito = await t.signIn("ito@example.jp");
    const res = await ito.post(`/api/v1/offers/${(await made.json()).id}/accept`);
    expect(res.status).toBe(409);
    expect((await lead.get(`/api/v1/packages/${packageId}`).then((r) => r.json())).state).toBe("offered");
  });

  it("names the wrong field of a rule and changes nothing", async () => {
    await contractWith({ mode: "preferred", officeIds: [northId] });
    const cases: [unknown, string][] = [
      [{ mode: "required", officeIds: [northId, "no-such-office"] }, "officeRule.officeIds.1"],
      [{ mode: "required", officeIds: [], prefectures: [] }, "officeRule.officeIds"],
      [{ mode: "always", officeIds: [northId] }, "officeRule.mode"],
      [{ mode: "preferred", prefectures: [""] }, "officeRule.prefectures.0"],
    ];
    for (const [officeRule, path] of cases) {
      const res = await contractor.patch(`/api/v1/contracts/${contractId}`, { officeRule });
      expect(res.status).toBe(400);
      const { error } = await res.json();
      expect(error).toMatchObject({ code: "VALIDATION", requestId: expect.any(String) });
      expect(JSON.stringify(error)).toContain(path);
    }
    const made = await contractor.post("/api/v1/contracts", {
      ...sampleContract,
      title: "存在しないオフィス",
      officeRule: { mode: "required", officeIds: ["no-such-office"] },
    });
    expect(made.status).toBe(400);
    const list = await (await contractor.get("/api/v1/contracts")).json();
    expect(list.items.map((c: { title: string }) => c.title)).not.toContain("存在しないオフィス");
    const kept = await (await contractor.get(`/api/v1/contracts/${contractId}`)).json();
    expect(kept.officeRule).toEqual({ mode: "preferred", officeIds: [northId], prefectures: [] });
  });

  it("is another tenant's business: 404 to read or change the contract, 404 for its suggestions", async () => {
    await contractWith({ mode: "required", officeIds: [northId] });
    expect((await otherContractor.get(`/api/v1/contracts/${contractId}`)).status).toBe(404);
    const changed = await otherContractor.patch(`/api/v1/contracts/${contractId}`, { officeRule: null });
    expect(changed.status).toBe(404);
    expect((await changed.json()).error.code).toBe("NOT_FOUND");
    expect((await otherContractor.get(`/api/v1/packages/${packageId}/suggestions`)).status).toBe(404);
    const kept = await (await contractor.get(`/api/v1/contracts/${contractId}`)).json();
    expect(kept.officeRule).toEqual({ mode: "required", officeIds: [northId], prefectures: [] });
  });

  it("is set on the contract form and shown on the contract's page", async () => {
    const form = await getPage(contractor, "/contracts/new");
    expect(form.html).toContain("オフィス指定");
    expect(form.html).toContain("松本オフィス（長野県 松本市）");
    const posted = await postForm(contractor, "/contracts", {
      _csrf: csrfTokenIn(form.html),
      title: "県内作業の案件",
      client: "長野県内の発注元",
      type: "ukeoi",
      confidentiality: "internal",
      periodStart: "2027-01-04",
      periodEnd: "2027-03-31",
      officeRuleMode: "required",
      officeIds: southId,
      prefectures: "長野県、 山梨県",
    });
    expect(posted.status).toBe(303);
    const id = /\/contracts\/([^?]+)/.exec(posted.location ?? "")?.[1];
    const contract = await (await contractor.get(`/api/v1/contracts/${id}`)).json();
    expect(contract.officeRule).toEqual({ mode: "required", officeIds: [southId], prefectures: ["長野県", "山梨県"] });
    const page = await getPage(contractor, `/contracts/${id}`);
    expect(page.html).toMatch(/id="office-rule">[^<]*必須[^<]*長野県、山梨県、上越オフィス/);
  });
});
