import { describe, expect, it } from "vitest";
import { GATHER_BYTES, gatheringOutput } from "./output-gathering.ts";

const piece = (n: number, fill: number) => Buffer.alloc(n, fill);

describe("gathering a command's output", () => {
  it("passes a piece that comes after a pause on at once, as it is", () => {
    let now = 1000;
    const g = gatheringOutput(() => now);
    const first = piece(100, 1);
    g.write(first);
    expect(g.read()).toBe(first);
    now += 50;
    const second = piece(10, 2);
    g.write(second);
    expect(g.read()).toBe(second);
  });

  it("gathers pieces that come back to back into writes of 32 KiB, and hands on every byte in order at the end", async () => {
    const now = 1000;
    const g = gatheringOutput(() => now);
    const out: Buffer[] = [];
    g.on("data", (d: Buffer) => out.push(d));
    const sent = Array.from({ length: 10 }, (_, i) => piece(5 * 1024, i));
    for (const p of sent) g.write(p);
    g.end();
    await new Promise((resolve) => g.once("end", resolve));
    // The first piece alone (nothing came just before it), then the next seven once they pass 32 KiB, then the rest.
    expect(out.map((d) => d.length)).toEqual([5 * 1024, 35 * 1024, 10 * 1024]);
    expect(out[1]?.length).toBeGreaterThanOrEqual(GATHER_BYTES);
    expect(Buffer.concat(out).equals(Buffer.concat(sent))).toBe(true);
  });

  it("hands on what it gathered when no more comes, without waiting for the end", async () => {
    const now = 1000;
    const g = gatheringOutput(() => now);
    const out: Buffer[] = [];
    g.on("data", (d: Buffer) => out.push(d));
    g.write(piece(10, 1));
    g.write(piece(20, 2));
    await new Promise<void>((resolve) => g.once("data", () => resolve()));
    expect(out.map((d) => d.length)).toEqual([10, 20]);
    expect(g.writableEnded).toBe(false);
    g.destroy();
  });
});
