// Large and deep WBS files: imported in time linear in their size without exhausting the stack, or refused
// above the documented limit with 413 and nothing imported. On SQLite and PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_WBS_ITEMS } from "../../src/domain/wbs/wbs-prepare.ts";
import { dialects } from "../support/databases.ts";
import { sampleContract } from "../support/fixtures.ts";
import { type Client, startTestAzusa, type TestAzusa } from "../support/harness.ts";
import { csvText } from "../support/wbs-files.ts";

const HEADER = ["id", "title", "parent", "estimate", "depends on"];

describe.each(dialects)("WBS files of hostile size on %s", (dialect) => {
  let t: TestAzusa;
  let contractor: Client;

  beforeAll(async () => {
    t = await startTestAzusa({ dialect, env: { AZUSA_WBS_LIMIT: String(16 * 1024 * 1024) } });
    const tenant = await t.createTenant("大規模WBS");
    await t.createUser("contractor", "wbs-size@tokyo-si.example", tenant.id);
    contractor = await t.signIn("wbs-size@tokyo-si.example");
  });
  afterAll(() => t?.stop());

  const importCsv = async (rows: string[][]) => {
    const contractId = (await (await contractor.post("/api/v1/contracts", sampleContract)).json()).id as string;
    const res = await contractor.request("POST", `/api/v1/contracts/${contractId}/wbs`, csvText([HEADER, ...rows]), {
      "content-type": "text/csv",
    });
    return { contractId, res };
  };

  it("imports a parent chain 4,000 deep, a dependency on its top reaching the leaf at its bottom", async () => {
    const depth = 4000;
    const rows = Array.from({ length: depth }, (_, i) => [`c${i}`, `階層 ${i}`, i ? `c${i - 1}` : "", "", ""]);
    rows.push([`c${depth}`, "最下層", `c${depth - 1}`, "8", ""], ["after", "後続", "", "4", "c0"]);
    const { res } = await importCsv(rows);
    expect(res.status).toBe(201);
    const body = await res.json();
    expect(body.groups).toBe(depth);
    expect(body.packages.map((p: { wbsId: string }) => p.wbsId)).toEqual([`c${depth}`, "after"]);
    const bottom = body.packages.find((p: { wbsId: string }) => p.wbsId === `c${depth}`);
    expect(body.packages.find((p: { wbsId: string }) => p.wbsId === "after").dependsOn).toEqual([bottom.id]);
  });

  it("refuses a parent chain that loops, however long, naming the rows", async () => {
    const rows = Array.from({ length: 3000 }, (_, i) => [`l${i}`, `輪 ${i}`, `l${(i + 1) % 3000}`, "", ""]);
    rows.push(["leaf", "葉", "l0", "8", "l5"]);
    const { res } = await importCsv(rows);
    expect(res.status).toBe(400);
    const { error } = await res.json();
    expect(error.fields[0].path).toBe("row 2 parent");
    expect(error.fields[0].message).toMatch(/^parent makes a loop: l0 → l1 → l2 → /);
  });

  it("imports 40,000 packages under one parent, a long chain of dependencies among them", async () => {
    const n = 40_000;
    const rows = [["p", "親", "", "", ""]];
    for (let i = 0; i < n; i++) rows.push([`p.${i}`, `作業 ${i}`, "p", "2", i % 2 ? `p.${i - 1}` : ""]);
    const { contractId, res } = await importCsv(rows);
    expect(res.status).toBe(201);
    const body = await res.json();
    expect(body.packages).toHaveLength(n);
    expect(body.plan.criticalPath.map((p: { wbsId: string }) => p.wbsId)).toEqual(["p.0", "p.1"]);
    const listed = await (await contractor.get(`/api/v1/contracts/${contractId}/packages`)).json();
    expect(listed.items).toHaveLength(n);
  }, 120_000);

  it("answers other requests all along while a 50,000-row WBS is read and checked", async () => {
    // The last row names an id that is not in the file: only reading and checking the whole file finds it, and the
    // file is refused before anything is written, so every request answered meanwhile was answered during the check.
    const rows = Array.from({ length: MAX_WBS_ITEMS - 1 }, (_, i) => [
      `h${i}`,
      `作業 ${i}`,
      "",
      "2",
      i ? `h${i - 1}` : "",
    ]);
    rows.push(["last", "最後", "", "2", "nowhere"]);
    let importDone = false;
    const imported = importCsv(rows).finally(() => {
      importDone = true;
    });
    let answeredMeanwhile = 0;
    while (!importDone) {
      const res = await fetch(`${t.base}/healthz`);
      expect(res.status).toBe(200);
      if (!importDone) answeredMeanwhile++;
    }
    const { res } = await imported;
    expect(res.status).toBe(400);
    expect((await res.json()).error.fields[0]).toMatchObject({ path: `row ${MAX_WBS_ITEMS + 1} dependsOn` });
    // Checked on the event loop, the file held every request until it was refused: a few got in before it began.
    expect(answeredMeanwhile).toBeGreaterThan(50);
  }, 120_000);

  it("writes a 50,000-row WBS whole while other requests, writes among them, are answered", async () => {
    // On an SQLite file the import thread writes on a connection of its own: a write the event loop ran meanwhile
    // would wait on that connection's lock (and fail after busy_timeout) unless it waits its turn.
    const rows = Array.from({ length: MAX_WBS_ITEMS }, (_, i) => [`w${i}`, `書込 ${i}`, "", "2", i ? `w${i - 1}` : ""]);
    let importDone = false;
    const imported = importCsv(rows).finally(() => {
      importDone = true;
    });
    const created: string[] = [];
    while (!importDone) {
      const res = await contractor.post("/api/v1/contracts", { ...sampleContract, title: `並行 ${created.length}` });
      expect(res.status).toBe(201);
      created.push((await res.json()).id);
    }
    const { contractId, res } = await imported;
    expect(res.status).toBe(201);
    expect((await res.json()).packages).toHaveLength(MAX_WBS_ITEMS);
    const listed = await (await contractor.get(`/api/v1/contracts/${contractId}/packages`)).json();
    expect(listed.items).toHaveLength(MAX_WBS_ITEMS);
    expect(created.length).toBeGreaterThan(0);
    for (const id of created) expect((await contractor.get(`/api/v1/contracts/${id}`)).status).toBe(200);
  }, 240_000);

  it(`refuses a WBS of more than ${MAX_WBS_ITEMS} items with 413 naming the limit, importing nothing`, async () => {
    const rows = Array.from({ length: MAX_WBS_ITEMS + 1 }, (_, i) => [`x${i}`, `作業 ${i}`, "", "1", ""]);
    const { contractId, res } = await importCsv(rows);
    expect(res.status).toBe(413);
    const { error } = await res.json();
    expect(error).toMatchObject({ code: "PAYLOAD_TOO_LARGE", message: expect.stringContaining(String(MAX_WBS_ITEMS)) });
    expect((await (await contractor.get(`/api/v1/contracts/${contractId}/packages`)).json()).items).toEqual([]);
  }, 120_000);
});
