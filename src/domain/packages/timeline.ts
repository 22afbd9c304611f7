// A contract's plan on the calendar (線表): each package's bar from its earliest start to its finish in
// working days, or from its actual assignment to its delivery once those happened.
import type { PackageState } from "./lifecycle.ts";
import type { ContractPlan } from "./plan.ts";

/** Hours of one working day on the plan's calendar; the plan counts Monday to Friday only. */
export const HOURS_PER_DAY = 8;

/** What happened to a package so far: who took it and when, when it was delivered and accepted (ISO instants). */
export interface PackageActuals {
  packageId: string;
  engineerName: string | null;
  startedAt: string | null;
  deliveredAt: string | null;
  acceptedAt: string | null;
}

/** One bar of the chart: days are YYYY-MM-DD in Tokyo, `finish` the last day worked (inclusive). */
export interface TimelineBar {
  id: string;
  wbsId: string;
  title: string;
  parentWbsId: string | null;
  state: PackageState;
  engineerName: string | null;
  start: string;
  finish: string;
  /** `plan`: both ends from the plan; `actual`: both ends happened; `forecast`: started, finish projected. */
  basis: "plan" | "actual" | "forecast";
  /** The last day the package may finish on without delaying the contract (finish + slack). */
  latestFinish: string;
  slackHours: number;
  critical: boolean;
  dependsOn: string[];
  estimateHours: number;
}

const TOKYO_OFFSET = 9 * 3_600_000;
const dayOf = (iso: string): string => new Date(Date.parse(iso) + TOKYO_OFFSET).toISOString().slice(0, 10);
const weekday = (day: string): number => new Date(`${day}T00:00:00Z`).getUTCDay();
export const nextDay = (day: string, n = 1): string =>
  new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
const isWorkingDay = (day: string): boolean => weekday(day) !== 0 && weekday(day) !== 6;

/** The first working day on or after `day`. */
export function workingDayFrom(day: string): string {
  let d = day;
  while (!isWorkingDay(d)) d = nextDay(d);
  return d;
}

/**
 * The working day on which hour `hours` of work falls, counting from the start of working day `from`
 * (hour 0 is the first hour of `from`; hour 8 the first of the next working day).
 */
export function dayAtHour(from: string, hours: number): string {
  let d = workingDayFrom(from);
  let whole = Math.floor(Math.max(0, hours) / HOURS_PER_DAY + 1e-9);
  while (whole > 0) {
    d = workingDayFrom(nextDay(d));
    whole--;
  }
  return d;
}

/** The last working day of work that starts at hour `start` and lasts `hours` (at least its first day). */
function lastDay(from: string, start: number, hours: number): string {
  return dayAtHour(from, Math.max(start, start + hours - 1e-6));
}

/**
 * The bars of a contract's chart: planned bars start on the contract's first working day; a package someone
 * has started runs from that day, to its acceptance or delivery, or projected by its estimate until then.
 */
export function timelineOf({
  periodStart,
  packages,
  plan,
  actuals,
}: {
  periodStart: string;
  packages: readonly {
    id: string;
    wbsId: string;
    title: string;
    parentWbsId: string | null;
    state: PackageState;
    estimateHours: number;
    dependsOn: readonly string[];
  }[];
  plan: ContractPlan;
  actuals: readonly PackageActuals[];
}): TimelineBar[] {
  const scheduled = new Map(plan.packages.map((p) => [p.id, p]));
  const happened = new Map(actuals.map((a) => [a.packageId, a]));
  const bars: TimelineBar[] = [];
  for (const p of packages) {
    const s = scheduled.get(p.id);
    if (!s) continue; // cancelled packages are not on the plan
    const a = happened.get(p.id);
    const plannedStart = dayAtHour(periodStart, s.earliestStartHours);
    const plannedFinish = lastDay(periodStart, s.earliestStartHours, p.estimateHours);
    let start = plannedStart;
    let finish = plannedFinish;
    let basis: TimelineBar["basis"] = "plan";
    if (a?.startedAt) {
      start = dayOf(a.startedAt);
      const ended = a.acceptedAt ?? a.deliveredAt;
      if (ended) {
        finish = dayOf(ended);
        basis = "actual";
      } else {
        finish = lastDay(start, 0, p.estimateHours);
        basis = "forecast";
      }
      if (finish < start) finish = start;
    }
    const latestFinish = lastDay(periodStart, s.earliestStartHours + s.slackHours, p.estimateHours);
    bars.push({
      id: p.id,
      wbsId: p.wbsId,
      title: p.title,
      parentWbsId: p.parentWbsId,
      state: p.state,
      engineerName: a?.engineerName ?? null,
      start,
      finish,
      basis,
      latestFinish: [latestFinish, finish].sort()[1] as string,
      slackHours: s.slackHours,
      critical: s.critical,
      dependsOn: [...p.dependsOn],
      estimateHours: p.estimateHours,
    });
  }
  return bars;
}

/** Hours and packages planned to be finished by `today` (their planned last day before or on it). */
export function plannedBy(
  periodStart: string,
  plan: ContractPlan,
  estimates: ReadonlyMap<string, number>,
  today: string,
): { count: number; hours: number } {
  let count = 0;
  let hours = 0;
  for (const s of plan.packages) {
    const estimate = estimates.get(s.id) ?? 0;
    if (lastDay(periodStart, s.earliestStartHours, estimate) <= today) {
      count++;
      hours += estimate;
    }
  }
  return { count, hours };
}

/** Today in Tokyo. */
export const tokyoToday = (now = Date.now()): string => dayOf(new Date(now).toISOString());
