import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, type Readable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { holdWhileBehind, openRecording } from "./recorder.ts";
import { readRecording } from "./recording-file.ts";

const dir = mkdtempSync(join(tmpdir(), "azusa-recorder-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function text(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
const lines = async (file: string) =>
  (await text((await readRecording(file)).stream))
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));

/** Polls `check` until it holds, failing after `ms`. */
async function until(what: string, check: () => Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("recording a session", () => {
  it("writes a compressed asciicast v2 file: header and timed events, a character split across chunks kept whole", async () => {
    let now = 1_700_000_000_000;
    const file = join(dir, "tenant", "s.cast.gz");
    const rec = openRecording(
      file,
      { width: 100, height: 30, title: "exec git-upload-pack", command: "git-upload-pack '/x'", env: { TERM: "" } },
      { now: () => now },
    );
    now += 1500;
    const kanji = Buffer.from("松本\n");
    rec.output(kanji.subarray(0, 4));
    rec.output(kanji.subarray(4));
    rec.input(Buffer.from("ls\r"));
    rec.resize(120, 40);
    const totals = await rec.close();
    const read = await lines(file);
    expect(read[0]).toEqual({
      version: 2,
      width: 100,
      height: 30,
      timestamp: 1_700_000_000,
      title: "exec git-upload-pack",
      command: "git-upload-pack '/x'",
      env: { TERM: "" },
    });
    expect(read.slice(1)).toEqual([
      [1.5, "o", "松"],
      [1.5, "o", "本\n"],
      [1.5, "i", "ls\r"],
      [1.5, "r", "120x40"],
    ]);
    expect(totals.storedBytes).toBe(statSync(file).size);
    expect(totals.truncatedAt).toBeNull();
  });

  it("records any byte stream, however it is cut, as its UTF-8 decoding: bytes that are not UTF-8 as U+FFFD, a character left unfinished at the end too", async () => {
    const file = join(dir, "tenant", "mixed.cast.gz");
    const rec = openRecording(file, { width: 80, height: 24, title: "mixed", env: {} });
    const pieces = [
      Buffer.from('plain "quoted" \\ back\r\n\t\u0000\u001b[1m\u007f'),
      Buffer.from("松本・日本語 😀 ü"),
      Buffer.from([0xff, 0xfe, 0x80, 0xc3, 0x28, 0xe3, 0x81, 0x41, 0xf0, 0x9f, 0x98]),
      randomBytes(64 * 1024),
      Buffer.from("after\n"),
      Buffer.from([0xe6, 0x9d]),
    ];
    const bytes = Buffer.concat(pieces);
    // Cut at every kind of place: inside characters, between them, one byte at a time near the start.
    const cuts = [1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 1000, 4096, 30_000];
    let at = 0;
    for (let i = 0; at < bytes.length; i++) {
      const n = cuts[i % cuts.length] as number;
      rec.output(bytes.subarray(at, at + n));
      rec.input(bytes.subarray(at, at + n));
      at += n;
    }
    await rec.close();
    const events = (await lines(file)).slice(1) as [number, string, string][];
    const decoded = (kind: string) =>
      events
        .filter(([, k]) => k === kind)
        .map(([, , data]) => data)
        .join("");
    const expected = bytes.toString("utf8");
    expect(decoded("o")).toBe(expected);
    expect(decoded("i")).toBe(expected);
    expect(expected.endsWith("after\n\ufffd")).toBe(true);
  });

  it("holds the stream it records while it is behind, so memory stays bounded and nothing is lost", async () => {
    const file = join(dir, "tenant", "fast.cast.gz");
    const rec = openRecording(file, { width: 80, height: 24, title: "cat", env: {} });
    const limit = 1024 * 1024;
    const chunk = 64 * 1024;
    const source = new PassThrough({ highWaterMark: chunk });
    let most = 0;
    let held = 0;
    let recorded = 0;
    source.on("data", (data: Buffer) => {
      rec.output(data);
      recorded += data.length;
      most = Math.max(most, rec.backlog());
      holdWhileBehind(rec, source, limit);
      if (source.isPaused()) held++;
    });
    // A client sending 64 MiB as fast as the stream takes it: far faster than gzip compresses.
    const total = 64 * 1024 * 1024;
    for (let sent = 0; sent < total; sent += chunk) {
      if (!source.write(randomBytes(chunk / 2).toString("hex"))) {
        await new Promise((resolve) => source.once("drain", resolve));
      }
    }
    source.end();
    await new Promise((resolve) => source.once("end", resolve));
    await rec.close();
    expect(held).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(limit + 2 * chunk);
    expect(recorded).toBe(total);
    const events = (await lines(file)).slice(1) as [number, string, string][];
    expect(events.reduce((n, [, , data]) => n + data.length, 0)).toBe(total);
  }, 60_000);

  it("refuses to overwrite an existing recording", async () => {
    const file = join(dir, "t", "x.cast.gz");
    await openRecording(file, { width: 80, height: 24, title: "", env: {} }).close();
    expect(() => openRecording(file, { width: 80, height: 24, title: "", env: {} })).toThrow(/EEXIST/);
  });

  it("has what was recorded on disk within a second, while the session still runs", async () => {
    const file = join(dir, "live.cast.gz");
    const rec = openRecording(file, { width: 80, height: 24, title: "shell", env: {} });
    rec.output(Buffer.from("line 1 of 168\r\n"));
    rec.output(Buffer.from("line 168 of 168\r\n"));
    // Nothing closes the recording: what is on disk is what a kill -9 now would leave.
    await until("the events on disk", async () => (await lines(file)).length === 3, 3000);
    expect((await lines(file)).slice(1).map((e) => e[2])).toEqual(["line 1 of 168\r\n", "line 168 of 168\r\n"]);
    await rec.close();
  });

  it("stores NUL-heavy and random output in at most 1.5 times its size", async () => {
    for (const [name, data] of [
      ["nul", Buffer.alloc(4 * 1024 * 1024)],
      ["random", randomBytes(4 * 1024 * 1024)],
      ["controls", Buffer.from(Array.from({ length: 4 * 1024 * 1024 }, (_, i) => i % 32))],
    ] as const) {
      const file = join(dir, `${name}.cast.gz`);
      const rec = openRecording(file, { width: 80, height: 24, title: name, env: {} });
      for (let i = 0; i < data.length; i += 32 * 1024) rec.output(data.subarray(i, i + 32 * 1024));
      const totals = await rec.close();
      expect(statSync(file).size, name).toBeLessThan(1.5 * data.length);
      expect(totals.plainBytes, name).toBeGreaterThan(data.length);
    }
  });

  it("past its cap says it was truncated and from when, records nothing more, and still plays in asciinema", async () => {
    let now = Date.parse("2026-12-01T03:00:00.000Z");
    const file = join(dir, "capped.cast.gz");
    const truncations: [Date, number][] = [];
    const rec = openRecording(
      file,
      { width: 80, height: 24, title: "shell", env: {} },
      {
        now: () => now,
        limitBytes: 64 * 1024,
        limitName: "the per-session cap of 64 KiB",
        onTruncated: (at, bytes) => truncations.push([at, bytes]),
      },
    );
    let chunks = 0;
    while (truncations.length === 0) {
      now += 10;
      rec.output(Buffer.from(`${randomBytes(16 * 1024).toString("base64")}\r\n`));
      chunks++;
      // The compressed size is counted as the compressor hands it on.
      await new Promise((resolve) => setImmediate(resolve));
      expect(chunks).toBeLessThan(1000);
    }
    rec.output(Buffer.from("after-the-cap\r\n"));
    const totals = await rec.close();
    expect(totals.truncatedAt).toBe(truncations[0]?.[0].toISOString());
    const events = await lines(file);
    const last = events.at(-1);
    expect(last?.[2]).toContain(
      `recording truncated at ${totals.truncatedAt}: the per-session cap of 64 KiB was reached`,
    );
    expect(JSON.stringify(events)).not.toContain("after-the-cap");
    expect(statSync(file).size).toBeLessThan(64 * 1024 + 32 * 1024);

    const plain = join(dir, "capped.cast");
    execFileSync("sh", ["-c", `gzip -dc ${file} > ${plain}`]);
    // asciinema opens /dev/tty even for `cat`: give it a terminal.
    const played = execFileSync("script", ["-qec", `asciinema cat ${plain}`, "/dev/null"]).toString();
    expect(played).toContain("recording truncated at");
  });

  it("reports a full disk, and its close says so", async () => {
    if (process.getuid?.() !== 0) throw new Error("this test mounts a 1 MiB tmpfs and must run as root");
    const small = join(dir, "small-disk");
    mkdirSync(small);
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", small]);
    try {
      const errors: Error[] = [];
      const rec = openRecording(
        join(small, "full.cast.gz"),
        { width: 80, height: 24, title: "shell", env: {} },
        { onError: (err) => errors.push(err) },
      );
      for (let i = 0; i < 200 && errors.length === 0; i++) {
        rec.output(randomBytes(16 * 1024));
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      await until("the write to fail", async () => errors.length > 0);
      expect(errors[0]).toMatchObject({ code: "ENOSPC" });
      await expect(rec.close()).rejects.toMatchObject({ code: "ENOSPC" });
    } finally {
      execFileSync("umount", [small]);
    }
  });
});
