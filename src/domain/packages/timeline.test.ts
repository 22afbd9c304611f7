import { describe, expect, it } from "vitest";
import type { PackageState } from "./lifecycle.ts";
import { computePlan, type PlanNode, planOf } from "./plan.ts";
import { dayAtHour, plannedBy, timelineOf } from "./timeline.ts";

describe("the plan's calendar", () => {
  it("counts eight hours a working day, Monday to Friday, from the first working day", () => {
    // 2026-04-04 is a Saturday: work starts on Monday the 6th.
    expect(dayAtHour("2026-04-04", 0)).toBe("2026-04-06");
    expect(dayAtHour("2026-04-06", 7.5)).toBe("2026-04-06");
    expect(dayAtHour("2026-04-06", 8)).toBe("2026-04-07");
    // Friday's hours end the week; hour 40 is the next Monday.
    expect(dayAtHour("2026-04-06", 39)).toBe("2026-04-10");
    expect(dayAtHour("2026-04-06", 40)).toBe("2026-04-13");
  });
});

describe("timelineOf", () => {
  // design(16) → api(40) → release(8); design → ui(24) → release.
  const nodes: PlanNode[] = [
    { id: "d", label: "1", hours: 16, dependsOn: [] },
    { id: "a", label: "2", hours: 40, dependsOn: ["d"] },
    { id: "u", label: "3", hours: 24, dependsOn: ["d"] },
    { id: "r", label: "4", hours: 8, dependsOn: ["a", "u"] },
  ];
  const plan = planOf(new Map(nodes.map((n) => [n.id, n])));
  const packages = nodes.map((n) => ({
    id: n.id,
    wbsId: n.label,
    title: `work ${n.label}`,
    parentWbsId: null,
    state: "open" as PackageState,
    estimateHours: n.hours,
    dependsOn: n.dependsOn,
  }));

  it("draws planned bars from the earliest start to the last day of work, with the slack after", () => {
    expect(computePlan(nodes).criticalPath).toEqual(["d", "a", "r"]);
    const bars = timelineOf({ periodStart: "2026-04-06", packages, plan, actuals: [] });
    const bar = (id: string) => bars.find((b) => b.id === id);
    expect(bar("d")).toMatchObject({ start: "2026-04-06", finish: "2026-04-07", basis: "plan", critical: true });
    expect(bar("a")).toMatchObject({ start: "2026-04-08", finish: "2026-04-14", latestFinish: "2026-04-14" });
    // ui has 16 h of slack: two working days after its finish.
    expect(bar("u")).toMatchObject({ start: "2026-04-08", finish: "2026-04-10", critical: false, slackHours: 16 });
    expect(bar("u")?.latestFinish).toBe("2026-04-14");
    expect(bar("r")).toMatchObject({ start: "2026-04-15", finish: "2026-04-15", dependsOn: ["a", "u"] });
  });

  it("draws a started package from its assignment, to its acceptance, or projected by its estimate", () => {
    const bars = timelineOf({
      periodStart: "2026-04-06",
      packages,
      plan,
      actuals: [
        // Taken at 09:30 JST on 2026-04-09, delivered on the 20th, accepted on the 22nd (JST days).
        {
          packageId: "d",
          engineerName: "佐藤",
          startedAt: "2026-04-09T00:30:00.000Z",
          deliveredAt: "2026-04-20T02:00:00.000Z",
          acceptedAt: "2026-04-21T23:00:00.000Z",
        },
        {
          packageId: "a",
          engineerName: "伊藤",
          startedAt: "2026-04-23T01:00:00.000Z",
          deliveredAt: null,
          acceptedAt: null,
        },
      ],
    });
    expect(bars.find((b) => b.id === "d")).toMatchObject({
      engineerName: "佐藤",
      start: "2026-04-09",
      finish: "2026-04-22",
      basis: "actual",
    });
    // 40 h from Thursday the 23rd: Thu, Fri, Mon, Tue, Wed.
    expect(bars.find((b) => b.id === "a")).toMatchObject({
      engineerName: "伊藤",
      start: "2026-04-23",
      finish: "2026-04-29",
      basis: "forecast",
    });
  });

  it("counts what the plan says is finished by a day", () => {
    const estimates = new Map(nodes.map((n) => [n.id, n.hours]));
    expect(plannedBy("2026-04-06", plan, estimates, "2026-04-05")).toEqual({ count: 0, hours: 0 });
    expect(plannedBy("2026-04-06", plan, estimates, "2026-04-10")).toEqual({ count: 2, hours: 40 });
    expect(plannedBy("2026-04-06", plan, estimates, "2026-04-15")).toEqual({ count: 4, hours: 88 });
  });
});
