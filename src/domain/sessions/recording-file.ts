// Reading a recording back as plain asciicast v2, streamed from disk whatever its size: memory per read
// stays at a few buffers, a byte range can be asked for, and only a missing file is "not found".
import { open } from "node:fs/promises";
import { type Readable, Transform } from "node:stream";
import { constants, createGunzip } from "node:zlib";
import { fail, notFound } from "../../kernel/errors.ts";
import { text } from "../../kernel/messages.ts";

/** One read buffer; a download holds a few of these at a time, never the file. */
const CHUNK = 64 * 1024;

/** A recording being read: the bytes asked for, and where they sit in the whole. */
export interface RecordingRead {
  /** The plain asciicast bytes from `start` to `end` (inclusive), or the whole file. */
  stream: Readable;
  /** Set when a byte range was asked for and is served (an HTTP 206). */
  range: { start: number; end: number } | null;
  /** The plain size of the whole recording, when known. */
  size: number | null;
}

/** A single byte range as an HTTP `Range` header states it; anything else is ignored, as RFC 9110 allows. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | null {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header?.trim() ?? "");
  if (!m || (m[1] === "" && m[2] === "")) return null;
  let start: number;
  let end: number;
  if (m[1] === "") {
    // The last N bytes.
    const suffix = Number(m[2]);
    if (suffix === 0) throw unsatisfiable(size);
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== "" && Number(m[2]) < start) return null;
  }
  if (start >= size) throw unsatisfiable(size);
  return { start, end };
}

const unsatisfiable = (size: number) => fail("RANGE_NOT_SATISFIABLE", text("recordings.range", { size }), { size });

/** Passes on the bytes from `start` to `end` (inclusive) of what flows through it, then ends. */
function slice(start: number, end: number): Transform {
  let at = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      if (at > end) return done();
      const from = Math.max(0, start - at);
      const to = Math.min(chunk.length, end + 1 - at);
      at += chunk.length;
      if (to > from) this.push(chunk.subarray(from, to));
      if (at > end) this.push(null);
      done();
    },
  });
}

/**
 * Opens `file` for reading as plain asciicast v2. A `.gz` file (gzip members, the last possibly cut short by
 * a crash) is inflated as it is read; its plain size is `plainSize` when known, and without it a range is
 * not served (the whole file is). Only a missing file is NOT_FOUND; any other failure is thrown as it is.
 */
export async function readRecording(
  file: string,
  { range: asked, plainSize = null }: { range?: string; plainSize?: number | null } = {},
): Promise<RecordingRead> {
  const handle = await open(file, "r").catch((err: NodeJS.ErrnoException) => {
    throw err.code === "ENOENT" ? notFound("recording") : err;
  });
  try {
    const stats = await handle.stat();
    // Something other than a file where the recording should be is a fault to report, not a missing file.
    if (!stats.isFile()) throw new Error(`the recording ${file} is not a regular file`);
    if (!file.endsWith(".gz")) {
      const size = stats.size;
      const range = size > 0 ? parseRange(asked, size) : null;
      const stream = handle.createReadStream({
        highWaterMark: CHUNK,
        ...(range ? { start: range.start, end: range.end } : {}),
      });
      return { stream, range, size };
    }
    const range = plainSize !== null && plainSize > 0 ? parseRange(asked, plainSize) : null;
    const raw = handle.createReadStream({ highWaterMark: CHUNK });
    // Z_SYNC_FLUSH at the end: a member cut short by a crash yields what it holds instead of an error.
    const inflate = createGunzip({ chunkSize: CHUNK, finishFlush: constants.Z_SYNC_FLUSH });
    raw.on("error", (err) => inflate.destroy(err));
    let stream: Readable = raw.pipe(inflate);
    if (range) {
      const part = slice(range.start, range.end);
      inflate.on("error", (err) => part.destroy(err));
      // Past the range's end the rest of the file is not inflated.
      part.on("close", () => {
        raw.destroy();
        inflate.destroy();
      });
      stream = inflate.pipe(part);
    } else {
      inflate.on("close", () => raw.destroy());
    }
    return { stream, range, size: plainSize };
  } catch (err) {
    await handle.close();
    throw err;
  }
}
