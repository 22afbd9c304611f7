// Which engineers could take a work package: the eligibility rules with every reason an engineer fails them, a
// ranked shortlist that explains itself, and a fast path that shortlists a whole contract's packages at once.
import { codeOf, english, type Text, text } from "../../kernel/messages.ts";
import { compareWbs } from "../packages/wbs-order.ts";

/**
 * `my_number`: training in handling individual numbers (特定個人情報) and a signed undertaking, needed to key or
 * decide task batches with individual-number fields; no contract confidentiality requires it.
 */
export const vettingKinds = [
  "nda",
  "background_check",
  "security_training",
  "restricted_clearance",
  "my_number",
] as const;
export type VettingKind = (typeof vettingKinds)[number];
export type Confidentiality = "internal" | "confidential" | "restricted";

const vettingFor: Record<Confidentiality, readonly VettingKind[]> = {
  internal: ["nda"],
  confidential: ["nda", "background_check", "security_training"],
  restricted: ["nda", "background_check", "security_training", "restricted_clearance"],
};

/** The vetting a contract's confidentiality needs. */
export function requiredVetting(c: Confidentiality): VettingKind[] {
  return [...vettingFor[c]];
}

/** An engineer as matching sees them. Skill names are lower-case on both sides (the WBS parser lower-cases them). */
export interface MatchEngineer {
  id: string;
  name: string;
  /** Skill (lower-case) → ITSS level 1..7. */
  skills: ReadonlyMap<string, number>;
  /** Vetting kind → last valid day, "YYYY-MM-DD". Absent: none on record (expired records may be absent or past). */
  vettingValidUntil: ReadonlyMap<VettingKind, string>;
  weeklyCapacityHours: number;
  /** Hours a week already taken by current assignments. */
  committedWeeklyHours: number;
  /** Ids of packages this engineer worked on (assigned or later). */
  history: ReadonlySet<string>;
  /**
   * Where the engineer states weekly windows: minutes a day by ISO weekday (index 0 is Monday), and the days
   * away they declared ("YYYY-MM-DD", inclusive). Capacity is then counted over each package's span.
   */
  availability?: { weekdayMinutes: readonly number[]; away: readonly { from: string; to: string }[] };
  /** The office the engineer belongs to; absent or null: none. */
  office?: { id: string; name: string } | null;
  /** The largest package the engineer wants, in estimated hours; absent or null: any size. */
  largestPackageHours?: number | null;
}

/**
 * A contract's office rule as matching sees it: the offices it names or that lie in the prefectures it names,
 * and the words for them ("長野県", an office's name) that a "why not" quotes.
 */
export interface MatchOffices {
  mode: "preferred" | "required";
  ids: ReadonlySet<string>;
  names: readonly string[];
}

/** A work package as matching sees it. */
export interface MatchPackage {
  id: string;
  requiredSkills: readonly { skill: string; level: number }[];
  requiredVetting: readonly VettingKind[];
  /** "YYYY-MM-DD": every required vetting must be valid until this day, inclusive. */
  plannedEnd: string;
  /** "YYYY-MM-DD": the first day of the span the package is worked in (its start, or today when later). */
  plannedStart?: string;
  /** Load the package adds to an engineer's week. */
  weeklyHours: number;
  /** The package's estimate in hours, held against the largest package an engineer wants; absent: not checked. */
  estimateHours?: number;
  /** Ids of packages this one depends on, directly or not, in the same contract. */
  upstream: ReadonlySet<string>;
  /** Upstream id → WBS id, so that continuity reasons read as the lead knows the packages. */
  upstreamLabels?: ReadonlyMap<string, string>;
  /** The contract's office rule; absent: any office. */
  offices?: MatchOffices;
}

/** One rule an engineer fails for a package, with the figures a lead needs to see why. */
export type Ineligibility =
  | { rule: "office"; office: string | null; allowed: string[] }
  | { rule: "skill"; skill: string; required: number; has: number | null }
  | { rule: "vetting"; kind: VettingKind; validUntil: string | null; neededUntil: string }
  | { rule: "capacity"; spareHours: number; neededHours: number; awayDays?: number }
  | { rule: "size"; estimateHours: number; largestHours: number };

