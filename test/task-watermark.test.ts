// The watermark burned into a document page: the person's name and the minute in the pixels, in the page's own format
// and size, markup in a name taken as text, and a page over the pixel limit refused before it is decoded.
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { markSvg, tokyoMinute, watermarkPage } from "../src/domain/tasks/watermark.ts";
import { jpeg, markedPixels, png } from "./support/task-documents.ts";

describe("the watermark in a page's pixels", () => {
  it("marks a PNG and a JPEG across the page, keeping their format and size", async () => {
    const page = png(600, 400, { rgb: [255, 255, 255] });
    expect(await markedPixels(page)).toBe(0);
    const { bytes: marked, mediaType } = await watermarkPage(
      { mediaType: "image/png", width: 600, height: 400, bytes: page },
      "佐藤 花子",
    );
    expect(mediaType).toBe("image/png");
    const meta = await sharp(marked).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(["png", 600, 400]);
    // Across the page: each quarter has some of the mark.
    for (const [left, top] of [
      [0, 0],
      [300, 0],
      [0, 200],
      [300, 200],
    ] as const) {
      const quarter = await sharp(marked).extract({ left, top, width: 300, height: 200 }).png().toBuffer();
      expect(await markedPixels(quarter)).toBeGreaterThan(300 * 200 * 0.01);
    }
    const scan = jpeg("RECEIPT 1200 JPY");
    const { width = 0, height = 0 } = await sharp(scan).metadata();
    const markedScan = await watermarkPage({ mediaType: "image/jpeg", width, height, bytes: scan }, "sato");
    expect((await sharp(markedScan.bytes).metadata()).format).toBe("jpeg");
    expect(await markedPixels(markedScan.bytes)).toBeGreaterThan(await markedPixels(scan));
  });

  it("marks a blank page of the same size when the pixels cannot be read, never sending them unmarked", async () => {
    // A sound header (as checked at upload) over image data that is not a deflate stream.
    const sound = png(200, 100);
    const broken = Buffer.concat([sound.subarray(0, 33), Buffer.from([0, 0, 0, 8]), Buffer.from("IDATgarbage!")]);
    const shown = await watermarkPage({ mediaType: "image/png", width: 200, height: 100, bytes: broken }, "sato");
    expect(shown.bytes.equals(broken)).toBe(false);
    const meta = await sharp(shown.bytes).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(["png", 200, 100]);
    expect(await markedPixels(shown.bytes)).toBeGreaterThan(0);
  });

  it("takes a name as text, never as markup", () => {
    const svg = markSvg(200, 100, `<script>&"'`);
    expect(svg).not.toContain("<script>");
    expect(svg).toContain("&lt;script&gt;&amp;&quot;&apos;");
  });

  it("refuses a page over the pixel limit without decoding it", async () => {
    const bomb = png(8, 8, { claim: { width: 100_000, height: 100_000 } });
    await expect(
      watermarkPage({ mediaType: "image/png", width: 100_000, height: 100_000, bytes: bomb }, "sato"),
    ).rejects.toThrow(/pixel limit/u);
  });

  it("says the minute in Tokyo", () => {
    expect(tokyoMinute(new Date("2026-12-07T15:30:59Z"))).toBe("2026-12-08 00:30 JST");
  });
});
