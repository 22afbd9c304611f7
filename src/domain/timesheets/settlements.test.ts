import { expect, it } from "vitest";
import { settleBand } from "./settlements.service.ts";

const band = { monthlyFeeYen: 800_000, minHours: 140, maxHours: 180, overRateYen: 5_000, underRateYen: 6_000 };

it("pays the monthly fee inside the band, including at its edges", () => {
  expect(settleBand(140, band)).toEqual({ basis: "within", amountYen: 800_000 });
  expect(settleBand(180, band)).toEqual({ basis: "within", amountYen: 800_000 });
});

it("deducts below the band and adds above it, by the hour", () => {
  expect(settleBand(139.75, band)).toEqual({ basis: "under", amountYen: 798_500 });
  expect(settleBand(181.5, band)).toEqual({ basis: "over", amountYen: 807_500 });
});

it("deducts no further than the fee: a nearly empty month pays nothing, never less", () => {
  expect(settleBand(3, band)).toEqual({ basis: "under", amountYen: 0 });
  expect(settleBand(0, { ...band, underRateYen: 1_000 })).toEqual({ basis: "under", amountYen: 660_000 });
});
