// The lock a package's object store is filled under: one per package and engine, since each engine keeps its own.
import { describe, expect, it } from "vitest";
import { defaultHostId } from "../workspace-hosts/workspace-hosts.service.ts";
import { storeLock } from "./pulls.service.ts";

describe("the lock of a package's object store", () => {
  it("is one per package and engine: two engines filling one package's store do not wait for each other", () => {
    expect(storeLock("pkg-1", "host-a")).not.toBe(storeLock("pkg-1", "host-b"));
    expect(storeLock("pkg-1", "host-a")).not.toBe(storeLock("pkg-2", "host-a"));
    expect(storeLock("pkg-1", "host-a")).toBe(storeLock("pkg-1", "host-a"));
  });

  it("takes a workspace with no host recorded to be on the default host, as the host router does", () => {
    expect(storeLock("pkg-1", null)).toBe(storeLock("pkg-1", defaultHostId));
    expect(storeLock("pkg-1", null)).not.toBe(storeLock("pkg-1", "host-a"));
  });
});
