// A session's recording as asciicast v2 (playable with `asciinema play`/`cat`), written while it runs;
// a write that fails throws, and the bridge ends the session (fail closed).
import { closeSync, mkdirSync, openSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { StringDecoder } from "node:string_decoder";

/** Writes one .cast file; events are buffered up to 64 KiB and written synchronously. */
export interface Recorder {
  output(data: Buffer): void;
  input(data: Buffer): void;
  resize(cols: number, rows: number): void;
  /** Writes what is buffered and closes the file. */
  close(): void;
}

/** Opens `file` (creating its folder, mode 0600) and writes the asciicast header. */
export function openRecording(
  file: string,
  header: { width: number; height: number; title: string; env: Record<string, string> },
  now: () => number = Date.now,
): Recorder {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const fd = openSync(file, "wx", 0o600);
  const started = now();
  const decoders = { o: new StringDecoder("utf8"), i: new StringDecoder("utf8") };
  let pending = "";
  let closed = false;
  const flush = () => {
    if (!pending) return;
    const text = pending;
    pending = "";
    writeSync(fd, text);
  };
  const push = (line: string) => {
    pending += `${line}\n`;
    if (pending.length >= 64 * 1024) flush();
  };
  const elapsed = () => ((now() - started) / 1000).toFixed(6);
  const event = (kind: "o" | "i", data: Buffer) => {
    if (closed) return;
    // A multi-byte character split across chunks is decoded whole; bytes that are not UTF-8 become U+FFFD.
    const text = decoders[kind].write(data);
    if (text) push(`[${elapsed()},"${kind}",${JSON.stringify(text)}]`);
  };
  push(
    JSON.stringify({
      version: 2,
      width: header.width,
      height: header.height,
      timestamp: Math.floor(started / 1000),
      title: header.title,
      env: header.env,
    }),
  );
  flush();
  return {
    output: (data) => event("o", data),
    input: (data) => event("i", data),
    resize(cols, rows) {
      if (!closed) push(`[${elapsed()},"r","${cols}x${rows}"]`);
    },
    close() {
      if (closed) return;
      closed = true;
      try {
        flush();
      } finally {
        closeSync(fd);
      }
    },
  };
}
