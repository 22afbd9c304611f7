import { expect, it } from "vitest";
import { compareWbs } from "./wbs-order.ts";

it("orders WBS ids naturally: 1.2 < 1.10 < 2.1 < 9.9 < 10.1", () => {
  expect(["10.1", "2.1", "1.10", "9.9", "1.2", "1", "1.2.10", "1.2.9"].sort(compareWbs)).toEqual([
    "1",
    "1.2",
    "1.2.9",
    "1.2.10",
    "1.10",
    "2.1",
    "9.9",
    "10.1",
  ]);
});
