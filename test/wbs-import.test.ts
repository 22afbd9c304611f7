// WBS files as users write them, imported over HTTP into a contract; broken files import nothing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dialects } from "./support/databases.ts";
import { sampleContract } from "./support/fixtures.ts";
import { type ApiResponse, type Client, startTestAzusa, type TestAzusa } from "./support/harness.ts";
import {
  json,
  SAMPLE_CRITICAL_PATH,
  SAMPLE_CRITICAL_PATH_HOURS,
  SAMPLE_LEAF_IDS,
  SAMPLE_WBS_ROWS,
  sampleWbsNested,
  sjisCsv,
  utf8Csv,
  utf16Text,
  xlsx,
} from "./support/wbs-files.ts";

const XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/** Posts a file as the request body with its content type. */
function upload(client: Client, contractId: string, bytes: Uint8Array, contentType: string): Promise<ApiResponse> {
  return client.request("POST", `/api/v1/contracts/${contractId}/wbs`, Buffer.from(bytes), {
    "content-type": contentType,
  });
}

/** Posts a file the way a browser form does. */
async function uploadForm(client: Client, contractId: string, bytes: Uint8Array, filename: string, type: string) {
  const form = new FormData();
  form.append("file", new Blob([new Uint8Array(bytes)], { type }), filename);
  const res = await fetch(`${client.base}/api/v1/contracts/${contractId}/wbs`, {
    method: "POST",
    headers: { cookie: client.cookie, origin: client.headers.origin ?? "" },
    body: form,
  });
  return res as unknown as ApiResponse;
}

function yamlSample(): string {
  const lines: string[] = [];
  const write = (items: unknown[], indent: string) => {
    for (const raw of items) {
      const item = raw as Record<string, unknown>;
      lines.push(`${indent}- WBS番号: "${item.id}"`);
      lines.push(`${indent}  作業名: ${item.title}`);
      if (item.skills) lines.push(`${indent}  必要スキル: "${item.skills}"`);
      if (item.estimate) lines.push(`${indent}  見積工数: ${item.estimate}`);
      if (item.dependsOn)
        lines.push(`${indent}  先行作業: [${(item.dependsOn as string[]).map((d) => `"${d}"`).join(", ")}]`);
      if (item.children) {
        lines.push(`${indent}  children:`);
        write(item.children as unknown[], `${indent}    `);
      }
    }
  };
  write(sampleWbsNested().items, "");
  return `${lines.join("\n")}\n`;
}

