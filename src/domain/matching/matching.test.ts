import { describe, expect, it } from "vitest";
import { seeded } from "../../../test/support/random.ts";
import {
  capacityFor,
  describeIneligibility,
  ineligibilities,
  type MatchEngineer,
  type MatchPackage,
  requiredVetting,
  scoreOf,
  suggest,
  suggestMany,
  type VettingKind,
  vettingKinds,
} from "./matching.ts";

const PLANNED_END = "2027-06-30";

/** An engineer who qualifies for `pkg()`'s defaults unless told otherwise. */
function engineer(
  id: string,
  overrides: Partial<Omit<MatchEngineer, "skills" | "vettingValidUntil" | "history">> & {
    skills?: Record<string, number>;
    vetting?: Partial<Record<VettingKind, string>>;
    history?: string[];
  } = {},
): MatchEngineer {
  const { skills = { java: 4 }, vetting, history = [], ...rest } = overrides;
  const allValid = Object.fromEntries(vettingKinds.map((k) => [k, "2030-12-31"]));
  return {
    id,
    name: id,
    weeklyCapacityHours: 40,
    committedWeeklyHours: 0,
    ...rest,
    skills: new Map(Object.entries(skills)),
    vettingValidUntil: new Map(Object.entries(vetting ?? allValid)) as Map<VettingKind, string>,
    history: new Set(history),
  };
}

/** A confidential package needing java 4 for 20 h a week until PLANNED_END, with no upstream. */
function pkg(
  overrides: Partial<Omit<MatchPackage, "upstream" | "upstreamLabels">> & {
    upstream?: string[];
    labels?: Record<string, string>;
  } = {},
): MatchPackage {
  const { upstream = [], labels, ...rest } = overrides;
  return {
    id: "pkg",
    requiredSkills: [{ skill: "java", level: 4 }],
    requiredVetting: requiredVetting("confidential"),
    plannedEnd: PLANNED_END,
    weeklyHours: 20,
    ...rest,
    upstream: new Set(upstream),
    ...(labels ? { upstreamLabels: new Map(Object.entries(labels)) } : {}),
  };
}

const allBut = (kind: VettingKind, value?: string) => {
  const vetting: Partial<Record<VettingKind, string>> = Object.fromEntries(vettingKinds.map((k) => [k, "2030-12-31"]));
  if (value === undefined) delete vetting[kind];
  else vetting[kind] = value;
  return vetting;
};

describe("requiredVetting", () => {
  it("asks an internal contract for an NDA only", () => {
    expect(requiredVetting("internal")).toEqual(["nda"]);
  });

  it("adds a background check and security training for a confidential contract", () => {
    expect(requiredVetting("confidential")).toEqual(["nda", "background_check", "security_training"]);
  });

  it("adds the restricted clearance for a restricted contract", () => {
    expect(requiredVetting("restricted")).toEqual([
      "nda",
      "background_check",
      "security_training",
      "restricted_clearance",
    ]);
  });

  it("hands out a fresh list each time, so that a caller cannot change the rule", () => {
    requiredVetting("internal").push("restricted_clearance");
    expect(requiredVetting("internal")).toEqual(["nda"]);
  });
});

