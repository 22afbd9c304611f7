// Burning the watermark into a document page's pixels before it leaves the server: the name of the person looking
// and the minute, repeated diagonally across the whole page, so that the image a browser receives (and anything
// saved or copied from it) carries them — no overlay a page's styles or a saved image could leave behind. The pages
// were held to a pixel limit at upload (a PDF already rendered to images there); libvips (through sharp) is held to
// the same limit, keeps no cache, and one page is marked at a time so that memory stays bounded whatever asks.
import sharp from "sharp";
import { TASK_DOCUMENT_LIMITS } from "./documents.ts";

sharp.cache(false);
sharp.concurrency(1);

/** The watermark's time: the minute in Tokyo, `YYYY-MM-DD HH:MM JST`. */
export function tokyoMinute(at: Date): string {
  return `${new Intl.DateTimeFormat("sv-SE", {
    timeZone: "Asia/Tokyo",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
  }).format(at)} JST`;
}

const escapeXml = (s: string) =>
  s.replace(
    /[<>&"']/g,
    (ch) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[ch] as string,
  );

/**
 * An SVG as large as the page with `mark` in rows of diagonal text covering it: dark red, about a third opaque,
 * large enough to read on a scan and spaced so that a field's value is still legible between the lines.
 */
export function markSvg(width: number, height: number, mark: string): string {
  const size = Math.max(14, Math.round(Math.min(width, height) / 28));
  // A line of text is about 0.6 em a character (wide CJK characters about 1 em): room for the mark and a gap.
  const lineWidth = [...mark].reduce((w, ch) => w + (ch.charCodeAt(0) > 0x2e80 ? 1 : 0.6), 0) * size + size * 4;
  const step = size * 5;
  const diagonal = Math.ceil(Math.hypot(width, height));
  const text = escapeXml(mark);
  const lines: string[] = [];
  for (let y = -diagonal, row = 0; y < diagonal; y += step, row++) {
    const shift = (row % 2) * (lineWidth / 2);
    for (let x = -diagonal - shift; x < diagonal; x += lineWidth) {
      lines.push(`<text x="${Math.round(x)}" y="${Math.round(y)}">${text}</text>`);
    }
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">`,
    `<g transform="translate(${width / 2} ${height / 2}) rotate(-30)" font-family="IPAGothic, IPAPGothic, sans-serif"`,
    ` font-size="${size}" font-weight="bold" fill="rgb(176,0,32)" fill-opacity="0.33">`,
    ...lines,
    "</g></svg>",
  ].join("");
}

let queue: Promise<unknown> = Promise.resolve();

/** One page at a time, in the order asked: no two pages are decoded at once. */
function oneAtATime<T>(work: () => Promise<T>): Promise<T> {
  const next = queue.then(work, work);
  queue = next.catch(() => undefined);
  return next;
}

/**
 * The page (a PNG or JPEG as kept) with `mark` burned in, in the same format and size; metadata (text chunks,
 * EXIF) is not carried over. A page decoded only in part is marked as far as it goes; one whose pixels cannot be
 * read at all (its header was sound at upload) becomes a blank PNG of its size, marked, rather than an error in
 * the keyer's page — never the bytes unmarked. Refuses an image over the upload's pixel limit.
 */
export function watermarkPage(
  page: { mediaType: string; width: number; height: number; bytes: Buffer },
  mark: string,
): Promise<{ mediaType: string; bytes: Buffer }> {
  return oneAtATime(async () => {
    const image = sharp(page.bytes, { limitInputPixels: TASK_DOCUMENT_LIMITS.pixels, failOn: "none" });
    const { width = page.width, height = page.height } = await image.metadata();
    // Checked here too, so that neither the page nor a blank stand-in for it is made over the limit.
    if (width * height > TASK_DOCUMENT_LIMITS.pixels) throw new Error(`${width}×${height} is over the pixel limit`);
    const overlay = [{ input: Buffer.from(markSvg(width, height, mark)), top: 0, left: 0 }];
    try {
      const marked = image.composite(overlay);
      return page.mediaType === "image/jpeg"
        ? { mediaType: page.mediaType, bytes: await marked.jpeg({ quality: 85 }).toBuffer() }
        : { mediaType: "image/png", bytes: await marked.png({ compressionLevel: 6 }).toBuffer() };
    } catch {
      const blank = sharp({ create: { width, height, channels: 3, background: "#ffffff" } });
      return { mediaType: "image/png", bytes: await blank.composite(overlay).png().toBuffer() };
    }
  });
}
