// An .xlsx of about a megabyte that unpacks to a gigabyte of XML is refused with 413 naming the limit before
// any spreadsheet reader unpacks it: nothing is imported and the process's memory stays where it was, two at once
// too. On SQLite and PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { XLSX_LIMITS } from "../../src/domain/wbs/xlsx-archive.ts";
import { dialects } from "../support/databases.ts";
import { sampleContract } from "../support/fixtures.ts";
import { type Client, startTestAzusa, type TestAzusa } from "../support/harness.ts";
import { xlsxParts, zip } from "../support/zip.ts";

const XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const GiB = 1024 * 1024 * 1024;
const MiB = 1024 * 1024;
const rows = [
  ["id", "title", "estimate"],
  ["1", "帳票出力", "8"],
];

let gigabyteSheet: Buffer;
let mildBomb: Buffer;

beforeAll(async () => {
  // A real workbook whose sheet is padded with blank space below its one row: 1 GiB of XML in about a megabyte.
  gigabyteSheet = await zip(xlsxParts(rows, { repeat: "        ", times: GiB / 8 }));
  // One that stays under the part and total limits but unpacks far past the ratio.
  mildBomb = await zip(xlsxParts(rows, { repeat: "<row/>", times: (40 * MiB) / 6 }));
}, 120_000);

describe.each(dialects)("an .xlsx that unpacks to far more than it weighs, on %s", (dialect) => {
  let t: TestAzusa;
  let contractor: Client;

  beforeAll(async () => {
    t = await startTestAzusa({ dialect });
    const tenant = await t.createTenant("展開爆弾");
    await t.createUser("contractor", "xlsx-bomb@tokyo-si.example", tenant.id);
    contractor = await t.signIn("xlsx-bomb@tokyo-si.example");
  });
  afterAll(() => t?.stop());

  const upload = async (bytes: Buffer) => {
    const contractId = (await (await contractor.post("/api/v1/contracts", sampleContract)).json()).id as string;
    const res = await contractor.request("POST", `/api/v1/contracts/${contractId}/wbs`, bytes, {
      "content-type": XLSX_TYPE,
    });
    return { contractId, status: res.status, body: await res.json() };
  };
  const packagesOf = async (contractId: string) =>
    (await (await contractor.get(`/api/v1/contracts/${contractId}/packages`)).json()).items;

  it("refuses 1 GiB of sheet XML in a 1 MB file with 413 naming the part and its limit, importing nothing", async () => {
    expect(gigabyteSheet.length).toBeLessThan(2 * MiB);
    const { contractId, status, body } = await upload(gigabyteSheet);
    expect(status).toBe(413);
    expect(body.error).toMatchObject({
      code: "PAYLOAD_TOO_LARGE",
      message: expect.stringContaining("xl/worksheets/sheet1.xml"),
    });
    expect(body.error.message).toMatch(
      new RegExp(`more than (${XLSX_LIMITS.entryBytes / MiB} MiB|${XLSX_LIMITS.ratio} times its packed size)`),
    );
    expect(await packagesOf(contractId)).toEqual([]);
  }, 120_000);

  it("refuses a part under the size limits that unpacks past the ratio, naming the ratio", async () => {
    const { contractId, status, body } = await upload(mildBomb);
    expect(status).toBe(413);
    expect(body.error.message).toBe(
      `the workbook's part xl/worksheets/sheet1.xml unpacks to more than ${XLSX_LIMITS.ratio} times its packed size, the most an .xlsx part may`,
    );
    expect(await packagesOf(contractId)).toEqual([]);
  }, 60_000);

  it("keeps memory where it was while two such files are refused at once", async () => {
    global.gc?.();
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 10);
    try {
      const results = await Promise.all([upload(gigabyteSheet), upload(gigabyteSheet)]);
      expect(results.map((r) => r.status)).toEqual([413, 413]);
      peak = Math.max(peak, process.memoryUsage().rss);
    } finally {
      clearInterval(sampler);
    }
    // Unpacked whole, each would take more than a gigabyte; checked as a stream, each takes a few megabytes.
    expect(peak - before).toBeLessThan(256 * MiB);
  }, 180_000);
});