describe("ineligibilities", () => {
  it("is empty for an engineer who meets every rule", () => {
    expect(ineligibilities(engineer("aiko"), pkg())).toEqual([]);
  });

  describe("skills", () => {
    it("refuses a skill below the required level, with both levels", () => {
      const why = ineligibilities(engineer("aiko", { skills: { java: 2 } }), pkg());
      expect(why).toEqual([{ rule: "skill", skill: "java", required: 4, has: 2 }]);
      expect(describeIneligibility(why[0] as never)).toBe("java level 2, needs 4");
    });

    it("refuses a missing skill", () => {
      const why = ineligibilities(
        engineer("aiko", { skills: { java: 5 } }),
        pkg({ requiredSkills: [{ skill: "cobol", level: 3 }] }),
      );
      expect(why).toEqual([{ rule: "skill", skill: "cobol", required: 3, has: null }]);
      expect(describeIneligibility(why[0] as never)).toBe("no cobol skill, needs level 3");
    });

    it("accepts a skill exactly at the required level", () => {
      expect(ineligibilities(engineer("aiko", { skills: { java: 4 } }), pkg())).toEqual([]);
    });

    it("names every required skill that falls short", () => {
      const p = pkg({
        requiredSkills: [
          { skill: "java", level: 4 },
          { skill: "sql", level: 3 },
          { skill: "spring", level: 2 },
        ],
      });
      const why = ineligibilities(engineer("aiko", { skills: { java: 4, sql: 1 } }), p);
      expect(why.map(describeIneligibility)).toEqual(["sql level 1, needs 3", "no spring skill, needs level 2"]);
    });

    it("needs no skill at all for a package that requires none", () => {
      expect(ineligibilities(engineer("aiko", { skills: {} }), pkg({ requiredSkills: [] }))).toEqual([]);
    });
  });

  describe("vetting", () => {
    const restricted = (overrides: Parameters<typeof engineer>[1]) =>
      ineligibilities(engineer("aiko", overrides), pkg({ requiredVetting: requiredVetting("restricted") }));
    // Every kind a restricted contract asks for; `my_number` belongs to task batches, not to confidentiality.
    const contractKinds = requiredVetting("restricted");

    it.each(contractKinds)("refuses an engineer with no %s on record", (kind) => {
      const why = restricted({ vetting: allBut(kind) });
      expect(why).toEqual([{ rule: "vetting", kind, validUntil: null, neededUntil: PLANNED_END }]);
      expect(describeIneligibility(why[0] as never)).toBe(`no ${kind} on record`);
    });

    it.each(contractKinds)("refuses a %s that expires the day before the planned end", (kind) => {
      const why = restricted({ vetting: allBut(kind, "2027-06-29") });
      expect(why).toEqual([{ rule: "vetting", kind, validUntil: "2027-06-29", neededUntil: PLANNED_END }]);
      expect(describeIneligibility(why[0] as never)).toBe(`${kind} valid until 2027-06-29, needs 2027-06-30`);
    });

    it.each(contractKinds)("accepts a %s valid exactly until the planned end", (kind) => {
      expect(restricted({ vetting: allBut(kind, PLANNED_END) })).toEqual([]);
    });

    it("ignores vetting the contract's confidentiality does not ask for", () => {
      const onlyNda = engineer("aiko", { vetting: { nda: "2030-12-31" } });
      expect(ineligibilities(onlyNda, pkg({ requiredVetting: requiredVetting("internal") }))).toEqual([]);
      expect(ineligibilities(onlyNda, pkg()).map(describeIneligibility)).toEqual([
        "no background_check on record",
        "no security_training on record",
      ]);
    });

    it("lists each kind once, in the order of vettingKinds", () => {
      const p = pkg({ requiredVetting: ["security_training", "nda", "security_training"] });
      const why = ineligibilities(engineer("aiko", { vetting: {} }), p);
      expect(why.map((i) => (i.rule === "vetting" ? i.kind : i.rule))).toEqual(["nda", "security_training"]);
    });
  });

  describe("capacity", () => {
    it("refuses a package that needs more hours than the engineer has spare", () => {
      const why = ineligibilities(engineer("aiko", { weeklyCapacityHours: 40, committedWeeklyHours: 28 }), pkg());
      expect(why).toEqual([{ rule: "capacity", spareHours: 12, neededHours: 20 }]);
      expect(describeIneligibility(why[0] as never)).toBe("12 h spare a week, needs 20 h");
    });

    it("accepts a package that takes exactly the spare hours", () => {
      expect(ineligibilities(engineer("aiko", { weeklyCapacityHours: 40, committedWeeklyHours: 20 }), pkg())).toEqual(
        [],
      );
    });

    it("says so when an engineer is already over capacity", () => {
      const why = ineligibilities(engineer("aiko", { weeklyCapacityHours: 30, committedWeeklyHours: 32.5 }), pkg());
      expect(why.map(describeIneligibility)).toEqual(["already 2.5 h over capacity a week, needs 20 h"]);
    });
  });

  it("gives an engineer who fails all three rules three reasons", () => {
    const why = ineligibilities(
      engineer("aiko", {
        skills: { java: 3 },
        vetting: allBut("background_check", "2027-03-31"),
        committedWeeklyHours: 30,
      }),
      pkg(),
    );
    expect(why.map(describeIneligibility)).toEqual([
      "java level 3, needs 4",
      "background_check valid until 2027-03-31, needs 2027-06-30",
      "10 h spare a week, needs 20 h",
    ]);
  });
});

