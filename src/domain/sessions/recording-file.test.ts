import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { AppError } from "../../kernel/errors.ts";
import { parseRange, readRecording } from "./recording-file.ts";

const dir = mkdtempSync(join(tmpdir(), "azusa-recording-file-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function text(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

const cast = `${JSON.stringify({ version: 2, width: 80, height: 24 })}\n[0.5,"o","make test\\r\\n"]\n[1.5,"o","ok\\r\\n"]\n`;

describe("reading a recording", () => {
  it("streams a plain recording whole, or the one byte range asked for", async () => {
    const file = join(dir, "plain.cast");
    writeFileSync(file, cast);
    const whole = await readRecording(file);
    expect(whole.range).toBeNull();
    expect(whole.size).toBe(Buffer.byteLength(cast));
    expect(await text(whole.stream)).toBe(cast);

    const part = await readRecording(file, { range: "bytes=10-19" });
    expect(part.range).toEqual({ start: 10, end: 19 });
    expect(await text(part.stream)).toBe(cast.slice(10, 20));
    const tail = await readRecording(file, { range: "bytes=-12" });
    expect(await text(tail.stream)).toBe(cast.slice(-12));
    const open = await readRecording(file, { range: "bytes=30-" });
    expect(await text(open.stream)).toBe(cast.slice(30));
  });

  it("inflates a compressed recording whose last gzip member a crash cut short", async () => {
    const file = join(dir, "cut.cast.gz");
    const lines = cast.split(/(?<=\n)/);
    const members = lines.map((l) => gzipSync(l));
    const last = members.at(-1) as Buffer;
    // The last member has lost its trailer (and more): what it held so far is still read.
    writeFileSync(file, Buffer.concat([...members.slice(0, -1), last.subarray(0, last.length - 8)]));
    const read = await readRecording(file);
    expect(await text(read.stream)).toBe(cast);
  });

  it("serves a range of a compressed recording once its plain size is known, and the whole one otherwise", async () => {
    const file = join(dir, "ranged.cast.gz");
    writeFileSync(file, Buffer.concat(cast.split(/(?<=\n)/).map((l) => gzipSync(l))));
    const size = Buffer.byteLength(cast);
    const part = await readRecording(file, { range: "bytes=40-60", plainSize: size });
    expect(part.range).toEqual({ start: 40, end: 60 });
    expect(await text(part.stream)).toBe(cast.slice(40, 61));
    const unknown = await readRecording(file, { range: "bytes=40-60" });
    expect(unknown.range).toBeNull();
    expect(await text(unknown.stream)).toBe(cast);
  });

  it("answers a missing file as not found and any other failure as itself", async () => {
    await expect(readRecording(join(dir, "absent.cast"))).rejects.toMatchObject({ code: "NOT_FOUND" });
    const folder = join(dir, "a-folder.cast");
    mkdirSync(folder);
    const notAFile = await readRecording(folder).catch((err: unknown) => err);
    expect(notAFile).toBeInstanceOf(Error);
    expect(notAFile).not.toBeInstanceOf(AppError);
    if (process.getuid?.() !== 0) {
      const locked = join(dir, "locked.cast");
      writeFileSync(locked, cast);
      chmodSync(locked, 0);
      await expect(readRecording(locked)).rejects.toMatchObject({ code: "EACCES" });
    }
  });

  it("refuses a range that starts past the end, and ignores one it cannot read", () => {
    expect(() => parseRange("bytes=100-", 100)).toThrow(expect.objectContaining({ code: "RANGE_NOT_SATISFIABLE" }));
    expect(parseRange("bytes=0-1,5-6", 100)).toBeNull();
    expect(parseRange("lines=1-2", 100)).toBeNull();
    expect(parseRange("bytes=9-3", 100)).toBeNull();
    expect(parseRange("bytes=90-200", 100)).toEqual({ start: 90, end: 99 });
  });
});
