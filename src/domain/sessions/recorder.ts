// A session's recording as asciicast v2 (playable with `asciinema play`/`cat` once inflated), written while
// it runs: gzip-compressed off the event loop, flushed to the file at least every second so that a crash
// loses at most the last second, and bounded by a cap past which it says it was truncated and stops.
import { isUtf8 } from "node:buffer";
import { createWriteStream, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import type { Writable } from "node:stream";
import { constants, createGzip } from "node:zlib";

/** What a recording took, once closed. */
export interface RecordingTotals {
  /** Bytes of the plain asciicast file a download yields. */
  plainBytes: number;
  /** Bytes on disk. */
  storedBytes: number;
  /** When the cap was reached (ISO instant), or null. */
  truncatedAt: string | null;
}

/** Writes one `.cast.gz` file. A write that fails calls `onError`; the caller ends the session (fail closed). */
export interface Recorder {
  output(data: Buffer): void;
  input(data: Buffer): void;
  resize(cols: number, rows: number): void;
  /** Text taken but not yet compressed and handed to the file, in bytes. */
  backlog(): number;
  /** Resolves once the backlog is written away (at once when there is none, or the recording is over). */
  drained(): Promise<void>;
  /** Writes what is buffered and closes the file; rejects when the file could not be written. */
  close(): Promise<RecordingTotals>;
}

/** A stream that can be held and let go (a Node stream, or a channel's). */
type Pausable = Pick<NodeJS.ReadableStream, "pause" | "resume" | "isPaused">;

/** The most text a recording keeps waiting in memory before the stream it records is held. */
export const RECORDING_BACKLOG_BYTES = 4 * 1024 * 1024;

/**
 * Holds `source` while `rec` is further behind than `limit` (a slow or stalled disk), and lets it flow again once
 * the recording has caught up: what is recorded never waits in memory without bound, and nothing is dropped.
 */
export function holdWhileBehind(rec: Recorder, source: Pausable, limit = RECORDING_BACKLOG_BYTES): void {
  if (rec.backlog() <= limit || source.isPaused()) return;
  source.pause();
  void rec.drained().then(() => source.resume());
}

export interface RecordingOptions {
  now?: () => number;
  /** Bytes on disk this recording may take; past it the recording is truncated and the session goes on. */
  limitBytes?: number;
  /** What the truncation notice names as the cap that was reached ("the per-session cap of 1024 MiB"). */
  limitName?: string;
  /** The recording reached its cap at `at`. */
  onTruncated?: (at: Date, storedBytes: number) => void;
  /** The file could not be written. */
  onError?: (err: Error) => void;
  /** How often what was recorded reaches the file at least. */
  flushMs?: number;
  /**
   * Test-only: what the compressed recording passes through on its way to the file (`file`), e.g. a disk slower
   * than any real one, told how to read the recording's backlog; it must end `file` when it is ended.
   */
  sink?: (file: Writable, backlog: () => number) => Writable;
}

/** Compressed text waits in memory up to this much before it is handed to the file. */
const WRITE_BUFFER = 64 * 1024;

/**
 * Events are handed to the compressor together, once this much text has gathered (or at the next flush): one
 * hand-over (a trip to the thread that compresses) per few dozen KiB rather than one per chunk of output.
 */
const GATHER_BYTES = 64 * 1024;

/**
 * How many bytes at the end of `data` begin a UTF-8 character that the next chunk completes (0–3); they wait for
 * it, as a StringDecoder's would. A lead byte whose sequence is already whole, or none within 3 bytes, is 0.
 */
function incompleteTail(data: Buffer): number {
  for (let i = 1; i <= 3 && i <= data.length; i++) {
    const b = data[data.length - i] as number;
    if ((b & 0xc0) === 0x80) continue;
    if (b < 0xc0) return 0;
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
    return need > i ? i : 0;
  }
  return 0;
}

/**
 * `data`, whole UTF-8 characters, as the JSON string of an asciicast event, in bytes held one per character (a
 * latin1 string): valid UTF-8 is escaped as it is, without decoding it (JSON escapes only controls, `"` and `\`,
 * all ASCII, so its bytes pass through unchanged); anything else is decoded first, each byte that is not UTF-8
 * becoming U+FFFD. The same bytes as `JSON.stringify(data.toString())` encoded as UTF-8, for less work.
 */
function jsonBytes(data: Buffer): string {
  if (isUtf8(data)) return JSON.stringify(data.toString("latin1"));
  return Buffer.from(JSON.stringify(data.toString("utf8"))).toString("latin1");
}

/** `text` as bytes held one per character (see jsonBytes). */
const asBytes = (text: string): string => Buffer.from(text).toString("latin1");

/**
 * Opens `file` (creating its folder; mode 0600; never overwriting) and writes the asciicast header. The file
 * is one gzip stream; each flush ends at a byte boundary a reader can inflate up to, so a recording cut short
 * by a crash is read up to its last flush.
 */
export function openRecording(
  file: string,
  header: { width: number; height: number; title: string; env: Record<string, string>; command?: string },
  {
    now = Date.now,
    limitBytes = Number.POSITIVE_INFINITY,
    limitName = "the recording's cap",
    onTruncated = () => {},
    onError = () => {},
    flushMs = 1000,
    sink,
  }: RecordingOptions = {},
): Recorder {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const fd = openSync(file, "wx", 0o600);
  const out = createWriteStream("", { fd, highWaterMark: WRITE_BUFFER });
  const gzip = createGzip({ level: constants.Z_BEST_SPEED });
  const started = now();
  // The start of a character split across chunks, per direction, until its next chunk.
  const carry: { o: Buffer | null; i: Buffer | null } = { o: null, i: null };
  let failed: Error | null = null;
  let closed = false;
  let truncatedAt: string | null = null;
  let plainBytes = 0;
  let storedBytes = 0;
  let dirty = false;

  const fail = (err: Error) => {
    if (failed) return;
    failed = err;
    gathered = [];
    gatheredBytes = 0;
    gzip.destroy();
    out.destroy();
    onError(err);
  };
  gzip.on("data", (chunk: Buffer) => {
    storedBytes += chunk.length;
  });
  gzip.on("error", fail);
  out.on("error", fail);
  // Lines gathered for the compressor, not yet handed to it, one character per byte (see jsonBytes).
  let gathered: string[] = [];
  let gatheredBytes = 0;
  const backlog = () => gatheredBytes + gzip.writableLength;
  const handOver = () => {
    if (!gathered.length) return;
    const text = gathered.length === 1 ? (gathered[0] as string) : gathered.join("");
    gathered = [];
    gatheredBytes = 0;
    gzip.write(Buffer.from(text, "latin1"));
  };
  gzip.pipe(sink ? sink(out, backlog) : out);

  /** Adds one line, given as bytes one per character (see jsonBytes): its length is its size in the file. */
  const push = (line: string) => {
    const text = `${line}\n`;
    plainBytes += text.length;
    dirty = true;
    gathered.push(text);
    gatheredBytes += text.length;
    if (gatheredBytes >= GATHER_BYTES) handOver();
  };
  const elapsed = () => ((now() - started) / 1000).toFixed(6);
  /** Past the cap the notice is the last event; the session itself goes on. */
  const withinCap = (): boolean => {
    if (truncatedAt) return false;
    // Text still queued for the compressor counts as stored: the cap holds however fast output comes.
    if (storedBytes + backlog() < limitBytes) return true;
    const at = new Date(now());
    truncatedAt = at.toISOString();
    push(
      asBytes(
        `[${elapsed()},"o",${JSON.stringify(
          `\r\n[azusa: recording truncated at ${truncatedAt}: ${limitName} was reached; the session went on unrecorded]\r\n`,
        )}]`,
      ),
    );
    onTruncated(at, storedBytes);
    return false;
  };
  const event = (kind: "o" | "i", data: Buffer) => {
    if (closed || failed || !withinCap()) return;
    // A multi-byte character split across chunks is recorded whole, with the chunk that ends it.
    const held = carry[kind];
    const whole = held ? Buffer.concat([held, data]) : data;
    const tail = incompleteTail(whole);
    carry[kind] = tail ? Buffer.from(whole.subarray(whole.length - tail)) : null;
    if (whole.length > tail) push(`[${elapsed()},"${kind}",${jsonBytes(whole.subarray(0, whole.length - tail))}]`);
  };

  push(
    asBytes(
      JSON.stringify({
        version: 2,
        width: header.width,
        height: header.height,
        timestamp: Math.floor(started / 1000),
        title: header.title,
        ...(header.command !== undefined ? { command: header.command } : {}),
        env: header.env,
      }),
    ),
  );
  const flush = () => {
    if (!dirty || closed || failed) return;
    dirty = false;
    handOver();
    gzip.flush(constants.Z_SYNC_FLUSH);
  };
  flush();
  const timer = setInterval(flush, flushMs);
  timer.unref();

  return {
    output: (data) => event("o", data),
    input: (data) => event("i", data),
    resize(cols, rows) {
      if (!closed && !failed && withinCap()) push(`[${elapsed()},"r","${cols}x${rows}"]`);
    },
    backlog: () => (closed || failed ? 0 : backlog()),
    drained() {
      if (closed || failed || gzip.writableLength === 0) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const done = () => {
          gzip.off("drain", done);
          gzip.off("close", done);
          resolve();
        };
        gzip.on("drain", done);
        gzip.on("close", done);
      });
    },
    close() {
      if (closed) return Promise.reject(new Error("the recording is already closed"));
      // The start of a character its session never finished is kept too, as U+FFFD.
      for (const kind of ["o", "i"] as const) {
        const held = carry[kind];
        carry[kind] = null;
        if (held && !failed && withinCap()) push(`[${elapsed()},"${kind}",${jsonBytes(held)}]`);
      }
      closed = true;
      clearInterval(timer);
      return new Promise<RecordingTotals>((resolve, reject) => {
        const finish = () => (failed ? reject(failed) : resolve({ plainBytes, storedBytes, truncatedAt }));
        if (failed) {
          gzip.destroy();
          out.destroy();
          finish();
          return;
        }
        out.once("close", finish);
        handOver();
        gzip.end();
      });
    },
  };
}