const DAY_MS = 86_400_000;
const dayNumber = (day: string) => Math.floor(Date.parse(`${day}T00:00:00Z`) / DAY_MS);
// Day 0 (1970-01-01) was a Thursday: ISO weekday index (Monday 0) of day d is (d + 3) mod 7.
const weekdayOf = (d: number) => (((d + 3) % 7) + 7) % 7;

/** Minutes the weekly windows hold on days first..last (day numbers, inclusive). */
function minutesIn(weekdayMinutes: readonly number[], first: number, last: number): number {
  const days = last - first + 1;
  if (days <= 0) return 0;
  // Whole weeks hold every weekday once; the remaining days are counted one by one.
  let weekMinutes = 0;
  for (const m of weekdayMinutes) weekMinutes += m;
  let minutes = Math.floor(days / 7) * weekMinutes;
  for (let d = first + Math.floor(days / 7) * 7; d <= last; d++) minutes += weekdayMinutes[weekdayOf(d)] ?? 0;
  return minutes;
}

/** An engineer's days away as disjoint, sorted day-number ranges, worked out once per engineer object. */
const awayRanges = new WeakMap<object, { from: number; to: number }[]>();
function rangesOf(away: readonly { from: string; to: string }[]): { from: number; to: number }[] {
  let ranges = awayRanges.get(away);
  if (ranges) return ranges;
  const sorted = away
    .map((r) => ({ from: dayNumber(r.from), to: dayNumber(r.to) }))
    .filter((r) => r.from <= r.to)
    .sort((a, b) => a.from - b.from);
  ranges = [];
  for (const r of sorted) {
    const last = ranges[ranges.length - 1];
    if (last && r.from <= last.to + 1) last.to = Math.max(last.to, r.to);
    else ranges.push({ ...r });
  }
  awayRanges.set(away, ranges);
  return ranges;
}

/**
 * The engineer's weekly capacity for the package: their stated windows averaged over the package's span with
 * the days away in it taken out, and how many days away fall in it. Without days away in the span (or without
 * windows, or a span) it is their weekly capacity as it stands.
 */
export function capacityFor(e: MatchEngineer, p: MatchPackage): { hours: number; awayDays: number } {
  const a = e.availability;
  if (!a || a.away.length === 0 || !p.plannedStart || p.plannedStart > p.plannedEnd) {
    return { hours: e.weeklyCapacityHours, awayDays: 0 };
  }
  return capacityOver(e, a, rangesOf(a.away), dayNumber(p.plannedStart), dayNumber(p.plannedEnd));
}

/** capacityFor over the span first..last (day numbers), with the engineer's days away as rangesOf gives them. */
function capacityOver(
  e: MatchEngineer,
  a: NonNullable<MatchEngineer["availability"]>,
  ranges: readonly { from: number; to: number }[],
  first: number,
  last: number,
): { hours: number; awayDays: number } {
  let awayDays = 0;
  let awayMinutes = 0;
  for (const range of ranges) {
    if (range.from > last) break;
    const from = Math.max(first, range.from);
    const to = Math.min(last, range.to);
    if (from > to) continue;
    awayDays += to - from + 1;
    awayMinutes += minutesIn(a.weekdayMinutes, from, to);
  }
  if (awayDays === 0) return { hours: e.weeklyCapacityHours, awayDays: 0 };
  const days = last - first + 1;
  const minutes = minutesIn(a.weekdayMinutes, first, last) - awayMinutes;
  return { hours: Math.round((minutes / 60 / (days / 7)) * 100) / 100, awayDays };
}

const spareFor = (e: MatchEngineer, p: MatchPackage) => {
  const { hours, awayDays } = capacityFor(e, p);
  return { spare: hours - e.committedWeeklyHours, awayDays };
};

