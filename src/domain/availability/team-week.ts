// A week of a contract's assigned engineers' stated windows, laid on the lead's calendar: each window is placed
// on the real dates of that week in the engineer's zone, then cut into the lead's days in the lead's zone. It
// shows when people usually work, for planning reviews and hand-overs; it controls nothing.
import { addDays, offsetAt } from "../timesheets/time.ts";

const MINUTE = 60_000;
const DAY = 86_400_000;

/** One engineer's statement as the week view needs it: windows by ISO weekday (1 Monday) in minutes, days away. */
export interface StatedWeek {
  timeZone: string;
  windows: readonly { weekday: number; start: number; end: number }[];
  away: readonly { from: string; to: string }[];
}

/** One of the lead's days: the date, whether the engineer is away for some of it, and the windows in it. */
export interface WeekDay {
  date: string;
  away: boolean;
  /** Minutes from the lead's local midnight, end exclusive (1440 at most). */
  windows: { start: number; end: number }[];
}

/** The instant a wall-clock minute of `day` falls at in `timeZone` (a skipped minute moves on by the gap). */
function instantOf(day: string, minute: number, timeZone: string): number {
  const wall = Date.parse(`${day}T00:00:00Z`) + minute * MINUTE;
  return wall - offsetAt(wall - offsetAt(wall, timeZone), timeZone);
}

/** ISO weekday (1 Monday … 7 Sunday) of a date. */
const isoWeekday = (day: string) => ((new Date(`${day}T00:00:00Z`).getUTCDay() + 6) % 7) + 1;

/**
 * The stated windows of one engineer on the seven days from `monday` (a date in `zone`), in `zone`'s minutes.
 * A window on a day the engineer declared away is left out, and the lead's days it touches are marked away.
 */
export function weekIn(stated: StatedWeek, monday: string, zone: string): WeekDay[] {
  const dayStarts = Array.from({ length: 8 }, (_, i) => instantOf(addDays(monday, i), 0, zone));
  const days: WeekDay[] = dayStarts.slice(0, 7).map((_, i) => ({ date: addDays(monday, i), away: false, windows: [] }));
  const isAway = (day: string) => stated.away.some((a) => a.from <= day && day <= a.to);
  // The engineer's own dates that can reach into the lead's week, whatever the two zones' offsets.
  for (let k = -2; k <= 8; k++) {
    const local = addDays(monday, k);
    const away = isAway(local);
    const spans = away
      ? [{ start: instantOf(local, 0, stated.timeZone), end: instantOf(addDays(local, 1), 0, stated.timeZone) }]
      : stated.windows
          .filter((w) => w.weekday === isoWeekday(local))
          .map((w) => ({
            start: instantOf(local, w.start, stated.timeZone),
            end: instantOf(local, w.end, stated.timeZone),
          }));
    for (const span of spans) {
      for (let i = 0; i < 7; i++) {
        const from = Math.max(span.start, dayStarts[i] as number);
        const to = Math.min(span.end, dayStarts[i + 1] as number);
        if (from >= to) continue;
        const day = days[i] as WeekDay;
        if (away) day.away = true;
        else {
          const start = Math.round((from - (dayStarts[i] as number)) / MINUTE);
          day.windows.push({ start, end: Math.min(start + Math.round((to - from) / MINUTE), DAY / MINUTE) });
        }
      }
    }
  }
  for (const day of days) day.windows.sort((a, b) => a.start - b.start);
  return days;
}
