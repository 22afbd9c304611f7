// Matching benchmark: suggestMany's top-5 for every package of many contracts, at 1,000 packages × 200 engineers and
// 10,000 × 2,000, on seeded realistic data; growth is compared with linear in packages × engineers. A third run
// (`windows_large_ms`) repeats the large one with weekly availability windows on every engineer, a third of them
// with days away, and every package with its span, so that capacity is counted over each package's days.
import { isDeepStrictEqual } from "node:util";
import {
  type Confidentiality,
  type MatchEngineer,
  type MatchPackage,
  requiredVetting,
  suggest,
  suggestMany,
  type VettingKind,
} from "../src/domain/matching/matching.ts";
import { seeded } from "../test/support/random.ts";

const SMALL = { packages: 1_000, engineers: 200 };
const LARGE = { packages: 10_000, engineers: 2_000 };
const RUNS = 3;
const WARM_UP_MS = 1000;
const LARGE_MS_TARGET = 1000;
const WINDOWS_LARGE_MS_TARGET = 1000;
const GROWTH_RATIO_TARGET = 1;
const PACKAGES_PER_CONTRACT = 50;
/** Packages of the large run checked against suggest, to show that the fast path is the same answer. */
const CROSS_CHECKS = 50;
// Generation and every run take a few seconds; a hung bench must not hold CI forever.
const WATCHDOG_MS = 120_000;

const SKILLS = [
  "java",
  "typescript",
  "javascript",
  "python",
  "go",
  "c#",
  "c++",
  "cobol",
  "pl/i",
  "jcl",
  "sql",
  "pl/sql",
  "oracle",
  "postgresql",
  "mysql",
  "db2",
  "sql server",
  "spring",
  "struts",
  ".net",
  "react",
  "vue",
  "angular",
  "node.js",
  "aws",
  "azure",
  "gcp",
  "kubernetes",
  "docker",
  "terraform",
  "linux",
  "sap",
  "abap",
  "salesforce",
  "servicenow",
  "jenkins",
  "ci/cd",
  "testing",
  "security",
  "network",
];

type Rnd = ReturnType<typeof seeded>;

const day = (rnd: Rnd, fromYear: number, toYear: number) =>
  `${rnd.int(fromYear, toYear)}-${String(rnd.int(1, 12)).padStart(2, "0")}-${String(rnd.int(1, 28)).padStart(2, "0")}`;

/** Packages in contracts of 50, each depending on up to two earlier ones; upstream is the transitive closure. */
function makePackages(rnd: Rnd, count: number): MatchPackage[] {
  const packages: MatchPackage[] = [];
  for (let c = 0; packages.length < count; c++) {
    const confidentiality = rnd.pick<Confidentiality>([
      "internal",
      "internal",
      "internal",
      "confidential",
      "confidential",
      "restricted",
    ]);
    const vetting = requiredVetting(confidentiality);
    const size = Math.min(PACKAGES_PER_CONTRACT, count - packages.length);
    const ids = Array.from({ length: size }, (_, i) => `c${c}-p${i}`);
    const labels = new Map(ids.map((id, i) => [id, `${Math.floor(i / 10) + 1}.${(i % 10) + 1}`]));
    const upstreamOf: Set<string>[] = [];
    for (let i = 0; i < size; i++) {
      const upstream = new Set<string>();
      for (let d = rnd.int(0, Math.min(i, 2)); d > 0; d--) {
        const dep = rnd.int(0, i - 1);
        upstream.add(ids[dep] as string);
        for (const u of upstreamOf[dep] as Set<string>) upstream.add(u);
      }
      upstreamOf.push(upstream);
      const skills = new Map<string, number>();
      for (let s = rnd.int(1, 3); s > 0; s--) skills.set(rnd.pick(SKILLS), rnd.int(2, 5));
      packages.push({
        id: ids[i] as string,
        requiredSkills: [...skills].map(([skill, level]) => ({ skill, level })),
        requiredVetting: vetting,
        plannedEnd: day(rnd, 2027, 2028),
        weeklyHours: rnd.pick([8, 10, 16, 20, 20, 24, 30, 40]),
        upstream,
        upstreamLabels: labels,
      });
    }
  }
  return packages;
}

/** Engineers with 3–10 skills (levels mostly 2–5), a mix of vetting and expiries, part-time and full-time weeks. */
function makeEngineers(rnd: Rnd, count: number, packages: readonly MatchPackage[]): MatchEngineer[] {
  const family = ["Sato", "Suzuki", "Takahashi", "Tanaka", "Ito", "Watanabe", "Yamamoto", "Nakamura", "Kobayashi"];
  const given = ["Aiko", "Haruto", "Yui", "Sota", "Mei", "Ren", "Hina", "Daiki", "Saki", "Kenta"];
  return Array.from({ length: count }, (_, i) => {
    const skills = new Map<string, number>();
    for (let s = rnd.int(3, 10); skills.size < s; )
      skills.set(rnd.pick(SKILLS), Math.min(7, rnd.int(1, 4) + rnd.int(0, 3)));
    const vetting = new Map<VettingKind, string>();
    if (rnd.next() < 0.95) vetting.set("nda", day(rnd, 2026, 2029));
    if (rnd.next() < 0.7) vetting.set("background_check", day(rnd, 2026, 2029));
    if (rnd.next() < 0.7) vetting.set("security_training", day(rnd, 2026, 2028));
    if (rnd.next() < 0.15) vetting.set("restricted_clearance", day(rnd, 2026, 2029));
    const capacity = rnd.pick([16, 20, 24, 32, 40, 40, 40]);
    return {
      id: `eng-${String(i).padStart(5, "0")}`,
      name: `${rnd.pick(family)} ${rnd.pick(given)}`,
      skills,
      vettingValidUntil: vetting,
      weeklyCapacityHours: capacity,
      committedWeeklyHours: rnd.pick([0, 0, 8, 16, 20, capacity]),
      history: new Set(Array.from({ length: rnd.int(0, 15) }, () => rnd.pick(packages).id)),
    };
  });
}

