import { expect, it } from "vitest";
import { roundMinutes, splitByTokyoDay, toInstant, weekOf } from "./time.ts";

it("reads a wall time in the engineer's zone and keeps an explicit offset as given", () => {
  expect(toInstant("2026-11-22T23:00", "Asia/Tokyo", "start").toISOString()).toBe("2026-11-22T14:00:00.000Z");
  expect(toInstant("2026-07-01T09:00", "Europe/Berlin", "start").toISOString()).toBe("2026-07-01T07:00:00.000Z");
  expect(toInstant("2026-01-01T09:00", "Europe/Berlin", "start").toISOString()).toBe("2026-01-01T08:00:00.000Z");
  expect(toInstant("2026-11-22T23:00+09:00", "UTC", "start").toISOString()).toBe("2026-11-22T14:00:00.000Z");
});

it("refuses a wall time the zone skips and takes the earlier of a repeated one", () => {
  expect(() => toInstant("2026-03-29T02:30", "Europe/Berlin", "start")).toThrow(/does not exist/);
  expect(toInstant("2026-10-25T02:30", "Europe/Berlin", "end").toISOString()).toBe("2026-10-25T00:30:00.000Z");
  expect(() => toInstant("2026-02-30T10:00", "Asia/Tokyo", "start")).toThrow(/not a valid date/);
});

it("cuts an entry across Sunday midnight in Tokyo into two days of two weeks", () => {
  const start = Date.parse("2026-11-22T23:30:00+09:00"); // Sunday
  const end = Date.parse("2026-11-23T01:00:00+09:00"); // Monday
  expect(splitByTokyoDay(start, end).map((p) => [p.day, p.week, p.minutes])).toEqual([
    ["2026-11-22", "2026-11-16", 30],
    ["2026-11-23", "2026-11-23", 60],
  ]);
  expect(weekOf("2026-11-22")).toBe("2026-11-16");
  expect(weekOf("2026-11-23")).toBe("2026-11-23");
});

it("rounds by the contract's rule", () => {
  expect(roundMinutes(52, "none")).toBe(52);
  expect(roundMinutes(52, "15min-nearest")).toBe(45);
  expect(roundMinutes(53, "15min-nearest")).toBe(60);
  expect(roundMinutes(46, "15min-up")).toBe(60);
  expect(roundMinutes(45, "15min-up")).toBe(45);
  expect(roundMinutes(59, "30min-down")).toBe(30);
});

it("refuses dates and times that do not exist instead of rolling them over", () => {
  for (const given of [
    "2026-13-01T10:00",
    "2026-02-30T10:00+09:00",
    "2026-02-31T10:00Z",
    "2026-11-22T10:60",
    "2026-11-22T10:59:60",
    "2026-11-22T24:00+09:00",
    "2026-11-22T10:00+24:00",
  ]) {
    expect(() => toInstant(given, "Asia/Tokyo", "start"), given).toThrow(/start/);
  }
  expect(toInstant("2028-02-29T10:00+09:00", "UTC", "start").toISOString()).toBe("2028-02-29T01:00:00.000Z");
});
