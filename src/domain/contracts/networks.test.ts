import { describe, expect, it } from "vitest";
import { inNetworks, parseCidr } from "./networks.ts";

describe("allowed networks", () => {
  it("reads IPv4 and IPv6 blocks and bare addresses, and refuses the rest", () => {
    expect(parseCidr("203.0.113.0/24")).toEqual({ address: "203.0.113.0", prefix: 24, family: "ipv4" });
    expect(parseCidr("2001:db8::/32")).toEqual({ address: "2001:db8::", prefix: 32, family: "ipv6" });
    expect(parseCidr("192.0.2.1")).toEqual({ address: "192.0.2.1", prefix: 32, family: "ipv4" });
    for (const bad of ["10.0.0.0/33", "10.0.0/8", "office", "10.0.0.0/8/1", "10.0.0.0/-1", "::/129"])
      expect(parseCidr(bad)).toBeNull();
  });

  it("allows any address when the list is empty, otherwise only addresses inside a block", () => {
    expect(inNetworks("198.51.100.9", [])).toBe(true);
    expect(inNetworks("203.0.113.77", ["203.0.113.0/24"])).toBe(true);
    expect(inNetworks("203.0.114.1", ["203.0.113.0/24"])).toBe(false);
    expect(inNetworks("::ffff:203.0.113.5", ["203.0.113.0/24"])).toBe(true);
    expect(inNetworks("2001:db8::1", ["2001:db8::/32"])).toBe(true);
    expect(inNetworks("2001:db9::1", ["2001:db8::/32", "203.0.113.0/24"])).toBe(false);
  });
});
