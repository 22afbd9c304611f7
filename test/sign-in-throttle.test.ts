// Sign-in attempts are limited per client address. A file of its own: better-auth keeps its in-memory
// counters per process, so attempts made by other test files' servers would count here too.
import { describe, expect, it } from "vitest";
import { startTestAzusa } from "./support/harness.ts";

describe("sign-in throttling", () => {
  it("answers 429 once an address has used up its attempts", async () => {
    const t = await startTestAzusa({ env: { AZUSA_SIGNIN_LIMIT: "3" } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) {
        statuses.push(
          (
            await t
              .anonymous()
              .post("/api/auth/sign-in/email", { email: "root@office.example", password: "nope-nope-nope" })
          ).status,
        );
      }
      expect(statuses).toEqual([401, 401, 401, 429, 429]);
      const res = await t.anonymous().post("/api/auth/sign-in/email", { email: "root@office.example", password: "x" });
      expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
      expect(await res.json()).toMatchObject({ error: { code: "RATE_LIMITED", requestId: expect.any(String) } });
    } finally {
      await t.stop();
    }
  });
});
