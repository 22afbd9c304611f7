// An API answer carries figures as people would write them, not the noise of binary floating point.
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { roundFigure, roundNoise } from "./round-noise.ts";

describe("floating-point noise in answers", () => {
  const app = new Hono();
  app.use("*", roundNoise());
  app.get("/score", (c) =>
    c.json({ score: 139.08 - 0 + 0.1 - 0.1, hours: 0.1 + 0.2, whole: 3, note: "1.000000000001" }),
  );
  app.get("/plain", (c) => c.json({ hours: 5.25 }));

  it("rounds a noisy number and leaves integers, strings and clean figures alone", async () => {
    expect(0.1 + 0.2).not.toBe(0.3);
    const res = await app.request("/score");
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toBe('{"score":139.08,"hours":0.3,"whole":3,"note":"1.000000000001"}');
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await (await app.request("/plain")).text()).toBe('{"hours":5.25}');
  });

  it("keeps six decimals", () => {
    expect(roundFigure(139.07999999999998)).toBe(139.08);
    expect(roundFigure(1 / 3)).toBe(0.333333);
    expect(roundFigure(-2.0000000001)).toBe(-2);
  });
});
