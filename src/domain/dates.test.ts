import { expect, it } from "vitest";
import { tokyoDate } from "./dates.ts";

it("gives the Tokyo calendar day, which starts nine hours before UTC's", () => {
  expect(tokyoDate(new Date("2027-11-30T14:59:59Z"))).toBe("2027-11-30");
  expect(tokyoDate(new Date("2027-11-30T15:00:00Z"))).toBe("2027-12-01");
});
