// Sealing stored secrets: what is sealed opens only under the same key, in the same place and unaltered;
// older plain values open as themselves.
import { describe, expect, it } from "vitest";
import { createSealer, isSealed, sealContext, tryOpen } from "./sealed.ts";

describe("sealed secrets", () => {
  const sealer = createSealer("a-secret-of-azusa-with-enough-entropy");
  const here = sealContext.webhook("hook-1");

  it("seals a value differently each time and opens it again", () => {
    const a = sealer.seal("ghp_token_value", here);
    const b = sealer.seal("ghp_token_value", here);
    expect(a).not.toBe(b);
    expect(isSealed(a)).toBe(true);
    expect(a).not.toContain("ghp_token_value");
    expect(sealer.open(a, here)).toBe("ghp_token_value");
    expect(sealer.open(b, here)).toBe("ghp_token_value");
  });

  it("opens a value stored before sealing as itself", () => {
    expect(sealer.open("plain-old-secret", here)).toBe("plain-old-secret");
  });

  it("refuses a value sealed under another secret, or altered", () => {
    const sealed = sealer.seal("webhook-secret", here);
    expect(() => createSealer("another-secret").open(sealed, here)).toThrow(/AZUSA_SECRET changed/);
    const last = sealed.at(-2) === "A" ? "B" : "A";
    expect(() => sealer.open(`${sealed.slice(0, -2)}${last}${sealed.at(-1)}`, here)).toThrow(/cannot be opened/);
    expect(tryOpen(createSealer("another-secret"), sealed, here)).toBeUndefined();
  });

  it("opens a value only in the place it was sealed for: copied to another row or column, it does not open", () => {
    const token = sealer.seal("ghp_tokyo", sealContext.githubToken("tokyo"));
    expect(sealer.open(token, sealContext.githubToken("tokyo"))).toBe("ghp_tokyo");
    expect(tryOpen(sealer, token, sealContext.githubToken("osaka"))).toBeUndefined();
    expect(tryOpen(sealer, token, sealContext.githubWebhookSecret("tokyo"))).toBeUndefined();
    const secret = sealer.seal("whsec-1", sealContext.webhook("hook-1"));
    expect(() => sealer.open(secret, sealContext.webhook("hook-2"))).toThrow(/webhook:hook-2\) cannot be opened/);
  });
});