describe.each(dialects)("WBS import on %s", (dialect) => {
  let t: TestAzusa;
  let contractor: Client;
  let lead: Client;
  let stranger: Client;
  let engineer: Client;
  let leadId: string;

  const newContract = async (extra: Record<string, unknown> = {}) =>
    (await (await contractor.post("/api/v1/contracts", { ...sampleContract, leadIds: [leadId], ...extra })).json())
      .id as string;
  const packagesOf = async (contractId: string) =>
    (await (await contractor.get(`/api/v1/contracts/${contractId}/packages`)).json()).items;

  beforeAll(async () => {
    t = await startTestAzusa({ dialect });
    const tokyo = await t.createTenant("東京システムインテグレーション");
    const osaka = await t.createTenant("大阪情報サービス");
    await t.createUser("contractor", "buyer@tokyo-si.example", tokyo.id);
    leadId = (await t.createUser("lead", "lead@tokyo-si.example", tokyo.id)).id;
    await t.createUser("contractor", "buyer@osaka-is.example", osaka.id);
    await t.createUser("engineer", "sato@matsumoto.example");
    contractor = await t.signIn("buyer@tokyo-si.example");
    lead = await t.signIn("lead@tokyo-si.example");
    stranger = await t.signIn("buyer@osaka-is.example");
    engineer = await t.signIn("sato@matsumoto.example");
  });
  afterAll(() => t?.stop());

  function expectSample(result: {
    packages: { wbsId: string }[];
    groups: number;
    plan: { criticalPath: { wbsId: string }[]; totalHours: number };
  }) {
    expect(result.packages.map((p) => p.wbsId)).toEqual(SAMPLE_LEAF_IDS);
    expect(result.groups).toBe(5);
    expect(result.plan.criticalPath.map((p) => p.wbsId)).toEqual(SAMPLE_CRITICAL_PATH);
    expect(result.plan.totalHours).toBe(SAMPLE_CRITICAL_PATH_HOURS);
  }

  it("imports a Shift_JIS CSV with Japanese headers, as Excel saves it", async () => {
    const contractId = await newContract({ maxPackageHours: 60 });
    const res = await upload(contractor, contractId, sjisCsv(SAMPLE_WBS_ROWS), "text/csv");
    expect(res.status).toBe(201);
    const result = await res.json();
    expectSample(result);
    expect(result.format).toBe("csv");
    expect(result.ignoredColumns).toEqual(["備考"]);
    expect(result.oversized).toEqual(["2.1", "2.2"]);

    const packages = await packagesOf(contractId);
    const byWbs = new Map(packages.map((p: { wbsId: string }) => [p.wbsId, p]));
    const ordering = byWbs.get("2.1") as {
      dependsOn: string[];
      skills: unknown;
      estimateHours: number;
      state: string;
      parentWbsId: string;
      sourceRow: number;
    };
    expect(ordering).toMatchObject({
      title: "受注管理機能",
      estimateHours: 80,
      state: "draft",
      parentWbsId: "2",
      skills: [
        { skill: "java", level: 3 },
        { skill: "spring", level: 3 },
      ],
      oversized: true,
      sourceRow: 10,
    });
    const idOf = (wbs: string) => (byWbs.get(wbs) as { id: string }).id;
    expect(ordering.dependsOn).toEqual([idOf("1.2.1"), idOf("1.2.2")].sort());

    const plan = await (await lead.get(`/api/v1/contracts/${contractId}/plan`)).json();
    const entry = plan.packages.find((p: { wbsId: string }) => p.wbsId === "2.3");
    expect(entry).toMatchObject({ earliestStartHours: 96, earliestFinishHours: 136, critical: false });
    const audit = await (await contractor.get("/api/v1/audit-events?limit=1")).json();
    expect(audit.items[0]).toMatchObject({ action: "wbs.imported", details: { packages: 9, groups: 5 } });
  });

  it("imports an xlsx workbook uploaded from a browser form", async () => {
    const contractId = await newContract();
    const rows = SAMPLE_WBS_ROWS.map((r, i) =>
      i === 0 ? r : r.map((cell, c) => (c === 4 && cell ? Number(cell) : cell)),
    );
    const res = await uploadForm(lead, contractId, await xlsx(rows), "販売管理WBS.xlsx", XLSX_TYPE);
    expect(res.status).toBe(201);
    const result = await res.json();
    expect(result.format).toBe("xlsx");
    expectSample(result);
  });

  it("reads Excel's Unicode text (UTF-16, tab-separated) too", async () => {
    const contractId = await newContract();
    const res = await upload(contractor, contractId, utf16Text(SAMPLE_WBS_ROWS), "text/plain");
    expect(res.status).toBe(201);
    expectSample(await res.json());
  });

  it("imports nested YAML with Japanese keys", async () => {
    const contractId = await newContract();
    const res = await upload(contractor, contractId, Buffer.from(yamlSample()), "application/yaml");
    expect(res.status).toBe(201);
    expectSample(await res.json());
  });

  it("imports nested JSON with English keys", async () => {
    const contractId = await newContract();
    const res = await upload(contractor, contractId, json(sampleWbsNested()), "application/json");
    expect(res.status).toBe(201);
    expectSample(await res.json());
  });

  it("replaces a WBS whose packages are all drafts, and refuses once one has opened", async () => {
    const contractId = await newContract();
    await upload(contractor, contractId, utf8Csv(SAMPLE_WBS_ROWS), "text/csv");
    const smaller = utf8Csv([
      ["id", "title", "estimate"],
      ["A", "調査", "8"],
    ]);
    const again = await upload(contractor, contractId, smaller, "text/csv");
    expect(again.status).toBe(201);
    const packages = await packagesOf(contractId);
    expect(packages.map((p: { wbsId: string }) => p.wbsId)).toEqual(["A"]);
    expect((await lead.post(`/api/v1/packages/${packages[0].id}/open`)).status).toBe(200);
    const refused = await upload(contractor, contractId, utf8Csv(SAMPLE_WBS_ROWS), "text/csv");
    expect(refused.status).toBe(409);
    expect((await refused.json()).error).toMatchObject({
      code: "INVALID_STATE",
      message: expect.stringContaining("A is open"),
    });
  });

  it("lets only the contract's contractor and lead import", async () => {
    const contractId = await newContract();
    const file = utf8Csv(SAMPLE_WBS_ROWS);
    expect((await upload(stranger, contractId, file, "text/csv")).status).toBe(404);
    expect((await upload(engineer, contractId, file, "text/csv")).status).toBe(404);
    expect((await packagesOf(contractId)).length).toBe(0);
  });

  describe("refuses a broken file, names the row and field, and imports nothing", () => {
    let contractId: string;
    beforeAll(async () => {
      contractId = await newContract();
      await upload(
        contractor,
        contractId,
        utf8Csv([
          ["id", "title", "estimate"],
          ["KEEP", "既存", "8"],
        ]),
        "text/csv",
      );
    });

    async function refused(bytes: Uint8Array, type = "text/csv") {
      const res = await upload(contractor, contractId, bytes, type);
      const body = await res.json();
      // What was there before the broken file is still there, and nothing more.
      expect((await packagesOf(contractId)).map((p: { wbsId: string }) => p.wbsId)).toEqual(["KEEP"]);
      return { status: res.status, error: body.error };
    }

    it("a dependency cycle, naming the cycle", async () => {
      const rows = [
        ["WBS番号", "作業名", "見積工数", "先行作業"],
        ["a", "設計", "8", "c"],
        ["b", "実装", "8", "a"],
        ["c", "試験", "8", "b"],
      ];
      const { status, error } = await refused(sjisCsv(rows));
      expect(status).toBe(400);
      expect(error.fields).toEqual([
        { path: "row 2 dependsOn", message: "dependency cycle: a → c → b → a (each depends on the next)" },
      ]);
    });

    it("an unknown dependency, with its row number", async () => {
      const rows = [
        ["id", "title", "estimate", "depends on"],
        ["a", "設計", "8", ""],
        ["b", "実装", "8", "a; z9"],
      ];
      const { status, error } = await refused(utf8Csv(rows));
      expect(status).toBe(400);
      expect(error.fields).toEqual([{ path: "row 3 dependsOn", message: expect.stringMatching(/"z9".*not an id/) }]);
    });

    it("bad hours, naming the column as written", async () => {
      const rows = [
        ["WBS番号", "作業名", "見積工数"],
        ["a", "設計", "8"],
        ["b", "実装", "たくさん"],
        ["c", "試験", "-3"],
      ];
      const { status, error } = await refused(sjisCsv(rows));
      expect(status).toBe(400);
      expect(error.fields.map((f: { path: string }) => f.path)).toEqual(["row 3 estimate", "row 4 estimate"]);
      expect(error.fields[0].message).toContain("見積工数");
      expect(error.message).toMatch(/^the WBS was not imported: row 3 estimate: /);
    });

    it("a work package without hours", async () => {
      const { error } = await refused(
        utf8Csv([
          ["id", "title", "estimate"],
          ["a", "設計", ""],
        ]),
      );
      expect(error.fields).toEqual([{ path: "row 2 estimate", message: expect.stringContaining("needs an estimate") }]);
    });

    it("an unknown parent", async () => {
      const { error } = await refused(
        utf8Csv([
          ["id", "title", "parent", "estimate"],
          ["a", "設計", "9", "8"],
        ]),
      );
      expect(error.fields).toEqual([{ path: "row 2 parent", message: expect.stringMatching(/"9".*not an id/) }]);
    });

    it("bytes in no encoding it reads", async () => {
      const bytes = Buffer.from([0x69, 0x64, 0x2c, 0xff, 0xfe, 0x81, 0x20, 0x0a, 0x80, 0xa0, 0xfd]);
      const { status, error } = await refused(bytes);
      expect(status).toBe(400);
      expect(error.fields[0]).toMatchObject({
        path: "file",
        message: expect.stringMatching(/neither UTF-8 nor Shift_JIS/),
      });
    });

    it("an empty file", async () => {
      const { status, error } = await refused(new Uint8Array());
      expect(status).toBe(400);
      expect(error.message).toContain("empty");
    });

    it("a 50 MB file", async () => {
      const big = Buffer.alloc(50 * 1024 * 1024, 0x61);
      const { status, error } = await refused(big);
      expect(status).toBe(413);
      expect(error.code).toBe("PAYLOAD_TOO_LARGE");
    });

    it("a file that is not a spreadsheet at all, sent as xlsx", async () => {
      const { status } = await refused(Buffer.from("PK\u0003\u0004 not really a zip"), XLSX_TYPE);
      expect(status).toBe(400);
    });
  });
});
