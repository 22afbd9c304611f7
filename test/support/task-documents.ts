// Documents for task-item uploads, written byte by byte: PNGs of a given size (or only claiming one), PDFs of a
// few pages of text, and a JPEG rendered from one with poppler, as scanners and office software make them; and the
// page image a page shows, decoded.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32, deflateSync } from "node:zlib";
import sharp from "sharp";

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, "latin1");
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

/**
 * A PNG of `width` × `height` in one colour, with a tEXt note (`marker`) a reader of the database would find if
 * the bytes were kept in clear. `claim` writes another size in the header than the pixels have, as a
 * decompression bomb does.
 */
export function png(
  width: number,
  height: number,
  opts: { rgb?: [number, number, number]; marker?: string; claim?: { width: number; height: number } } = {},
): Buffer {
  const [r, g, b] = opts.rgb ?? [240, 236, 220];
  const row = Buffer.alloc(1 + width * 3);
  for (let x = 0; x < width; x++) row.set([r, g, b], 1 + x * 3);
  const raw = Buffer.concat(Array.from({ length: height }, () => row));
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(opts.claim?.width ?? width, 0);
  ihdr.writeUInt32BE(opts.claim?.height ?? height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    ...(opts.marker ? [chunk("tEXt", Buffer.from(`Comment\0${opts.marker}`, "latin1"))] : []),
    chunk("IDAT", deflateSync(raw)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

/** A PDF of one page per line of `pages`, each with the line in large type; `script` adds an OpenAction script. */
export function pdf(pages: string[], opts: { script?: string } = {}): Buffer {
  const objects: string[] = [];
  const kids = pages.map((_, i) => `${4 + i * 2} 0 R`).join(" ");
  objects.push(
    `<< /Type /Catalog /Pages 2 0 R${opts.script ? ` /OpenAction << /S /JavaScript /JS (${opts.script}) >>` : ""} >>`,
  );
  objects.push(`<< /Type /Pages /Kids [${kids}] /Count ${pages.length} >>`);
  objects.push("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>");
  for (const line of pages) {
    const stream = `BT /F1 28 Tf 60 700 Td (${line}) Tj ET`;
    objects.push(
      `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> /Contents ${objects.length + 2} 0 R >>`,
    );
    objects.push(`<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`);
  }
  let out = "%PDF-1.4\n";
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(out.length);
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = out.length;
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const at of offsets) out += `${String(at).padStart(10, "0")} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, "latin1");
}

/** A JPEG: the first page of a PDF rendered by pdftoppm, as a scanner's file would be. */
export function jpeg(line: string): Buffer {
  const dir = mkdtempSync(join(tmpdir(), "azusa-jpeg-"));
  try {
    writeFileSync(join(dir, "in.pdf"), pdf([line]));
    execFileSync("pdftoppm", ["-jpeg", "-r", "40", "-singlefile", join(dir, "in.pdf"), join(dir, "out")]);
    return readFileSync(join(dir, "out.jpg"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** How many pixels of an image carry the watermark's dark red (red well above green, which neither the test
 * documents' beige or white nor their black text has). */
export async function markedPixels(bytes: Buffer): Promise<number> {
  const { data } = await sharp(bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  let marked = 0;
  for (let i = 0; i < data.length; i += 3) if ((data[i] as number) - (data[i + 1] as number) > 30) marked++;
  return marked;
}

/** The first page image inline in a page's HTML, its size, and how many of its pixels carry the watermark. */
export async function shownPage(
  html: string,
): Promise<{ bytes: Buffer; width: number; height: number; marked: number }> {
  const base64 = /src="data:image\/(?:png|jpeg);base64,([^"]+)"/u.exec(html)?.[1];
  if (!base64) throw new Error("the page shows no document image");
  const bytes = Buffer.from(base64, "base64");
  const { width = 0, height = 0 } = await sharp(bytes).metadata();
  return { bytes, width, height, marked: await markedPixels(bytes) };
}
