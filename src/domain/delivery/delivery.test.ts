import { expect, it } from "vitest";
import { paymentDueOn } from "./delivery.service.ts";

it("falls due on the 60th day counting the day of delivery in Tokyo, whatever longer terms say", () => {
  expect(paymentDueOn(new Date("2026-11-25T03:00:00Z"), null)).toBe("2027-01-23");
  expect(paymentDueOn(new Date("2026-11-25T03:00:00Z"), 90)).toBe("2027-01-23");
  // 16:00 UTC is already the next day in Tokyo.
  expect(paymentDueOn(new Date("2026-11-25T16:00:00Z"), null)).toBe("2027-01-24");
});

it("comes sooner under shorter terms", () => {
  expect(paymentDueOn(new Date("2026-11-25T03:00:00Z"), 30)).toBe("2026-12-24");
  expect(paymentDueOn(new Date("2026-11-25T03:00:00Z"), 1)).toBe("2026-11-25");
});