describe("suggest", () => {
  it("puts an engineer who did an upstream package above a stronger one who did not", () => {
    const p = pkg({ upstream: ["u1"], labels: { u1: "1.2" } });
    const veteran = engineer("veteran", { skills: { java: 4 }, committedWeeklyHours: 20, history: ["u1"] });
    const expert = engineer("expert", { skills: { java: 7 } });
    const { ranked } = suggest(p, [expert, veteran]);
    expect(ranked.map((s) => s.engineerId)).toEqual(["veteran", "expert"]);
    expect(ranked[0]?.reasons).toEqual({
      preferredOffice: false,
      skillMargin: 0,
      spareHoursAfter: 0,
      continuity: ["1.2"],
    });
    expect(ranked[1]?.reasons).toEqual({ preferredOffice: false, skillMargin: 3, spareHoursAfter: 20, continuity: [] });
  });

  it("puts a higher skill margin above more spare capacity", () => {
    const busyExpert = engineer("busy", { skills: { java: 5 }, committedWeeklyHours: 20 });
    const idleNovice = engineer("idle", { skills: { java: 4 }, weeklyCapacityHours: 60 });
    expect(suggest(pkg(), [idleNovice, busyExpert]).ranked.map((s) => s.engineerId)).toEqual(["busy", "idle"]);
  });

  it("lets spare capacity decide when continuity and skill are equal", () => {
    const busy = engineer("busy", { committedWeeklyHours: 15 });
    const free = engineer("free");
    expect(suggest(pkg(), [busy, free]).ranked.map((s) => s.engineerId)).toEqual(["free", "busy"]);
  });

  it("counts every upstream package worked on, labelled by WBS id in WBS order", () => {
    const p = pkg({ upstream: ["u10", "u2", "u9"], labels: { u10: "1.10", u2: "1.2" } });
    const e = engineer("aiko", { history: ["u10", "u9", "u2", "elsewhere"] });
    expect(suggest(p, [e]).ranked[0]?.reasons.continuity).toEqual(["1.2", "1.10", "u9"]);
  });

  it("builds the score from the reasons alone", () => {
    const p = pkg({ upstream: ["u1"], requiredSkills: [{ skill: "java", level: 3 }] });
    const e = engineer("aiko", { skills: { java: 5 }, committedWeeklyHours: 5, history: ["u1"] });
    const [s] = suggest(p, [e]).ranked;
    // 10,000 × 1 upstream + 100 × 2 levels of margin + 15 spare hours.
    expect(s?.score).toBe(10_215);
    expect(scoreOf(s?.reasons as never)).toBe(s?.score);
  });

  it("breaks ties by name, then id, whatever the input order", () => {
    const twins = [
      engineer("e3", { name: "Sato" }),
      engineer("e2", { name: "sato" }),
      engineer("e1", { name: "Sato" }),
      engineer("e4", { name: "Abe" }),
    ];
    const order = (list: MatchEngineer[]) => suggest(pkg(), list).ranked.map((s) => s.engineerId);
    expect(order(twins)).toEqual(["e4", "e2", "e1", "e3"]);
    expect(order([...twins].reverse())).toEqual(["e4", "e2", "e1", "e3"]);
  });

  it("keeps the top `limit` and still lists every ineligible engineer with all reasons", () => {
    const engineers = [
      engineer("a", { skills: { java: 7 } }),
      engineer("b", { skills: { java: 6 } }),
      engineer("c", { skills: { java: 5 } }),
      engineer("d", { skills: { java: 1 }, committedWeeklyHours: 40 }),
      engineer("e", { vetting: {} }),
    ];
    const { ranked, ineligible } = suggest(pkg(), engineers, { limit: 2 });
    expect(ranked.map((s) => s.engineerId)).toEqual(["a", "b"]);
    expect(ineligible.map(({ engineerId, why }) => [engineerId, why.map(describeIneligibility)])).toEqual([
      ["d", ["java level 1, needs 4", "0 h spare a week, needs 20 h"]],
      ["e", ["no nda on record", "no background_check on record", "no security_training on record"]],
    ]);
  });
});

