// Sealing stored secrets: what is sealed opens only under the same key and unaltered; older plain values
// open as themselves.
import { describe, expect, it } from "vitest";
import { createSealer, isSealed } from "./sealed.ts";

describe("sealed secrets", () => {
  const sealer = createSealer("a-secret-of-azusa-with-enough-entropy");

  it("seals a value differently each time and opens it again", () => {
    const a = sealer.seal("ghp_token_value");
    const b = sealer.seal("ghp_token_value");
    expect(a).not.toBe(b);
    expect(isSealed(a)).toBe(true);
    expect(a).not.toContain("ghp_token_value");
    expect(sealer.open(a)).toBe("ghp_token_value");
    expect(sealer.open(b)).toBe("ghp_token_value");
  });

  it("opens a value stored before sealing as itself", () => {
    expect(sealer.open("plain-old-secret")).toBe("plain-old-secret");
  });

  it("refuses a value sealed under another secret, or altered", () => {
    const sealed = sealer.seal("webhook-secret");
    expect(() => createSealer("another-secret").open(sealed)).toThrow(/AZUSA_SECRET changed/);
    const last = sealed.at(-2) === "A" ? "B" : "A";
    expect(() => sealer.open(`${sealed.slice(0, -2)}${last}${sealed.at(-1)}`)).toThrow(/cannot be opened/);
  });
});