/**
 * Every rule the engineer fails for the package (empty: eligible). The one definition of eligibility, used by
 * suggestions, offers and acceptance alike. Vetting reasons come in `vettingKinds` order, each kind once.
 */
export function ineligibilities(e: MatchEngineer, p: MatchPackage): Ineligibility[] {
  const why: Ineligibility[] = [];
  if (p.offices?.mode === "required" && !inOffices(e, p.offices)) {
    why.push({ rule: "office", office: e.office?.name ?? null, allowed: [...p.offices.names] });
  }
  for (const r of p.requiredSkills) {
    const has = e.skills.get(r.skill);
    // !(has >= level) rather than has < level: a NaN on either side then fails here exactly as in suggestMany.
    if (has === undefined || !(has >= r.level)) {
      why.push({ rule: "skill", skill: r.skill, required: r.level, has: has ?? null });
    }
  }
  for (const kind of vettingKinds) {
    if (!p.requiredVetting.includes(kind)) continue;
    const validUntil = e.vettingValidUntil.get(kind);
    if (validUntil === undefined || validUntil < p.plannedEnd) {
      why.push({ rule: "vetting", kind, validUntil: validUntil ?? null, neededUntil: p.plannedEnd });
    }
  }
  const { spare, awayDays } = spareFor(e, p);
  if (!(p.weeklyHours <= spare)) {
    why.push({ rule: "capacity", spareHours: spare, neededHours: p.weeklyHours, ...(awayDays ? { awayDays } : {}) });
  }
  if (tooLarge(e, p)) {
    why.push({ rule: "size", estimateHours: p.estimateHours as number, largestHours: e.largestPackageHours as number });
  }
  return why;
}

/** Whether the package is bigger than the largest the engineer wants. */
const tooLarge = (e: MatchEngineer, p: MatchPackage) =>
  e.largestPackageHours != null && p.estimateHours !== undefined && p.estimateHours > e.largestPackageHours;

/** Whether the engineer belongs to one of the offices. */
const inOffices = (e: MatchEngineer, offices: MatchOffices) => !!e.office && offices.ids.has(e.office.id);

const hours = (h: number) => `${Math.round(h * 100) / 100} h`;

/** A short English sentence for one reason, e.g. `java level 2, needs 4` or `no nda on record`. */
export const describeIneligibility = (i: Ineligibility): string => english(ineligibilityText(i));

/** One reason an engineer is not eligible, as a catalogue message (vetting kinds keep their codes in English). */
export function ineligibilityText(i: Ineligibility): Text {
  switch (i.rule) {
    case "office":
      return i.office === null
        ? text("match.noOffice", { allowed: i.allowed })
        : text("match.office", { office: i.office, allowed: i.allowed });
    case "skill":
      return i.has === null
        ? text("match.skillMissing", { skill: i.skill, required: i.required })
        : text("match.skillLow", { skill: i.skill, has: i.has, required: i.required });
    case "vetting": {
      const kind = codeOf("vetting", i.kind);
      return i.validUntil === null
        ? text("match.vettingMissing", { kind })
        : text("match.vettingShort", { kind, validUntil: i.validUntil, neededUntil: i.neededUntil });
    }
    case "capacity":
      if (i.awayDays) {
        return text("match.capacityAway", {
          spare: hours(i.spareHours),
          needed: hours(i.neededHours),
          days: i.awayDays,
        });
      }
      return i.spareHours < 0
        ? text("match.overCapacity", { over: hours(-i.spareHours), needed: hours(i.neededHours) })
        : text("match.capacity", { spare: hours(i.spareHours), needed: hours(i.neededHours) });
    case "size":
      return text("match.size", { largest: hours(i.largestHours), size: hours(i.estimateHours) });
  }
}