/** A package's office rule for the offices `ids`, or none. */
const officeRule = (mode: "preferred" | "required" | null, ids: string[]) =>
  mode ? { offices: { mode, ids: new Set(ids), names: ids } } : {};

/** Few skills, names and dates and round hours, so that ties and borderline cases are common. */
function randomWorld(seed: number, packageCount: number, engineerCount: number) {
  const rnd = seeded(seed);
  const skills = ["java", "sql", "react", "cobol", "aws", "sap"];
  const dates = ["2027-03-31", "2027-06-30", "2027-09-30", "2027-12-31"];
  const packageIds = Array.from({ length: packageCount }, (_, i) => `p${i}`);
  const engineers = Array.from({ length: engineerCount }, (_, i): MatchEngineer => {
    const vetting = new Map<VettingKind, string>();
    for (const kind of vettingKinds) if (rnd.next() < 0.8) vetting.set(kind, rnd.pick(dates));
    const capacity = rnd.pick([20, 30, 40]);
    return {
      id: `e${i}`,
      name: rnd.pick(["Abe", "Ito", "Sato", "Suzuki", "Tanaka"]),
      skills: new Map(Array.from({ length: rnd.int(0, 4) }, () => [rnd.pick(skills), rnd.int(1, 7)])),
      vettingValidUntil: vetting,
      weeklyCapacityHours: capacity,
      committedWeeklyHours: rnd.pick([0, 0, 4, 10, 20, capacity]),
      history: new Set(Array.from({ length: rnd.int(0, 6) }, () => rnd.pick(packageIds))),
      office: rnd.pick([null, { id: "o1", name: "北" }, { id: "o2", name: "南" }, { id: "o3", name: "西" }]),
    };
  });
  const packages = packageIds.map(
    (id, i): MatchPackage => ({
      id,
      requiredSkills: Array.from({ length: rnd.int(0, 3) }, () => ({ skill: rnd.pick(skills), level: rnd.int(1, 5) })),
      requiredVetting: requiredVetting(rnd.pick(["internal", "confidential", "restricted"] as const)),
      plannedEnd: rnd.pick(dates),
      weeklyHours: rnd.pick([4, 8, 10, 16, 20]),
      upstream: new Set(Array.from({ length: rnd.int(0, Math.min(i, 8)) }, () => `p${rnd.int(0, i - 1)}`)),
      upstreamLabels: new Map(Array.from({ length: i }, (_, j) => [`p${j}`, `1.${j}`])),
      ...officeRule(rnd.pick([null, null, "preferred", "required"] as const), rnd.pick([["o1"], ["o1", "o2"]])),
    }),
  );
  return { packages, engineers };
}

describe("suggestMany", () => {
  it("keeps the top five by default", () => {
    const engineers = Array.from({ length: 8 }, (_, i) => engineer(`e${i}`, { skills: { java: 4 + (i % 4) } }));
    expect(suggestMany([pkg()], engineers).get("pkg")).toHaveLength(5);
  });

  it("returns an empty list for a package nobody can take, and for a limit of zero", () => {
    const nobody = pkg({ id: "cobol", requiredSkills: [{ skill: "cobol", level: 5 }] });
    const many = suggestMany([nobody, pkg()], [engineer("aiko")]);
    expect(many.get("cobol")).toEqual([]);
    expect(many.get("pkg")).toHaveLength(1);
    expect(suggestMany([pkg()], [engineer("aiko")], { limit: 0 }).get("pkg")).toEqual([]);
  });

  it.each([
    [1, 1],
    [2, 3],
    [3, 5],
    [4, 40],
    [5, Number.POSITIVE_INFINITY],
  ])("gives exactly suggest's top-k on seeded random data (seed %i, limit %s)", (seed, limit) => {
    const { packages, engineers } = randomWorld(seed, 300, 120);
    const many = suggestMany(packages, engineers, { limit });
    let tiedScores = 0;
    let withContinuity = 0;
    let preferred = 0;
    let required = 0;
    for (const p of packages) {
      const expected = suggest(p, engineers, { limit }).ranked;
      expect(many.get(p.id), `package ${p.id}`).toEqual(expected);
      for (let i = 1; i < expected.length; i++) if (expected[i]?.score === expected[i - 1]?.score) tiedScores++;
      if (expected.some((s) => s.reasons.continuity.length > 0)) withContinuity++;
      if (expected.some((s) => s.reasons.preferredOffice)) preferred++;
      if (p.offices?.mode === "required" && expected.length > 0) required++;
    }
    // The data must exercise tie-breaking, continuity and office rules, or this comparison proves little.
    if (limit > 1) expect(tiedScores).toBeGreaterThan(10);
    expect(withContinuity).toBeGreaterThan(5);
    expect(preferred).toBeGreaterThan(5);
    expect(required).toBeGreaterThan(5);
  });
});

