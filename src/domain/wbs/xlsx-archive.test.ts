import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { xlsx } from "../../../test/support/wbs-files.ts";
import { xlsxParts, zip } from "../../../test/support/zip.ts";
import { english } from "../../kernel/messages.ts";
import { parseWbs } from "./wbs-parse.ts";
import { checkXlsxArchive } from "./xlsx-archive.ts";

const KiB = 1024;
const small = { entries: 10, entryBytes: 256 * KiB, totalBytes: 512 * KiB, ratio: 20, ratioFrom: 64 * KiB };
const rows = [
  ["id", "title", "estimate"],
  ["1", "帳票出力", "8"],
];

const refusal = async (bytes: Buffer, limits = small) => {
  const check = await checkXlsxArchive(bytes, limits);
  if (check.ok || !check.tooLarge) throw new Error(`expected a refusal for size, got ${JSON.stringify(check)}`);
  return english(check.text);
};

describe("what an uploaded workbook may unpack to", () => {
  it("lets a workbook as Excel writes it through, and the test's own workbooks are real ones", async () => {
    expect(await checkXlsxArchive(await xlsx(rows))).toEqual({ ok: true });
    const written = await zip(xlsxParts(rows, { repeat: " ", times: 100 * KiB }));
    expect(await checkXlsxArchive(written)).toEqual({ ok: true });
    const parsed = await parseWbs({ bytes: written });
    expect(parsed.ok && parsed.items.map((i) => i.title)).toEqual(["帳票出力"]);
  });

  it("refuses a part that unpacks past the part limit, naming the part and the limit", async () => {
    const bomb = await zip(xlsxParts(rows, { repeat: "<row/>", times: 50 * KiB }));
    expect(await refusal(bomb, { ...small, ratio: 10_000 })).toBe(
      "the workbook's part xl/worksheets/sheet1.xml unpacks to more than 0.25 MiB, the most one part of an .xlsx may unpack to",
    );
  });

  it("refuses a part that unpacks to more than the ratio allows, before it reaches the part limit", async () => {
    const bomb = await zip(xlsxParts(rows, { repeat: " ", times: 200 * KiB }));
    expect(await refusal(bomb)).toMatch(
      /part xl\/worksheets\/sheet1\.xml unpacks to more than 20 times its packed size/,
    );
  });

  it("refuses parts that together unpack past the total, each within its own limit", async () => {
    const parts = [0, 1, 2].map((n) => ({ name: `xl/media/image${n}.bin`, content: randomBytes(200 * KiB) }));
    expect(await refusal(await zip([...xlsxParts(rows), ...parts]))).toBe(
      "the workbook unpacks to more than 0.5 MiB, the most an .xlsx may unpack to in all",
    );
  });

  it("counts a stored part by its size, like a deflated one", async () => {
    const stored = { name: "xl/media/big.bin", content: Buffer.alloc(300 * KiB, 1), stored: true };
    expect(await refusal(await zip([...xlsxParts(rows), stored]))).toMatch(/part xl\/media\/big\.bin unpacks to more/);
  });

  it("refuses a zip of more parts than allowed", async () => {
    const many = Array.from({ length: 11 }, (_, i) => ({ name: `customXml/item${i}.xml`, content: "<a/>" }));
    expect(await refusal(await zip(many))).toBe("the workbook holds 11 parts; an .xlsx may hold at most 10");
  });

  it("says a zip it cannot follow is unreadable, not too large", async () => {
    const written = await zip(xlsxParts(rows));
    expect(await checkXlsxArchive(written.subarray(0, written.length - 30))).toEqual({ ok: false, tooLarge: false });
    expect(await checkXlsxArchive(Buffer.from("PK\u0003\u0004 not really a zip"))).toEqual({
      ok: false,
      tooLarge: false,
    });
  });

  it("lets a 50,000-row WBS, the most one import takes, through the default limits", async () => {
    const big = [["id", "title", "parent", "estimate", "depends on", "acceptance criteria"]];
    for (let i = 0; i < 50_000; i++)
      big.push([`p.${i}`, `作業 ${i} 帳票出力`, "", "8", i ? `p.${i - 1}` : "", "テストが通ること"]);
    expect(await checkXlsxArchive(await xlsx(big))).toEqual({ ok: true });
  }, 60_000);
});