/** An eligible engineer for a package, with the score and the figures it is made of. */
export interface Suggestion {
  engineerId: string;
  name: string;
  /** Higher is better; `scoreOf(reasons)`. */
  score: number;
  reasons: {
    /** The engineer belongs to an office the contract prefers (ranked above everyone else). */
    preferredOffice: boolean;
    /** Sum over required skills of (has − required), ≥ 0. */
    skillMargin: number;
    /** Capacity left in the week after taking this package. */
    spareHoursAfter: number;
    /** WBS ids (or ids) of upstream packages this engineer worked on, in WBS order. */
    continuity: string[];
  };
  /**
   * How the package fits the engineer's week: the hours a week it needs of the hours they have free for it (their
   * capacity over the package's span, as eligibility counts it, less what current assignments take), whether that
   * capacity comes from their stated windows, and how many of their days away fall in the span.
   */
  fit: { neededHours: number; availableHours: number; fromWindows: boolean; awayDays: number };
}

// score = 10^10 × preferredOffice + 10,000 × continuity.length + 100 × min(skillMargin, 99) + min(spareHoursAfter, 99)
//
// The terms are tiers: the spare-hours term stays below 100 and the margin term below 10,000, so one upstream
// package worked on outranks any skill margin, and one level of margin outranks any spare capacity. The caps only
// matter past 99 levels of margin or 99 spare hours a week; both already mean "plenty". An office the contract
// prefers outranks everything else (continuity would need a million upstream packages to reach it).
const PREFERRED_WEIGHT = 10_000_000_000;
const CONTINUITY_WEIGHT = 10_000;
const MARGIN_WEIGHT = 100;
const TERM_CAP = 99;

const score = (preferred: boolean, continuity: number, skillMargin: number, spareHoursAfter: number) =>
  (preferred ? PREFERRED_WEIGHT : 0) +
  CONTINUITY_WEIGHT * continuity +
  MARGIN_WEIGHT * Math.min(skillMargin, TERM_CAP) +
  Math.min(spareHoursAfter, TERM_CAP);

/** The score a suggestion's reasons add up to (see the formula above `score` in this file). */
export function scoreOf(reasons: Suggestion["reasons"]): number {
  return score(reasons.preferredOffice, reasons.continuity.length, reasons.skillMargin, reasons.spareHoursAfter);
}

const nameOrder = new Intl.Collator("en");

/** How many suggestions a `limit` asks for, out of `available`: a whole number, none for a limit below 1. */
const shortlistSize = (limit: number, available: number) => (limit >= 1 ? Math.min(Math.floor(limit), available) : 0);

/** Name, then id: the order of engineers whose scores tie. */
const byNameThenId = (a: { name: string; id: string }, b: { name: string; id: string }) =>
  nameOrder.compare(a.name, b.name) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** The suggestion for an engineer already known to be eligible. suggestMany ranks with the same arithmetic. */
function suggestionFor(e: MatchEngineer, p: MatchPackage): Suggestion {
  let skillMargin = 0;
  for (const r of p.requiredSkills) skillMargin += (e.skills.get(r.skill) as number) - r.level;
  const { spare, awayDays } = spareFor(e, p);
  const spareHoursAfter = spare - p.weeklyHours;
  const continuity: string[] = [];
  const [small, large] = e.history.size < p.upstream.size ? [e.history, p.upstream] : [p.upstream, e.history];
  for (const id of small) if (large.has(id)) continuity.push(p.upstreamLabels?.get(id) ?? id);
  continuity.sort(compareWbs);
  const preferredOffice = p.offices?.mode === "preferred" && inOffices(e, p.offices);
  return {
    engineerId: e.id,
    name: e.name,
    score: score(preferredOffice, continuity.length, skillMargin, spareHoursAfter),
    reasons: { preferredOffice, skillMargin, spareHoursAfter, continuity },
    fit: {
      neededHours: p.weeklyHours,
      availableHours: Math.round(spare * 100) / 100,
      fromWindows: e.availability !== undefined,
      awayDays,
    },
  };
}

/**
 * Eligible engineers for one package, best first (all of them, or the top `limit`), and every ineligible one with
 * all its reasons. Both lists break ties by name, then id.
 */