/** Typical weeks of people who work around their families: minutes a day, Monday first. */
const WEEKS = [
  [300, 300, 300, 300, 300, 0, 0], // Mon–Fri 10:00–15:00
  [480, 480, 480, 480, 480, 0, 0],
  [240, 240, 0, 240, 240, 0, 0],
  [360, 360, 360, 0, 0, 180, 0],
  [180, 180, 180, 180, 180, 180, 180],
];

/**
 * The same world with windows on every engineer (their capacity is then the windows' hours, as matching reads it
 * from the database), days away for a third of them within the packages' years, and a span on every package.
 */
function withWindows(rnd: Rnd, packages: MatchPackage[], engineers: MatchEngineer[]) {
  const windowed = engineers.map((e): MatchEngineer => {
    const weekdayMinutes = rnd.pick(WEEKS);
    const away: { from: string; to: string }[] = [];
    if (rnd.next() < 1 / 3) {
      for (let n = rnd.int(1, 3); n > 0; n--) {
        const from = day(rnd, 2027, 2027);
        const to = new Date(Date.parse(`${from}T00:00:00Z`) + rnd.int(0, 20) * 86_400_000).toISOString().slice(0, 10);
        away.push({ from, to });
      }
    }
    return {
      ...e,
      weeklyCapacityHours: weekdayMinutes.reduce((sum, m) => sum + m, 0) / 60,
      availability: { weekdayMinutes, away },
    };
  });
  const spanned = packages.map((p): MatchPackage => {
    const start = Date.parse(`${p.plannedEnd}T00:00:00Z`) - rnd.int(14, 180) * 86_400_000;
    return { ...p, plannedStart: new Date(start).toISOString().slice(0, 10) };
  });
  return { packages: spanned, engineers: windowed };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};
const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

function measure(name: string, size: { packages: number; engineers: number }, seed: number, windows = false) {
  const rnd = seeded(seed);
  let packages = makePackages(rnd, size.packages);
  let engineers = makeEngineers(rnd, size.engineers, packages);
  if (windows) ({ packages, engineers } = withWindows(rnd, packages, engineers));
  // Warm up until the optimising compiler has settled: one small run alone is still mostly interpreted code, which
  // would inflate small_ms and flatter the growth ratio.
  let shortlist = suggestMany(packages, engineers);
  for (const warmUntil = performance.now() + WARM_UP_MS; performance.now() < warmUntil; ) {
    shortlist = suggestMany(packages, engineers);
  }
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now();
    shortlist = suggestMany(packages, engineers);
    times.push(performance.now() - start);
  }
  let full = 0;
  for (const list of shortlist.values()) if (list.length === 5) full++;
  const ms = median(times);
  console.log(
    `${name.padEnd(7)} ${size.packages} packages × ${size.engineers} engineers: ${round(ms)} ms (median of ${RUNS}; ` +
      `${round((1e6 * ms) / (size.packages * size.engineers), 2)} ns a pair; ${round((100 * full) / packages.length)}% of packages with a full top 5)`,
  );
  return { ms, packages, engineers, shortlist };
}

function main() {
  const small = measure("small", SMALL, 1);
  const large = measure("large", LARGE, 2);
  const windows = measure("windows", LARGE, 3, true);

  // The fast path must be the same answer as suggest, which works out every engineer's reasons.
  for (const run of [large, windows]) {
    const step = Math.floor(run.packages.length / CROSS_CHECKS);
    for (let i = 0; i < CROSS_CHECKS; i++) {
      const p = run.packages[i * step] as MatchPackage;
      if (!isDeepStrictEqual(run.shortlist.get(p.id), suggest(p, run.engineers, { limit: 5 }).ranked)) {
        throw new Error(`suggestMany and suggest disagree on package ${p.id}`);
      }
    }
  }
  console.log(`cross-check: ${CROSS_CHECKS} packages of each large run give the same top 5 as suggest`);

  const growthRatio = round(
    large.ms / small.ms / ((LARGE.packages * LARGE.engineers) / (SMALL.packages * SMALL.engineers)),
    2,
  );
  console.log(
    `large ${round(large.ms)} ms (${large.ms < LARGE_MS_TARGET ? "meets" : "ABOVE"} target ${LARGE_MS_TARGET} ms); ` +
      `growth ratio ${growthRatio} against linear (${growthRatio <= GROWTH_RATIO_TARGET ? "meets" : "ABOVE"} target ${GROWTH_RATIO_TARGET}); ` +
      `with windows ${round(windows.ms)} ms (${windows.ms < WINDOWS_LARGE_MS_TARGET ? "meets" : "ABOVE"} target ${WINDOWS_LARGE_MS_TARGET} ms)`,
  );
  console.log(
    JSON.stringify({
      bench: "matching",
      small_ms: round(small.ms, 2),
      large_ms: round(large.ms, 1),
      large_ms_target: LARGE_MS_TARGET,
      growth_ratio: growthRatio,
      growth_ratio_target: GROWTH_RATIO_TARGET,
      windows_large_ms: round(windows.ms, 1),
      windows_large_ms_target: WINDOWS_LARGE_MS_TARGET,
    }),
  );
}

const watchdog = setTimeout(() => {
  console.error(`matching bench still running after ${WATCHDOG_MS / 1000} s; giving up`);
  process.exit(1);
}, WATCHDOG_MS);
watchdog.unref();
main();
