// Looks inside an uploaded .xlsx (a zip) before anything parses it: a workbook of a few megabytes may unpack to
// gigabytes of XML, and the spreadsheet reader unpacks every part whole. Each part is inflated here as a stream
// whose output is counted and dropped, so that checking costs little memory whatever the file claims.

import { createInflateRaw } from "node:zlib";
import { type Text, text } from "../../kernel/messages.ts";
import { zipDirectory, zipEntries } from "../../kernel/zip.ts";

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

const MiB = 1024 * 1024;

const unreadable: XlsxArchiveCheck = { ok: false, tooLarge: false };
const tooLarge = (message: Text): XlsxArchiveCheck => ({ ok: false, tooLarge: true, text: message });
const mib = (bytes: number) => `${bytes / MiB} MiB`;

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
  const directory = zipDirectory(bytes);
  if (!directory) return unreadable;
  if (directory.count > limits.entries) {
    return tooLarge(text("wbs.xlsxEntries", { entries: directory.count, max: limits.entries }));
  }
  const entries = zipEntries(bytes, directory);
  if (!entries) return unreadable;
  let total = 0;
  for (const { name, method, packed, data } of entries) {
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
