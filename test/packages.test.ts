// Work packages over HTTP: who may see and change them, and editing, splitting and merging in planning.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { dialects } from "./support/databases.ts";
import { sampleContract } from "./support/fixtures.ts";
import { type Client, startTestAzusa, type TestAzusa } from "./support/harness.ts";
import { SAMPLE_WBS_ROWS, utf8Csv } from "./support/wbs-files.ts";

type Pkg = { id: string; wbsId: string; state: string; dependsOn: string[]; estimateHours: number; title: string };

describe.each(dialects)("work packages on %s", (dialect) => {
  let t: TestAzusa;
  let contractor: Client;
  let lead: Client;
  let otherLead: Client;
  let engineer: Client;
  let leadId: string;
  let contractId: string;
  let pkg: Record<string, Pkg>;

  const load = async () => {
    const items: Pkg[] = (await (await lead.get(`/api/v1/contracts/${contractId}/packages`)).json()).items;
    pkg = Object.fromEntries(items.map((p) => [p.wbsId, p]));
  };
  const plan = async () => await (await lead.get(`/api/v1/contracts/${contractId}/plan`)).json();

  beforeAll(async () => {
    t = await startTestAzusa({ dialect });
    const tokyo = await t.createTenant("東京システムインテグレーション");
    await t.createUser("contractor", "buyer@tokyo-si.example", tokyo.id);
    leadId = (await t.createUser("lead", "lead@tokyo-si.example", tokyo.id)).id;
    await t.createUser("lead", "lead2@tokyo-si.example", tokyo.id);
    await t.createUser("engineer", "sato@matsumoto.example");
    contractor = await t.signIn("buyer@tokyo-si.example");
    lead = await t.signIn("lead@tokyo-si.example");
    otherLead = await t.signIn("lead2@tokyo-si.example");
    engineer = await t.signIn("sato@matsumoto.example");
  });
  afterAll(() => t?.stop());

  beforeEach(async () => {
    contractId = (await (await contractor.post("/api/v1/contracts", { ...sampleContract, leadIds: [leadId] })).json())
      .id;
    const res = await contractor.request("POST", `/api/v1/contracts/${contractId}/wbs`, utf8Csv(SAMPLE_WBS_ROWS), {
      "content-type": "text/csv",
    });
    expect(res.status).toBe(201);
    await load();
  });

  it("shows a package to the contract's contractor and lead only", async () => {
    const path = `/api/v1/packages/${pkg["2.1"]?.id}`;
    expect((await contractor.get(path)).status).toBe(200);
    expect((await lead.get(path)).status).toBe(200);
    expect((await otherLead.get(path)).status).toBe(404);
    // Engineers see a package once it is offered to them; nothing has been offered yet.
    expect((await engineer.get(path)).status).toBe(404);
    expect((await engineer.get(`/api/v1/contracts/${contractId}/packages`)).status).toBe(404);
  });

  describe("moves", () => {
    it("lets the lead open a draft and records the move", async () => {
      const res = await lead.post(`/api/v1/packages/${pkg["1.1.1"]?.id}/open`);
      expect(res.status).toBe(200);
      expect((await res.json()).state).toBe("open");
      const audit = await (await contractor.get("/api/v1/audit-events?limit=1")).json();
      expect(audit.items[0]).toMatchObject({ action: "package.transitioned", details: { from: "draft", to: "open" } });
    });

    it("refuses an illegal move with INVALID_STATE naming the current state", async () => {
      const id = pkg["1.1.1"]?.id;
      await lead.post(`/api/v1/packages/${id}/cancel`, { reason: "スコープ外" });
      const res = await lead.post(`/api/v1/packages/${id}/open`);
      expect(res.status).toBe(409);
      expect((await res.json()).error).toMatchObject({
        code: "INVALID_STATE",
        message: expect.stringMatching(/^package is cancelled/),
      });
    });

    it("does not open a package whose dependency was cancelled", async () => {
      await lead.post(`/api/v1/packages/${pkg["1.1.1"]?.id}/cancel`);
      const res = await lead.post(`/api/v1/packages/${pkg["1.1.2"]?.id}/open`);
      expect(res.status).toBe(409);
      expect((await res.json()).error.message).toContain("depends on cancelled 1.1.1");
    });

    it("lets only people of the contract ask for the moves their role may make", async () => {
      const id = pkg["2.1"]?.id;
      expect((await contractor.post(`/api/v1/packages/${id}/open`)).status).toBe(403);
      expect((await otherLead.post(`/api/v1/packages/${id}/open`)).status).toBe(404);
      expect((await engineer.post(`/api/v1/packages/${id}/cancel`)).status).toBe(404);
      expect((await contractor.post(`/api/v1/packages/${id}/cancel`)).status).toBe(200);
    });
  });

  describe("editing in planning", () => {
    it("changes hours, skills and dependencies while draft or open, and the plan follows", async () => {
      const res = await lead.request("PATCH", `/api/v1/packages/${pkg["2.3"]?.id}`, {
        estimateHours: 120,
        skills: [{ skill: "java", level: 4 }],
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({
        estimateHours: 120,
        oversized: true,
        skills: [{ skill: "java", level: 4 }],
      });
      expect((await plan()).criticalPath.map((p: { wbsId: string }) => p.wbsId)).toEqual([
        "1.1.1",
        "1.1.2",
        "1.2.2",
        "2.3",
        "3.1",
      ]);
    });

    it("compares skills the same way a WBS and a profile do", async () => {
      const res = await lead.request("PATCH", `/api/v1/packages/${pkg["2.3"]?.id}`, {
        skills: [
          { skill: "Ｊａｖａ", level: 3 },
          { skill: "JAVA", level: 4 },
        ],
      });
      expect((await res.json()).skills).toEqual([{ skill: "java", level: 4 }]);
    });

    it("refuses changes once the package is cancelled", async () => {
      await lead.post(`/api/v1/packages/${pkg["2.3"]?.id}/cancel`);
      const res = await lead.request("PATCH", `/api/v1/packages/${pkg["2.3"]?.id}`, { estimateHours: 1 });
      expect(res.status).toBe(409);
      expect((await res.json()).error.code).toBe("INVALID_STATE");
    });

    it("refuses a dependency that closes a cycle, and keeps the old ones", async () => {
      const res = await lead.request("PATCH", `/api/v1/packages/${pkg["1.1.1"]?.id}`, { dependsOn: [pkg["3.1"]?.id] });
      expect(res.status).toBe(409);
      expect((await res.json()).error.message).toMatch(/^dependency cycle: 1\.1\.1 → 3\.1 → /);
      expect((await (await lead.get(`/api/v1/packages/${pkg["1.1.1"]?.id}`)).json()).dependsOn).toEqual([]);
    });

    it("refuses a dependency on a package of another contract", async () => {
      const res = await lead.request("PATCH", `/api/v1/packages/${pkg["1.1.1"]?.id}`, { dependsOn: ["not-a-package"] });
      expect(res.status).toBe(400);
      expect((await res.json()).error.fields[0].path).toBe("dependsOn");
    });

    it("lets only the lead edit", async () => {
      expect((await contractor.request("PATCH", `/api/v1/packages/${pkg["2.1"]?.id}`, { title: "x" })).status).toBe(
        403,
      );
      expect((await otherLead.request("PATCH", `/api/v1/packages/${pkg["2.1"]?.id}`, { title: "x" })).status).toBe(404);
    });

    it("splits an oversized package; what waited for it waits for every part", async () => {
      const res = await lead.post(`/api/v1/packages/${pkg["2.1"]?.id}/split`, {
        parts: [
          { title: "受注管理機能 画面", estimateHours: 40 },
          { title: "受注管理機能 バッチ", estimateHours: 40, skills: [{ skill: "java", level: 3 }] },
        ],
      });
      expect(res.status).toBe(201);
      const parts: Pkg[] = (await res.json()).items;
      expect(parts.map((p) => p.wbsId)).toEqual(["2.1-1", "2.1-2"]);
      expect(parts[0]?.dependsOn).toEqual(pkg["2.1"]?.dependsOn);
      await load();
      expect(pkg["2.1"]?.state).toBe("cancelled");
      expect(pkg["3.1"]?.dependsOn.sort()).toEqual([parts[0]?.id, parts[1]?.id, pkg["2.2"]?.id, pkg["2.3"]?.id].sort());
      // The halves run side by side (112 + 40 + 48 = 200 h), so 2.2 now leads: 112 + 64 + 48 = 224 h.
      expect((await plan()).criticalPath.map((p: { wbsId: string }) => p.wbsId)).toEqual([
        "1.1.1",
        "1.1.2",
        "1.2.1",
        "2.2",
        "3.1",
      ]);
      expect((await plan()).totalHours).toBe(224);
    });

    it("merges packages; the originals are cancelled and their dependents wait for the merge", async () => {
      const res = await lead.post("/api/v1/packages/merge", {
        packageIds: [pkg["2.3"]?.id, pkg["3.2"]?.id],
        title: "帳票と移行",
      });
      expect(res.status).toBe(201);
      const merged: Pkg = await res.json();
      expect(merged).toMatchObject({ wbsId: "2.3+3.2", title: "帳票と移行", estimateHours: 56, state: "draft" });
      expect(merged.dependsOn.sort()).toEqual([pkg["1.2.2"]?.id, pkg["2.2"]?.id].sort());
      await load();
      expect([pkg["2.3"]?.state, pkg["3.2"]?.state]).toEqual(["cancelled", "cancelled"]);
      expect(pkg["3.1"]?.dependsOn).toContain(merged.id);
    });

    it("refuses a merge that would make a cycle, and changes nothing", async () => {
      // 1.1.2 depends on 1.1.1 and 1.2.1 depends on 1.1.2: one package of 1.1.1 and 1.2.1 would wait for itself.
      const res = await lead.post("/api/v1/packages/merge", { packageIds: [pkg["1.1.1"]?.id, pkg["1.2.1"]?.id] });
      expect(res.status).toBe(409);
      expect((await res.json()).error.message).toContain("dependency cycle");
      const before = pkg;
      await load();
      expect(pkg).toEqual(before);
    });
  });
});
