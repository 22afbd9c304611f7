// Looks inside an uploaded .xlsx (a zip) before anything parses it: a workbook of a few megabytes may unpack to
// gigabytes of XML, and the spreadsheet reader unpacks every part whole. Each part is inflated here as a stream
// whose output is counted and dropped, so that checking costs little memory whatever the file claims.

import { createInflateRaw } from "node:zlib";
import { type Text, text } from "../../kernel/messages.ts";

/** How far an uploaded workbook may unpack. */
export interface XlsxLimits {
  entries: number;
  entryBytes: number;
  totalBytes: number;
  ratio: number;
  ratioFrom: number;
}

/** How far an uploaded workbook may unpack; beyond any of these it is refused with 413 before it is parsed. */
export const XLSX_LIMITS: Readonly<XlsxLimits> = {
  /** Parts (files and folders) in the zip. Excel writes about fifteen. */
  entries: 1000,
  /** Bytes one part may unpack to. A 50,000-row WBS sheet is about 13 MB. */
  entryBytes: 64 * 1024 * 1024,
  /** Bytes all parts together may unpack to. */
  totalBytes: 128 * 1024 * 1024,
  /** Unpacked over packed size of one part, once it has unpacked more than `ratioFrom` bytes. Excel's are ~10. */
  ratio: 100,
  ratioFrom: 1024 * 1024,
};

/** What the check found: nothing wrong, a file too large once unpacked, or a zip that cannot be read. */
export type XlsxArchiveCheck =
  | { ok: true }
  | { ok: false; tooLarge: true; text: Text }
  | { ok: false; tooLarge: false };

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const MiB = 1024 * 1024;

const unreadable: XlsxArchiveCheck = { ok: false, tooLarge: false };
const tooLarge = (message: Text): XlsxArchiveCheck => ({ ok: false, tooLarge: true, text: message });
const mib = (bytes: number) => `${bytes / MiB} MiB`;

/** Where the central directory is and how many entries it lists, from the end-of-central-directory record. */
function centralDirectory(view: DataView): { entries: number; offset: number; size: number } | undefined {
  const lowest = Math.max(0, view.byteLength - 22 - 0xffff);
  for (let at = view.byteLength - 22; at >= lowest; at--) {
    if (view.getUint32(at, true) !== EOCD) continue;
    const entries = view.getUint16(at + 10, true);
    const size = view.getUint32(at + 12, true);
    const offset = view.getUint32(at + 16, true);
    // ZIP64 marks these fields as full; no workbook small enough to upload needs it.
    if (entries === 0xffff || offset === 0xffffffff || offset + size > at) return undefined;
    return { entries, offset, size };
  }
  return undefined;
}

/** Inflates one deflated part, counting what comes out; stops as soon as `budget` says it is too much. */
function inflatedSize(data: Uint8Array, budget: (soFar: number) => Text | undefined): Promise<number | Text> {
  return new Promise((resolve) => {
    const inflate = createInflateRaw();
    let out = 0;
    let settled = false;
    const settle = (result: number | Text) => {
      if (settled) return;
      settled = true;
      inflate.destroy();
      resolve(result);
    };
    inflate.on("data", (chunk: Buffer) => {
      out += chunk.length;
      const over = budget(out);
      if (over) settle(over);
    });
    inflate.on("end", () => settle(out));
    inflate.on("error", () => settle(Number.NaN));
    inflate.end(data);
  });
}

/**
 * Checks what an xlsx upload unpacks to against `limits`, inflating every part without keeping it. Refuses a zip
 * with too many parts, a part that unpacks past its limit or its ratio, or parts that together pass the total;
 * says `tooLarge: false` for a zip it cannot read (the caller reports it as an unreadable workbook).
 */
export async function checkXlsxArchive(bytes: Uint8Array, limits: XlsxLimits = XLSX_LIMITS): Promise<XlsxArchiveCheck> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const directory = centralDirectory(view);
  if (!directory) return unreadable;
  if (directory.entries > limits.entries) {
    return tooLarge(text("wbs.xlsxEntries", { entries: directory.entries, max: limits.entries }));
  }
  let total = 0;
  let at = directory.offset;
  for (let i = 0; i < directory.entries; i++) {
    if (at + 46 > bytes.byteLength || view.getUint32(at, true) !== CENTRAL) return unreadable;
    const method = view.getUint16(at + 10, true);
    const packed = view.getUint32(at + 20, true);
    const nameLength = view.getUint16(at + 28, true);
    const next = at + 46 + nameLength + view.getUint16(at + 30, true) + view.getUint16(at + 32, true);
    const local = view.getUint32(at + 42, true);
    const name = new TextDecoder().decode(bytes.subarray(at + 46, at + 46 + nameLength));
    at = next;
    if (local + 30 > bytes.byteLength || view.getUint32(local, true) !== LOCAL) return unreadable;
    const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    if (packed === 0xffffffff || start + packed > bytes.byteLength) return unreadable;
    const data = bytes.subarray(start, start + packed);

    const budget = (size: number): Text | undefined => {
      if (size > limits.entryBytes) return text("wbs.xlsxEntryTooLarge", { name, max: mib(limits.entryBytes) });
      if (total + size > limits.totalBytes) return text("wbs.xlsxTooLarge", { max: mib(limits.totalBytes) });
      if (size > limits.ratioFrom && size > packed * limits.ratio) {
        return text("wbs.xlsxRatio", { name, ratio: limits.ratio });
      }
      return undefined;
    };
    let size: number | Text;
    if (method === 0) size = budget(packed) ?? packed;
    else if (method === 8) size = await inflatedSize(data, budget);
    else return unreadable;
    if (typeof size !== "number") return tooLarge(size);
    if (Number.isNaN(size)) return unreadable;
    total += size;
  }
  return { ok: true };
}
