// Wall-clock times in any IANA zone turned into instants, and instants cut into Tokyo days and
// Monday–Sunday weeks, with nothing but Intl (Asia/Tokyo has no daylight saving: +09:00 all year).
import { invalidField } from "../../kernel/errors.ts";
import { text } from "../../kernel/messages.ts";

const MINUTE = 60_000;
const DAY = 86_400_000;
const TOKYO_OFFSET = 9 * 3_600_000;

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** True when `timeZone` is an IANA zone this runtime knows (`Asia/Tokyo`, `Europe/Berlin`, `UTC`). */
export function isTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** The zone's offset from UTC at `instant`, in milliseconds. */
export function offsetAt(instant: number, timeZone: string): number {
  const parts = Object.fromEntries(
    formatter(timeZone)
      .formatToParts(new Date(instant))
      .map((p) => [p.type, p.value]),
  );
  const asUtc = Date.UTC(
    Number(parts.year),
    Number(parts.month) - 1,
    Number(parts.day),
    Number(parts.hour),
    Number(parts.minute),
    Number(parts.second),
  );
  return asUtc - Math.floor(instant / 1000) * 1000;
}

const LOCAL = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/;
const WITH_OFFSET = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-](\d{2}):(\d{2}))$/;

/** True when the parts name a real calendar date and clock time (no 13th month, 30 February or 10:60). */
function realDateTime(m: RegExpExecArray): boolean {
  const [y, mo, d, h, mi, se] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || se > 59) return false;
  return d <= new Date(Date.UTC(y, mo, 0)).getUTCDate();
}

/**
 * The instant of `given`: an ISO time with an offset (`2026-11-22T23:00+09:00`) is taken as it is;
 * a wall time without one (`2026-11-22T23:00`) is read in `timeZone`. A wall time that the zone
 * skips (spring forward) is refused; one it repeats (fall back) is the earlier of the two.
 */
export function toInstant(given: string, timeZone: string, field: string): Date {
  const offset = WITH_OFFSET.exec(given);
  if (offset) {
    if (!realDateTime(offset)) throw invalidField(field, text("time.notDateTime"));
    if (offset[9] !== undefined && (Number(offset[9]) > 14 || Number(offset[10]) > 59))
      throw invalidField(field, text("time.badOffset"));
    const t = Date.parse(given);
    if (Number.isNaN(t)) throw invalidField(field, text("time.notTime"));
    return new Date(t);
  }
  const m = LOCAL.exec(given);
  if (!m) throw invalidField(field, text("time.format"));
  if (!realDateTime(m)) throw invalidField(field, text("time.notDate"));
  const wall = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0));
  // Two passes settle the offset for any zone; the earlier candidate wins where a wall time repeats.
  const candidates = new Set<number>();
  for (const probe of [wall - DAY / 2, wall, wall + DAY / 2]) {
    const first = wall - offsetAt(probe, timeZone);
    candidates.add(wall - offsetAt(first, timeZone));
  }
  const valid = [...candidates].filter((t) => t + offsetAt(t, timeZone) === wall).sort((a, b) => a - b);
  if (valid[0] === undefined) throw invalidField(field, text("time.skipped", { given, zone: timeZone }));
  return new Date(valid[0]);
}

/** The Tokyo date of an instant, YYYY-MM-DD. */
export const tokyoDay = (instant: number): string => new Date(instant + TOKYO_OFFSET).toISOString().slice(0, 10);

/** The instant a Tokyo date starts. */
export const tokyoMidnight = (day: string): number => Date.parse(`${day}T00:00:00Z`) - TOKYO_OFFSET;

/** `day` moved by `n` calendar days. */
export const addDays = (day: string, n: number): string =>
  new Date(Date.parse(`${day}T00:00:00Z`) + n * DAY).toISOString().slice(0, 10);

/** The Monday of the Monday–Sunday week that holds `day`. */
export function weekOf(day: string): string {
  const weekday = new Date(`${day}T00:00:00Z`).getUTCDay(); // 0 = Sunday
  return addDays(day, -((weekday + 6) % 7));
}

/** True for a YYYY-MM-DD that is a Monday. */
export const isMonday = (day: string): boolean => new Date(`${day}T00:00:00Z`).getUTCDay() === 1;

/** The first and the day after the last of a YYYY-MM month. */
export function monthRange(month: string): { from: string; to: string } {
  const [y, m] = month.split("-").map(Number) as [number, number];
  const next = m === 12 ? `${y + 1}-01` : `${y}-${String(m + 1).padStart(2, "0")}`;
  return { from: `${month}-01`, to: `${next}-01` };
}

/** One Tokyo day's share of an entry. */
export interface DayPart {
  day: string;
  week: string;
  from: number;
  to: number;
  minutes: number;
}

/** Cuts [start, end) at every Tokyo midnight: an entry across Sunday midnight lands in two weeks. */
export function splitByTokyoDay(start: number, end: number): DayPart[] {
  const parts: DayPart[] = [];
  let from = start;
  while (from < end) {
    const day = tokyoDay(from);
    const to = Math.min(end, tokyoMidnight(addDays(day, 1)));
    parts.push({ day, week: weekOf(day), from, to, minutes: (to - from) / MINUTE });
    from = to;
  }
  return parts;
}

/** The rounding rules a contract may name: `none`, or a step of minutes rounded to nearest, up or down. */
export const ROUNDING = /^(none|(1|5|6|10|15|30|60)min-(nearest|up|down))$/;

/** `minutes` rounded by `rule`; the raw figure is kept apart by the caller. */
export function roundMinutes(minutes: number, rule: string): number {
  const m = ROUNDING.exec(rule);
  if (!m || rule === "none") return minutes;
  const step = Number(m[2]);
  const q = minutes / step;
  // A hair of floating-point error must not push 15.000000001 steps up to 16.
  const fuzz = 1e-9;
  const n = m[3] === "up" ? Math.ceil(q - fuzz) : m[3] === "down" ? Math.floor(q + fuzz) : Math.round(q);
  return n * step;
}