describe("a contract's office rule", () => {
  const north = { id: "north", name: "北オフィス" };
  const south = { id: "south", name: "南オフィス" };
  const rule = (mode: "preferred" | "required") =>
    pkg({ offices: { mode, ids: new Set(["north"]), names: ["長野県"] } });

  it("refuses, when required, an engineer of another office or of none, naming the rule", () => {
    const why = (e: MatchEngineer) => ineligibilities(e, rule("required"));
    expect(why(engineer("aiko", { office: north }))).toEqual([]);
    expect(why(engineer("ben", { office: south }))).toEqual([
      { rule: "office", office: "南オフィス", allowed: ["長野県"] },
    ]);
    expect(why(engineer("chie")).map(describeIneligibility)).toEqual([
      "belongs to no office; the contract requires engineers of 長野県",
    ]);
  });

  it("ranks, when preferred, its engineers above any margin or continuity, and refuses nobody for it", () => {
    const engineers = [
      engineer("aiko", { office: north }),
      engineer("ben", { office: south, skills: { java: 7 }, history: ["up"] }),
    ];
    const p = pkg({ upstream: ["up"], offices: { mode: "preferred", ids: new Set(["north"]), names: [] } });
    const { ranked, ineligible } = suggest(p, engineers);
    expect(ranked.map((s) => [s.engineerId, s.reasons.preferredOffice])).toEqual([
      ["aiko", true],
      ["ben", false],
    ]);
    expect(ineligible).toEqual([]);
    expect(suggestMany([p], engineers).get("pkg")).toEqual(ranked);
  });
});

describe("days away over a package's span", () => {
  // Mon–Fri 10:00–15:00: 25 h a week.
  const weekdays = { weekdayMinutes: [300, 300, 300, 300, 300, 0, 0] };
  const span = { plannedStart: "2027-01-04", plannedEnd: "2027-01-31" }; // four whole weeks from a Monday

  it("averages the windows over the span with the days away taken out, and counts the days away", () => {
    const e = engineer("aiko", {
      weeklyCapacityHours: 25,
      availability: { ...weekdays, away: [{ from: "2027-01-11", to: "2027-01-24" }] },
    });
    // Two of the four weeks away: 50 h over 4 weeks.
    expect(capacityFor(e, pkg(span))).toEqual({ hours: 12.5, awayDays: 14 });
    const why = ineligibilities(e, pkg({ ...span, weeklyHours: 20 }));
    expect(why.map(describeIneligibility)).toEqual([
      "12.5 h spare a week over the package's span (14 days away), needs 20 h",
    ]);
  });

  it("changes nothing for days away outside the span, or without a span's start", () => {
    const e = engineer("aiko", {
      weeklyCapacityHours: 25,
      availability: { ...weekdays, away: [{ from: "2027-03-01", to: "2027-03-31" }] },
    });
    expect(capacityFor(e, pkg(span))).toEqual({ hours: 25, awayDays: 0 });
    const inside = engineer("aiko", {
      weeklyCapacityHours: 25,
      availability: { ...weekdays, away: [{ from: "2027-01-04", to: "2027-01-31" }] },
    });
    expect(capacityFor(inside, pkg({ plannedEnd: span.plannedEnd }))).toEqual({ hours: 25, awayDays: 0 });
  });

  it("ranks in suggestMany exactly as suggest does when some engineers are away", () => {
    const engineers = ["aiko", "ben", "chie", "daiki"].map((id, i) =>
      engineer(id, {
        weeklyCapacityHours: 25,
        availability: { ...weekdays, away: i % 2 ? [{ from: "2027-01-04", to: `2027-01-${10 + i * 4}` }] : [] },
      }),
    );
    const packages = [8, 15, 22].map((weeklyHours) => pkg({ ...span, id: `p${weeklyHours}`, weeklyHours }));
    const many = suggestMany(packages, engineers, { limit: 4 });
    for (const p of packages) expect(many.get(p.id)).toEqual(suggest(p, engineers, { limit: 4 }).ranked);
    expect(many.get("p22")?.map((s) => s.engineerId)).toEqual(["aiko", "chie"]);
  });
});

