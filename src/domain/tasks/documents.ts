// Reading uploaded task documents before anything keeps them: a file is what its first bytes say (PNG, JPEG, PDF
// or a zip of those), never what its name or content type claims; a zip is unpacked with every entry's output
// bounded; an image's stated size is read from its header and held to a pixel limit; a PDF is rendered to PNG
// pages by poppler's pdftoppm under a time limit and only the pages are kept, so that no PDF (with its scripts,
// forms, links or attachments) ever reaches a browser.
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { inflateRawSync } from "node:zlib";
import { fail, invalidField } from "../../kernel/errors.ts";
import { text } from "../../kernel/messages.ts";
import { zipDirectory, zipEntries } from "../../kernel/zip.ts";

const run = promisify(execFile);

/** How far an upload of documents may go; beyond any of these it is refused before anything is written. */
export const TASK_DOCUMENT_LIMITS = {
  /** Bytes of one upload (a file or a zip). */
  uploadBytes: 64 * 1024 * 1024,
  /** Bytes of one document (an image, a PDF, or a zip entry once unpacked). */
  fileBytes: 10 * 1024 * 1024,
  /** Files in one zip. */
  zipEntries: 500,
  /** Bytes a zip's entries may unpack to together. */
  zipTotalBytes: 256 * 1024 * 1024,
  /** Pixels of one image (width × height), so that a small file cannot ask the browser for gigabytes. */
  pixels: 40_000_000,
  /** Pages of one PDF. */
  pdfPages: 20,
  /** The longest side, in pixels, a PDF page is rendered at. */
  pdfPageSide: 1600,
  /** Seconds pdfinfo and pdftoppm may take over one PDF. */
  pdfSeconds: 30,
} as const;

export type DocumentKind = "png" | "jpeg" | "pdf" | "zip";
export const mediaTypes = { png: "image/png", jpeg: "image/jpeg" } as const;

/** One page as kept: a PNG or JPEG with its size. */
export interface DocumentPage {
  mediaType: (typeof mediaTypes)[keyof typeof mediaTypes];
  width: number;
  height: number;
  bytes: Buffer;
}

/** One uploaded document: its name and its pages (one for an image, each rendered page for a PDF). */
export interface ReadDocument {
  name: string;
  pages: DocumentPage[];
}

const startsWith = (bytes: Uint8Array, magic: number[], at = 0) =>
  bytes.length >= at + magic.length && magic.every((b, i) => bytes[at + i] === b);

/** The kind by the first bytes alone; undefined for anything else (SVG, HTML, GIF, WebP, text…). */
export function sniffDocument(bytes: Uint8Array): DocumentKind | undefined {
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return "png";
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return "jpeg";
  if (startsWith(bytes, [0x25, 0x50, 0x44, 0x46, 0x2d])) return "pdf";
  if (startsWith(bytes, [0x50, 0x4b, 0x03, 0x04]) || startsWith(bytes, [0x50, 0x4b, 0x05, 0x06])) return "zip";
  return undefined;
}

/** Width and height from a PNG's IHDR or a JPEG's first start-of-frame marker; undefined when unreadable. */
export function imageSize(bytes: Buffer, kind: "png" | "jpeg"): { width: number; height: number } | undefined {
  if (kind === "png") {
    if (bytes.length < 24 || bytes.toString("latin1", 12, 16) !== "IHDR") return undefined;
    return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
  }
  let at = 2;
  while (at + 9 < bytes.length) {
    if (bytes[at] !== 0xff) return undefined;
    const marker = bytes[at + 1] as number;
    if (marker === 0xff) {
      at++;
      continue;
    }
    // SOF0–SOF15 except DHT (C4), JPG (C8) and DAC (CC) carry the frame's size.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { height: bytes.readUInt16BE(at + 5), width: bytes.readUInt16BE(at + 7) };
    }
    if (marker === 0xd9 || marker === 0xda) return undefined;
    at += 2 + bytes.readUInt16BE(at + 2);
  }
  return undefined;
}

const mib = (n: number) => `${n / (1024 * 1024)} MiB`;

/** An image as kept, after its header's size is read and held to the pixel limit. */
function readImage(name: string, bytes: Buffer, kind: "png" | "jpeg"): ReadDocument {
  const size = imageSize(bytes, kind);
  if (!size || size.width === 0 || size.height === 0) {
    throw invalidField("file", text("taskDocs.unreadable", { name }));
  }
  if (size.width * size.height > TASK_DOCUMENT_LIMITS.pixels) {
    throw fail("PAYLOAD_TOO_LARGE", text("taskDocs.tooManyPixels", { name, max: TASK_DOCUMENT_LIMITS.pixels }));
  }
  return { name, pages: [{ mediaType: mediaTypes[kind], ...size, bytes }] };
}

