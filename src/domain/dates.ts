// Calendar days as Azusa's users live them: in Asia/Tokyo, whatever the server's clock zone.

const tokyo = new Intl.DateTimeFormat("en-CA", {
  timeZone: "Asia/Tokyo",
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
});

/** The date in Tokyo at `now`, as YYYY-MM-DD (a vetting record's last valid day ends at midnight in Tokyo). */
export function tokyoDate(now: Date): string {
  return tokyo.format(now);
}
