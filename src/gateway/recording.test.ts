import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openRecording } from "./recording.ts";

describe("asciicast recording", () => {
  const dir = mkdtempSync(join(tmpdir(), "azusa-cast-"));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("writes a v2 header and timed events, a character split across chunks kept whole", () => {
    let now = 1_700_000_000_000;
    const file = join(dir, "tenant", "s.cast");
    const rec = openRecording(file, { width: 100, height: 30, title: "shell", env: { TERM: "xterm" } }, () => now);
    now += 1500;
    const kanji = Buffer.from("松本\n");
    rec.output(kanji.subarray(0, 4));
    rec.output(kanji.subarray(4));
    rec.input(Buffer.from("ls\r"));
    rec.resize(120, 40);
    rec.close();
    const lines = readFileSync(file, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines[0]).toEqual({
      version: 2,
      width: 100,
      height: 30,
      timestamp: 1_700_000_000,
      title: "shell",
      env: { TERM: "xterm" },
    });
    expect(lines.slice(1)).toEqual([
      [1.5, "o", "松"],
      [1.5, "o", "本\n"],
      [1.5, "i", "ls\r"],
      [1.5, "r", "120x40"],
    ]);
  });

  it("refuses to overwrite an existing recording", () => {
    const file = join(dir, "t", "x.cast");
    openRecording(file, { width: 80, height: 24, title: "", env: {} }).close();
    expect(() => openRecording(file, { width: 80, height: 24, title: "", env: {} })).toThrow(/EEXIST/);
  });
});
