// The exec stream plumbing without an engine: frame parsing across chunk borders, and backpressure.
import { PassThrough, Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createDemuxer, demuxBuffer } from "./docker-stream.ts";

function frame(type: number, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = type;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = "";
  for await (const chunk of stream) text += chunk.toString();
  return text;
}

describe("createDemuxer", () => {
  it("splits frames into stdout and stderr even when headers and payloads are cut anywhere", async () => {
    const bytes = Buffer.concat([frame(1, "hello "), frame(2, "oops"), frame(1, "world"), frame(2, "!")]);
    for (const size of [1, 3, 7, 8, 9, bytes.length]) {
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      const demux = createDemuxer(stdout, stderr);
      const out = readAll(stdout);
      const err = readAll(stderr);
      for (let i = 0; i < bytes.length; i += size) demux.write(bytes.subarray(i, i + size));
      demux.end();
      expect([await out, await err]).toEqual(["hello world", "oops!"]);
    }
  });

  it("hands on the frames of one chunk read as one write per stream, in order", async () => {
    const writes: string[] = [];
    const sink = (name: string) =>
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          writes.push(`${name}:${chunk}`);
          done();
        },
      });
    const demux = createDemuxer(sink("out"), sink("err"));
    const finished = new Promise((resolve) => demux.on("finish", resolve));
    demux.write(
      Buffer.concat([frame(1, "a"), frame(1, "b"), frame(1, "c"), frame(2, "x"), frame(2, "y"), frame(1, "d")]),
    );
    // A frame cut by the chunk's end: its first part goes with the chunk, the rest with the next.
    demux.end(Buffer.concat([frame(1, "e"), frame(1, "fg").subarray(0, 9)]));
    await finished;
    expect(writes).toEqual(["out:abc", "err:xy", "out:d", "out:ef"]);
  });

  it("takes no more input while the reader is full, and all of it once the reader drains", async () => {
    const stdout = new PassThrough({ highWaterMark: 16 });
    const demux = createDemuxer(stdout, new PassThrough());
    const bytes = frame(1, "x".repeat(1024 * 1024));
    let refused = false;
    for (let i = 0; i < bytes.length; i += 16 * 1024)
      refused = !demux.write(bytes.subarray(i, i + 16 * 1024)) || refused;
    demux.end();
    await new Promise((resolve) => setImmediate(resolve));
    expect(refused).toBe(true); // a pipe() into the demuxer would now pause its source
    expect(stdout.readableLength + stdout.writableLength).toBeLessThanOrEqual(32 * 1024);
    expect((await readAll(stdout)).length).toBe(1024 * 1024);
  });

  it("discards output for a reader that went away instead of blocking", async () => {
    const stdout = new PassThrough({ highWaterMark: 16 });
    const stderr = new PassThrough();
    const demux = createDemuxer(stdout, stderr);
    stdout.destroy();
    const finished = new Promise((resolve) => demux.on("finish", resolve));
    demux.end(Buffer.concat([frame(1, "y".repeat(100_000)), frame(2, "still here")]));
    expect(await Promise.all([readAll(stderr), finished])).toEqual(["still here", undefined]);
  });
});

describe("demuxBuffer", () => {
  it("splits a whole log buffer", () => {
    expect(demuxBuffer(Buffer.concat([frame(1, "a"), frame(2, "b"), frame(1, "c")]))).toEqual({
      stdout: "ac",
      stderr: "b",
    });
  });
});
