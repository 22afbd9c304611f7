import { describe, expect, it } from "vitest";
import { computePlan, findCycle, type PlanNode } from "./plan.ts";

const node = (id: string, hours: number, dependsOn: string[] = []): PlanNode => ({ id, label: id, hours, dependsOn });

describe("computePlan", () => {
  // design(16) → api(40) → release(8); design → ui(24) → release; docs(4) alone.
  const nodes = [
    node("design", 16),
    node("api", 40, ["design"]),
    node("ui", 24, ["design"]),
    node("release", 8, ["api", "ui"]),
    node("docs", 4),
  ];

  it("starts each package when its dependencies have finished", () => {
    const plan = computePlan(nodes);
    expect(plan.schedule.get("api")).toMatchObject({ earliestStartHours: 16, earliestFinishHours: 56 });
    expect(plan.schedule.get("release")).toMatchObject({ earliestStartHours: 56, earliestFinishHours: 64 });
    expect(plan.totalHours).toBe(64);
  });

  it("finds the critical path and the slack of the rest", () => {
    const plan = computePlan(nodes);
    expect(plan.criticalPath).toEqual(["design", "api", "release"]);
    expect(plan.schedule.get("ui")).toMatchObject({ slackHours: 16, critical: false });
    expect(plan.schedule.get("docs")).toMatchObject({ slackHours: 60, critical: false });
  });

  it("plans an empty contract as zero hours", () => {
    expect(computePlan([])).toMatchObject({ totalHours: 0, criticalPath: [] });
  });

  it("handles 5,000 packages in a chain-and-fan shape", () => {
    const many = Array.from({ length: 5000 }, (_, i) => node(`p${i}`, (i % 7) + 1, i ? [`p${Math.floor(i / 2)}`] : []));
    const plan = computePlan(many);
    expect(plan.criticalPath[0]).toBe("p0");
    expect(plan.schedule.size).toBe(5000);
  });
});

describe("findCycle", () => {
  it("names the packages around a cycle", () => {
    const cycle = findCycle([
      node("1.1", 8, ["1.3"]),
      node("1.2", 8, ["1.1"]),
      node("1.3", 8, ["1.2"]),
      node("2", 1, ["1.3"]),
    ]);
    expect(cycle).toEqual(["1.1", "1.3", "1.2", "1.1"]);
  });

  it("names a package that depends on itself", () => {
    expect(findCycle([node("a", 1, ["a"])])).toEqual(["a", "a"]);
  });

  it("finds none in a DAG", () => {
    expect(findCycle([node("a", 1), node("b", 1, ["a"]), node("c", 1, ["a", "b"])])).toBeNull();
  });
});