describe("how a package fits an engineer's week", () => {
  // Mon–Fri 10:00–15:00: 25 h a week.
  const weekdays = { weekdayMinutes: [300, 300, 300, 300, 300, 0, 0] };
  const span = { plannedStart: "2027-01-04", plannedEnd: "2027-01-31" };

  it("says the hours the package needs of those free for it, from the windows less what is committed", () => {
    const e = engineer("aiko", {
      weeklyCapacityHours: 25,
      committedWeeklyHours: 13,
      availability: { ...weekdays, away: [] },
    });
    const [s] = suggest(pkg({ ...span, weeklyHours: 6 }), [e]).ranked;
    expect(s?.fit).toEqual({ neededHours: 6, availableHours: 12, fromWindows: true, awayDays: 0 });
    expect(s?.reasons.spareHoursAfter).toBe(6);
  });

  it("counts days away in the span, and says when the hours come from a single weekly capacity", () => {
    const away = engineer("aiko", {
      weeklyCapacityHours: 25,
      availability: { ...weekdays, away: [{ from: "2027-01-11", to: "2027-01-24" }] },
    });
    const plain = engineer("ben", { weeklyCapacityHours: 30, committedWeeklyHours: 10 });
    const p = pkg({ ...span, weeklyHours: 6 });
    const fits = Object.fromEntries(suggest(p, [away, plain]).ranked.map((s) => [s.engineerId, s.fit]));
    expect(fits).toEqual({
      aiko: { neededHours: 6, availableHours: 12.5, fromWindows: true, awayDays: 14 },
      ben: { neededHours: 6, availableHours: 20, fromWindows: false, awayDays: 0 },
    });
    expect(suggestMany([p], [away, plain]).get("pkg")).toEqual(suggest(p, [away, plain]).ranked);
  });
});

describe("the largest package an engineer wants", () => {
  it("leaves bigger packages out and says so, keeps those of that size or smaller", () => {
    const e = engineer("aiko", { largestPackageHours: 40 });
    expect(ineligibilities(e, pkg({ estimateHours: 41 }))).toEqual([
      { rule: "size", estimateHours: 41, largestHours: 40 },
    ]);
    expect(describeIneligibility({ rule: "size", estimateHours: 41, largestHours: 40 })).toBe(
      "wants packages of at most 40 h; this one is 41 h",
    );
    expect(ineligibilities(e, pkg({ estimateHours: 40 }))).toEqual([]);
    expect(ineligibilities(engineer("ben", { largestPackageHours: null }), pkg({ estimateHours: 500 }))).toEqual([]);
  });

  it("ranks in suggestMany exactly as suggest does", () => {
    const engineers = [10, 30, null, 60].map((largestPackageHours, i) =>
      engineer(`e${i}`, { largestPackageHours, skills: { java: 4 + i } }),
    );
    const packages = [5, 20, 45, 80].map((estimateHours) => pkg({ id: `p${estimateHours}`, estimateHours }));
    const many = suggestMany(packages, engineers, { limit: 4 });
    for (const p of packages) expect(many.get(p.id)).toEqual(suggest(p, engineers, { limit: 4 }).ranked);
    expect(many.get("p45")?.map((s) => s.engineerId)).toEqual(["e3", "e2"]);
  });
});