export function suggest(
  p: MatchPackage,
  engineers: readonly MatchEngineer[],
  { limit = Number.POSITIVE_INFINITY }: { limit?: number } = {},
): { ranked: Suggestion[]; ineligible: { engineerId: string; name: string; why: Ineligibility[] }[] } {
  const eligible: { e: MatchEngineer; s: Suggestion }[] = [];
  const ineligible: { e: MatchEngineer; why: Ineligibility[] }[] = [];
  for (const e of engineers) {
    const why = ineligibilities(e, p);
    if (why.length) ineligible.push({ e, why });
    else eligible.push({ e, s: suggestionFor(e, p) });
  }
  eligible.sort((a, b) => b.s.score - a.s.score || byNameThenId(a.e, b.e));
  ineligible.sort((a, b) => byNameThenId(a.e, b.e));
  return {
    ranked: eligible.slice(0, shortlistSize(limit, eligible.length)).map((x) => x.s),
    ineligible: ineligible.map(({ e, why }) => ({ engineerId: e.id, name: e.name, why })),
  };
}

/** A bounded best-k of (score, rank) pairs; lower rank wins a tied score. A heap with the worst kept on top. */
class TopK {
  readonly scores: Float64Array;
  readonly ranks: Int32Array;
  size = 0;

  constructor(readonly capacity: number) {
    this.scores = new Float64Array(capacity);
    this.ranks = new Int32Array(capacity);
  }

  /** Whether entry a ranks below entry b. */
  private worse(a: number, b: number): boolean {
    const sa = this.scores[a] as number;
    const sb = this.scores[b] as number;
    return sa < sb || (sa === sb && (this.ranks[a] as number) > (this.ranks[b] as number));
  }

  private swap(a: number, b: number): void {
    const s = this.scores[a] as number;
    this.scores[a] = this.scores[b] as number;
    this.scores[b] = s;
    const r = this.ranks[a] as number;
    this.ranks[a] = this.ranks[b] as number;
    this.ranks[b] = r;
  }

  offer(score: number, rank: number): void {
    if (this.size < this.capacity) {
      let i = this.size++;
      this.scores[i] = score;
      this.ranks[i] = rank;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!this.worse(i, parent)) break;
        this.swap(i, parent);
        i = parent;
      }
      return;
    }
    if (this.capacity === 0) return;
    const worstScore = this.scores[0] as number;
    if (score < worstScore || (score === worstScore && rank > (this.ranks[0] as number))) return;
    this.scores[0] = score;
    this.ranks[0] = rank;
    this.siftDown();
  }

  /** Moves the root down until both children rank above it. */
  private siftDown(): void {
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= this.size) break;
      const r = l + 1;
      const w = r < this.size && this.worse(r, l) ? r : l;
      if (!this.worse(w, i)) break;
      this.swap(w, i);
      i = w;
    }
  }

  /** The ranks held, best first; empties the heap. */
  drain(): number[] {
    const out = new Array<number>(this.size);
    while (this.size > 0) {
      out[this.size - 1] = this.ranks[0] as number;
      this.size--;
      if (this.size > 0) {
        this.scores[0] = this.scores[this.size] as number;
        this.ranks[0] = this.ranks[this.size] as number;
        this.siftDown();
      }
    }
    return out;
  }
}

/** Engineers holding one skill, by level descending, for cutting a package's candidates to those who qualify. */
interface SkillIndex {
  /** Level per engineer index; NaN where the engineer lacks the skill. */
  levels: Float64Array;
  /** Indices of the engineers who have the skill, highest level first. */
  holders: Int32Array;
  /** Their levels, in the same order. */
  holderLevels: Float64Array;
}

