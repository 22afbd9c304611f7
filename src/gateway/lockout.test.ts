import { describe, expect, it } from "vitest";
import { createLockout } from "./lockout.ts";

describe("lockout", () => {
  it("locks a key at the last allowed failure, and only that key, until the lock runs out", () => {
    let now = 0;
    const lockout = createLockout({ maxFailures: 3, windowMs: 60_000, lockMs: 300_000, now: () => now });
    expect(lockout.fail("198.51.100.7")).toEqual([]);
    expect(lockout.fail("198.51.100.7")).toEqual([]);
    expect(lockout.locked("198.51.100.7")).toBe(false);
    expect(lockout.fail("198.51.100.7")).toEqual(["198.51.100.7"]);
    expect(lockout.locked("198.51.100.7")).toBe(true);
    expect(lockout.locked("198.51.100.8")).toBe(false);
    now += 300_001;
    expect(lockout.locked("198.51.100.7")).toBe(false);
  });

  it("forgets failures older than the window", () => {
    let now = 0;
    const lockout = createLockout({ maxFailures: 2, windowMs: 60_000, now: () => now });
    lockout.fail("pkg-a");
    now += 60_001;
    expect(lockout.fail("pkg-a")).toEqual([]);
    expect(lockout.locked("pkg-a")).toBe(false);
  });

  it("tells whether a key failed lately, and forgets its failures after a success", () => {
    let now = 0;
    const lockout = createLockout({ maxFailures: 3, windowMs: 60_000, now: () => now });
    expect(lockout.failedRecently("198.51.100.7")).toBe(false);
    lockout.fail("198.51.100.7");
    lockout.fail("198.51.100.7");
    expect(lockout.failedRecently("198.51.100.7")).toBe(true);
    lockout.clear("198.51.100.7");
    expect(lockout.failedRecently("198.51.100.7")).toBe(false);
    expect(lockout.fail("198.51.100.7")).toEqual([]);
    now += 60_001;
    expect(lockout.failedRecently("198.51.100.7")).toBe(false);
  });
});