/** A PDF's pages rendered to PNG by pdftoppm; the PDF itself is not kept. */
async function renderPdf(name: string, bytes: Buffer): Promise<ReadDocument> {
  const dir = await mkdtemp(join(tmpdir(), "azusa-pdf-"));
  const limits = TASK_DOCUMENT_LIMITS;
  const options = { timeout: limits.pdfSeconds * 1000, maxBuffer: 1024 * 1024, killSignal: "SIGKILL" as const };
  try {
    const input = join(dir, "in.pdf");
    await writeFile(input, bytes);
    let pages: number;
    try {
      const { stdout } = await run("pdfinfo", [input], options);
      pages = Number(/^Pages:\s+(\d+)/mu.exec(stdout)?.[1] ?? Number.NaN);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") throw fail("UNAVAILABLE", text("taskDocs.noPoppler"));
      throw invalidField("file", text("taskDocs.unreadable", { name }));
    }
    if (!Number.isInteger(pages) || pages < 1) throw invalidField("file", text("taskDocs.unreadable", { name }));
    if (pages > limits.pdfPages) {
      throw fail("PAYLOAD_TOO_LARGE", text("taskDocs.tooManyPages", { name, pages, max: limits.pdfPages }));
    }
    try {
      await run(
        "pdftoppm",
        [
          "-png",
          "-r",
          "150",
          "-scale-to",
          String(limits.pdfPageSide),
          "-f",
          "1",
          "-l",
          String(pages),
          input,
          join(dir, "p"),
        ],
        options,
      );
    } catch {
      throw invalidField("file", text("taskDocs.unreadable", { name }));
    }
    const files = (await readdir(dir)).filter((f) => /^p-\d+\.png$/u.test(f)).sort();
    if (files.length !== pages) throw invalidField("file", text("taskDocs.unreadable", { name }));
    const read: DocumentPage[] = [];
    for (const f of files) {
      const png = await readFile(join(dir, f));
      const size = imageSize(png, "png");
      if (!size) throw invalidField("file", text("taskDocs.unreadable", { name }));
      read.push({ mediaType: "image/png", ...size, bytes: png });
    }
    return { name, pages: read };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** One file: an image as it is, a PDF as rendered pages; anything else is refused, naming it. */
async function readFileDocument(name: string, bytes: Buffer): Promise<ReadDocument> {
  if (bytes.length > TASK_DOCUMENT_LIMITS.fileBytes) {
    throw fail("PAYLOAD_TOO_LARGE", text("taskDocs.fileTooLarge", { name, max: mib(TASK_DOCUMENT_LIMITS.fileBytes) }));
  }
  const kind = sniffDocument(bytes);
  if (kind === "png" || kind === "jpeg") return readImage(name, bytes, kind);
  if (kind === "pdf") return renderPdf(name, bytes);
  throw fail("UNSUPPORTED_MEDIA_TYPE", text("taskDocs.notADocument", { name }));
}

/** A zip's files, each unpacked with its output bounded; folders and macOS's `__MACOSX/` copies are passed over. */
export function unzipDocuments(bytes: Buffer): { name: string; bytes: Buffer }[] {
  const limits = TASK_DOCUMENT_LIMITS;
  const unreadable = () => invalidField("file", text("taskDocs.badZip"));
  const directory = zipDirectory(bytes);
  if (!directory) throw unreadable();
  if (directory.count > limits.zipEntries) {
    throw fail("PAYLOAD_TOO_LARGE", text("taskDocs.zipEntries", { n: directory.count, max: limits.zipEntries }));
  }
  const entries = zipEntries(bytes, directory);
  if (!entries) throw unreadable();
  const out: { name: string; bytes: Buffer }[] = [];
  let total = 0;
  for (const { name, flags, method, data } of entries) {
    if (name.endsWith("/") || name.startsWith("__MACOSX/")) continue;
    if (flags & 0x1) throw invalidField("file", text("taskDocs.zipEncrypted", { name }));
    const left = Math.min(limits.fileBytes, limits.zipTotalBytes - total);
    let file: Buffer;
    if (method === 0) file = Buffer.from(data);
    else if (method === 8) {
      try {
        // One byte past what is allowed: an entry that fills it is too large, whatever its header said.
        file = inflateRawSync(data, { maxOutputLength: left + 1 });
      } catch (err) {
        if ((err as Error & { code?: string }).code === "ERR_BUFFER_TOO_LARGE") file = Buffer.alloc(left + 1);
        else throw unreadable();
      }
    } else throw unreadable();
    if (file.length > left) {
      throw fail(
        "PAYLOAD_TOO_LARGE",
        left < limits.fileBytes
          ? text("taskDocs.zipTooLarge", { max: mib(limits.zipTotalBytes) })
          : text("taskDocs.fileTooLarge", { name, max: mib(limits.fileBytes) }),
      );
    }
    total += file.length;
    out.push({ name, bytes: file });
  }
  if (out.length === 0) throw invalidField("file", text("taskDocs.emptyZip"));
  return out.sort((a, b) => a.name.localeCompare(b.name, "ja", { numeric: true }));
}

/**
 * The documents of one upload: one for a PNG, JPEG or PDF, one per file of a zip (in name order). All or none: any
 * file that is not one of these, too large, or unreadable refuses the whole upload, naming it.
 */
export async function readDocuments(name: string, bytes: Buffer): Promise<ReadDocument[]> {
  if (bytes.length === 0) throw invalidField("file", text("wbs.fileEmpty"));
  if (sniffDocument(bytes) !== "zip") return [await readFileDocument(name, bytes)];
  const read: ReadDocument[] = [];
  for (const entry of unzipDocuments(bytes)) {
    if (sniffDocument(entry.bytes) === "zip")
      throw fail("UNSUPPORTED_MEDIA_TYPE", text("taskDocs.notADocument", { name: entry.name }));
    read.push(await readFileDocument(entry.name, entry.bytes));
  }
  return read;
}
