import { describe, expect, it } from "vitest";
import { PrincipalCache } from "./principal-cache.ts";

describe("PrincipalCache", () => {
  let clock = 0;
  const cache = () => new PrincipalCache<string>(1000, 2, () => clock);

  it("remembers a principal until its TTL or the credential's own expiry", () => {
    clock = 0;
    const c = cache();
    c.set("cookie-a", "u1", "alice");
    c.set("cookie-b", "u2", "bob", 500);
    clock = 499;
    expect([c.get("cookie-a"), c.get("cookie-b")]).toEqual(["alice", "bob"]);
    clock = 500;
    expect([c.get("cookie-a"), c.get("cookie-b")]).toEqual(["alice", undefined]);
    clock = 1000;
    expect(c.get("cookie-a")).toBeUndefined();
  });

  it("forgets every credential of a user at once", () => {
    clock = 0;
    const c = cache();
    c.set("cookie-a", "u1", "alice");
    c.set("key-a", "u1", "alice");
    c.forgetUser("u1");
    expect([c.get("cookie-a"), c.get("key-a")]).toEqual([undefined, undefined]);
  });

  it("does not store what a lookup found when something was forgotten while it ran", () => {
    clock = 0;
    const c = cache();
    const before = c.generation;
    c.forgetUser("u1"); // a revocation lands while the lookup reads the session
    c.set("cookie-a", "u1", "alice", undefined, before);
    expect(c.get("cookie-a")).toBeUndefined();
    const now = c.generation;
    c.set("cookie-a", "u1", "alice", undefined, now);
    expect(c.get("cookie-a")).toBe("alice");
    c.forgetCredential("cookie-b");
    c.set("cookie-c", "u3", "carol", undefined, now);
    expect(c.get("cookie-c")).toBeUndefined();
  });

  it("stays within its size by dropping the oldest entry", () => {
    clock = 0;
    const c = cache();
    c.set("a", "u1", "1");
    c.set("b", "u2", "2");
    c.set("c", "u3", "3");
    expect([c.get("a"), c.get("b"), c.get("c")]).toEqual([undefined, "2", "3"]);
  });

  it("remembers nothing with a TTL of zero", () => {
    const c = new PrincipalCache<string>(0);
    c.set("a", "u1", "1");
    expect(c.get("a")).toBeUndefined();
  });
});