/** How many leading holders reach `level` (holderLevels is descending). */
function qualifiedCount(index: SkillIndex, level: number): number {
  let lo = 0;
  let hi = index.holders.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((index.holderLevels[mid] as number) >= level) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const vettingMask = (kinds: readonly VettingKind[]) => {
  let mask = 0;
  for (let k = 0; k < vettingKinds.length; k++) if (kinds.includes(vettingKinds[k] as VettingKind)) mask |= 1 << k;
  return mask;
};

/**
 * The top `limit` (default 5) suggestions for many packages at once, for planning a whole contract: for every
 * package, exactly `suggest(p, engineers, { limit }).ranked`, without working out why the others are ineligible.
 * Engineers are indexed once (by skill and level, by earliest vetting expiry per required set); each package then
 * visits only the holders of its most selective skill and keeps a bounded heap.
 */
export function suggestMany(
  packages: readonly MatchPackage[],
  engineers: readonly MatchEngineer[],
  { limit = 5 }: { limit?: number } = {},
): Map<string, Suggestion[]> {
  const result = new Map<string, Suggestion[]>();
  const m = engineers.length;
  const k = shortlistSize(limit, m);

  // Tie order: the rank of each engineer by name then id (a stable sort, as suggest's is).
  const byRank = Array.from({ length: m }, (_, i) => i).sort((a, b) =>
    byNameThenId(engineers[a] as MatchEngineer, engineers[b] as MatchEngineer),
  );
  const rankOf = new Int32Array(m);
  for (let r = 0; r < m; r++) rankOf[byRank[r] as number] = r;

  const spare = new Float64Array(m);
  // Engineers with days away: their spare hours depend on each package's span, and are worked out for a package
  // only when the engineer is one of its candidates.
  const away: ({ from: number; to: number }[] | null)[] = new Array(m).fill(null);
  for (let i = 0; i < m; i++) {
    const e = engineers[i] as MatchEngineer;
    spare[i] = e.weeklyCapacityHours - e.committedWeeklyHours;
    if (e.availability?.away.length) away[i] = rangesOf(e.availability.away);
  }
  const officeOf = engineers.map((e) => e.office?.id ?? null);
  const limited = engineers.map((e) => e.largestPackageHours != null);

  // Skills some package asks for, indexed by level.
  const skillIndex = new Map<string, SkillIndex>();
  for (const p of packages) {
    for (const r of p.requiredSkills) {
      if (!skillIndex.has(r.skill)) {
        skillIndex.set(r.skill, {
          levels: new Float64Array(m).fill(Number.NaN),
          holders: new Int32Array(0),
          holderLevels: new Float64Array(0),
        });
      }
    }
  }
  const holders = new Map<string, number[]>();
  for (let i = 0; i < m; i++) {
    for (const [skill, level] of (engineers[i] as MatchEngineer).skills) {
      const index = skillIndex.get(skill);
      if (!index) continue;
      index.levels[i] = level;
      const list = holders.get(skill);
      if (list) list.push(i);
      else holders.set(skill, [i]);
    }
  }
  for (const [skill, list] of holders) {
    const index = skillIndex.get(skill) as SkillIndex;
    // NaN levels sort last: they never reach a required level, and the binary search needs them out of the prefix.
    const level = (i: number) => {
      const l = index.levels[i] as number;
      return Number.isNaN(l) ? Number.NEGATIVE_INFINITY : l;
    };
    list.sort((a, b) => level(b) - level(a) || a - b);
    index.holders = Int32Array.from(list);
    index.holderLevels = Float64Array.from(list, (i) => index.levels[i] as number);
  }

  // Dates as ranks in their string order, so that vetting checks compare integers exactly as ineligibilities
  // compares strings. A missing record ranks -1: below every planned end.
  const dates = new Set<string>();
  for (const p of packages) dates.add(p.plannedEnd);
  for (const e of engineers) for (const d of e.vettingValidUntil.values()) dates.add(d);
  const dateRank = new Map([...dates].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map((d, r) => [d, r]));
  const kindRank = vettingKinds.map((kind) => {
    const ranks = new Int32Array(m);
    for (let i = 0; i < m; i++) {
      const d = (engineers[i] as MatchEngineer).vettingValidUntil.get(kind);
      ranks[i] = d === undefined ? -1 : (dateRank.get(d) as number);
    }
    return ranks;
  });
  // Per required set of kinds: each engineer's earliest expiry among them.
  const validUntilByMask = new Map<number, Int32Array>();
  for (const p of packages) {
    const mask = vettingMask(p.requiredVetting);
    if (validUntilByMask.has(mask)) continue;
    const earliest = new Int32Array(m).fill(0x7fffffff);
    for (let kind = 0; kind < vettingKinds.length; kind++) {
      if (!(mask & (1 << kind))) continue;
      const ranks = kindRank[kind] as Int32Array;
      for (let i = 0; i < m; i++) earliest[i] = Math.min(earliest[i] as number, ranks[i] as number);
    }
    validUntilByMask.set(mask, earliest);
  }

  // Who worked on which package, so that continuity is counted from the package's side.
  const workedOn = new Map<string, number[]>();
  for (let i = 0; i < m; i++) {
    for (const id of (engineers[i] as MatchEngineer).history) {
      const list = workedOn.get(id);
      if (list) list.push(i);
      else workedOn.set(id, [i]);
    }
  }

  const continuity = new Int32Array(m);
  const top = new TopK(k);
  for (const p of packages) {
    if (k === 0) {
      result.set(p.id, []);
      continue;
    }
    const n = p.requiredSkills.length;
    const required = new Float64Array(n);
    const levels: Float64Array[] = [];
    let pivot: SkillIndex | undefined;
    let candidates = m;
    for (let s = 0; s < n; s++) {
      const r = p.requiredSkills[s] as { skill: string; level: number };
      const index = skillIndex.get(r.skill) as SkillIndex;
      required[s] = r.level;
      levels.push(index.levels);
      const count = qualifiedCount(index, r.level);
      if (!pivot || count < candidates) {
        pivot = index;
        candidates = count;
      }
    }
    const validUntil = validUntilByMask.get(vettingMask(p.requiredVetting)) as Int32Array;
    const neededUntil = dateRank.get(p.plannedEnd) as number;
    const weekly = p.weeklyHours;
    // The span days away are counted over, as capacityFor takes it; none without a start.
    const spanned = p.plannedStart !== undefined && p.plannedStart <= p.plannedEnd;
    const first = spanned ? dayNumber(p.plannedStart as string) : 0;
    const last = spanned ? dayNumber(p.plannedEnd) : 0;
    const offices = p.offices;

    for (const id of p.upstream) for (const i of workedOn.get(id) ?? []) continuity[i] = (continuity[i] as number) + 1;

    for (let c = 0; c < candidates; c++) {
      const i = pivot ? (pivot.holders[c] as number) : c;
      let spareHours = spare[i] as number;
      if ((!away[i] && !(weekly <= spareHours)) || (validUntil[i] as number) < neededUntil) continue;
      let margin = 0;
      let s = 0;
      for (; s < n; s++) {
        const has = (levels[s] as Float64Array)[i] as number;
        const need = required[s] as number;
        if (!(has >= need)) break;
        margin += has - need;
      }
      if (s < n) continue;
      const ranges = away[i];
      if (ranges && spanned) {
        const e = engineers[i] as MatchEngineer;
        const availability = e.availability as NonNullable<MatchEngineer["availability"]>;
        spareHours = capacityOver(e, availability, ranges, first, last).hours - e.committedWeeklyHours;
      }
      if (!(weekly <= spareHours)) continue;
      if (limited[i] && tooLarge(engineers[i] as MatchEngineer, p)) continue;
      let preferred = false;
      if (offices) {
        const office = officeOf[i];
        const member = office != null && offices.ids.has(office);
        if (offices.mode === "required" && !member) continue;
        preferred = offices.mode === "preferred" && member;
      }
      top.offer(score(preferred, continuity[i] as number, margin, spareHours - weekly), rankOf[i] as number);
    }

    for (const id of p.upstream) for (const i of workedOn.get(id) ?? []) continuity[i] = 0;
    result.set(
      p.id,
      top.drain().map((rank) => suggestionFor(engineers[byRank[rank] as number] as MatchEngineer, p)),
    );
  }
  return result;
}
