// Zip files and .xlsx workbooks written byte by byte, for uploads that no spreadsheet program would write: a part
// that unpacks to a gigabyte is deflated from a repeated chunk, so that the test never holds it whole.
import { crc32, createDeflateRaw } from "node:zlib";

/** One part of a zip: its bytes, or a chunk repeated `times` times (deflated as a stream). */
export interface ZipPart {
  name: string;
  content: string | Uint8Array | { repeat: string; times: number; before?: string; after?: string };
  /** Stored instead of deflated. */
  stored?: boolean;
}

async function pack(part: ZipPart): Promise<{ data: Buffer; crc: number; size: number }> {
  const { content } = part;
  const pieces: Buffer[] = typeof content === "string" || content instanceof Uint8Array ? [Buffer.from(content)] : [];
  if (part.stored) {
    const data = Buffer.concat(pieces);
    return { data, crc: crc32(data), size: data.length };
  }
  const deflate = createDeflateRaw({ level: 9 });
  const out: Buffer[] = [];
  deflate.on("data", (chunk: Buffer) => out.push(chunk));
  const done = new Promise((resolve, reject) => deflate.on("end", resolve).on("error", reject));
  let crc = 0;
  let size = 0;
  const write = async (chunk: Buffer) => {
    crc = crc32(chunk, crc);
    size += chunk.length;
    if (!deflate.write(chunk)) await new Promise((resolve) => deflate.once("drain", resolve));
  };
  if (pieces.length) await write(pieces[0] as Buffer);
  else if (typeof content === "object" && "repeat" in content) {
    if (content.before) await write(Buffer.from(content.before));
    const perChunk = Math.max(1, Math.floor(65536 / content.repeat.length));
    const chunk = Buffer.from(content.repeat.repeat(perChunk));
    let left = content.times;
    while (left >= perChunk) {
      await write(chunk);
      left -= perChunk;
    }
    if (left > 0) await write(Buffer.from(content.repeat.repeat(left)));
    if (content.after) await write(Buffer.from(content.after));
  }
  deflate.end();
  await done;
  return { data: Buffer.concat(out), crc, size };
}

/** A zip holding the parts in order (no ZIP64, no data descriptors), as a spreadsheet program writes one. */
export async function zip(parts: readonly ZipPart[]): Promise<Buffer> {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const part of parts) {
    const { data, crc, size } = await pack(part);
    const name = Buffer.from(part.name, "utf8");
    const method = part.stored ? 0 : 8;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6); // names in UTF-8
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc >>> 0, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(size >>> 0, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(crc >>> 0, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(size >>> 0, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, data);
    centrals.push(central, name);
    offset += local.length + name.length + data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(parts.length, 8);
  end.writeUInt16LE(parts.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

const xml = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n';
const SHEET_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
const REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";

/** A cell of inline text, as `<c>` XML. */
const cell = (ref: string, value: string) =>
  `<c r="${ref}" t="inlineStr"><is><t>${value.replace(/&/g, "&amp;").replace(/</g, "&lt;")}</t></is></c>`;

/**
 * A real one-sheet .xlsx with the given header and rows, whose sheet may be padded with `padding` repeated
 * `times` times (blank rows far below the data) — a workbook that spreadsheet readers open, however large it unpacks.
 */
export function xlsxParts(
  rows: readonly (readonly string[])[],
  padding?: { repeat: string; times: number },
): ZipPart[] {
  const columns = "ABCDEFGH";
  const data = rows
    .map((cells, r) => `<row r="${r + 1}">${cells.map((v, c) => cell(`${columns[c]}${r + 1}`, v)).join("")}</row>`)
    .join("");
  const before = `${xml}<worksheet xmlns="${SHEET_NS}"><sheetData>${data}`;
  const after = "</sheetData></worksheet>";
  return [
    {
      name: "[Content_Types].xml",
      content: `${xml}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>`,
    },
    {
      name: "_rels/.rels",
      content: `${xml}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="${REL_NS}/officeDocument" Target="xl/workbook.xml"/></Relationships>`,
    },
    {
      name: "xl/workbook.xml",
      content: `${xml}<workbook xmlns="${SHEET_NS}" xmlns:r="${REL_NS}"><sheets><sheet name="WBS" sheetId="1" r:id="rId1"/></sheets></workbook>`,
    },
    {
      name: "xl/_rels/workbook.xml.rels",
      content: `${xml}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="${REL_NS}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>`,
    },
    {
      name: "xl/worksheets/sheet1.xml",
      content: padding ? { ...padding, before, after } : `${before}${after}`,
    },
  ];
}
