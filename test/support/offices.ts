// An office's details as a test creates one: in Nagano, in Tokyo's time zone, named after its town.

/** The body of `POST /api/v1/offices` for an office called `name` in `town`. */
export const officeInput = (name: string, town: string) => ({
  name,
  prefecture: "長野県",
  town,
  address: `${town}中央1-1-1`,
  timeZone: "Asia/Tokyo",
  contact: "office@example.jp",
  description: `${town}のサテライトオフィスです。`,
});
