// CSV for the exports people open in Excel: settlements, the programme report, a task's accepted results.

/** Text Excel would read as a formula (CSV injection): `=`, `+`, `-`, `@`, tab or carriage return first. */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * CSV that Excel opens as Japanese text: UTF-8 with a BOM, CRLF, quoted where needed. Text cells that
 * would start a formula get a leading apostrophe (names, notes and titles are typed by people); numbers
 * are written as they are.
 */
export function toCsv(rows: readonly (readonly (string | number | null)[])[]): string {
  const cell = (v: string | number | null) => {
    const s = v == null ? "" : typeof v === "string" && FORMULA_START.test(v) ? `'${v}` : String(v);
    return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  return `\uFEFF${rows.map((r) => r.map(cell).join(",")).join("\r\n")}\r\n`;
}
