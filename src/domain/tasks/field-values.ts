// The values a task item's fields hold, read as people key them (full-width digits, hyphens,
// 円 and ¥, the Japanese eras) and checked as the government publishes the numbers' check digits.

/** The kinds of field a task batch's schema may declare. */
export const taskFieldTypes = [
  "text",
  "date",
  "yen",
  "choice",
  "individual_number",
  "corporate_number",
  "invoice_number",
] as const;

/** One kind of field in a task batch's schema. */
export type TaskFieldType = (typeof taskFieldTypes)[number];

/** Why a keyed value was refused; stable codes the entry form and the API both show. */
export type FieldRefusal =
  | "required"
  | "format"
  | "check_digit"
  | "out_of_range"
  | "no_such_date"
  | "not_a_choice"
  | "too_long";

/** A keyed value after reading: the canonical form to store, or why it was refused. */
export type FieldReading = { ok: true; value: string } | { ok: false; refusal: FieldRefusal };

// Hyphens, dashes and the long-vowel mark an IME offers where a hyphen was meant, and spaces:
// all separators people put inside a number, none of them part of it.
const separators = /[\s\-‐‑‒–—―−ー－]/gu;

/** Full-width letters and digits made half-width (NFKC), surrounding spaces removed. */
export function normalizeWidth(raw: string): string {
  return raw.normalize("NFKC").trim();
}

/** The digits of a keyed number with its separators removed; anything else is left for the caller to refuse. */
export function numberDigits(raw: string): string {
  return normalizeWidth(raw).replace(separators, "");
}

function digitsOf(value: string): number[] {
  return [...value].map(Number);
}

/**
 * The check digit (検査用数字) of an individual number (個人番号) from its first 11 digits, per
 * 総務省令第八十五号 第五条: with Pn the n-th digit counted from the lowest and Qn = n + 1 for
 * n ≤ 6, n − 5 for 7 ≤ n ≤ 11, it is 11 − (ΣPn×Qn mod 11), or 0 when that remainder is 0 or 1.
 */
export function individualNumberCheckDigit(base: string): number {
  if (!/^\d{11}$/.test(base)) throw new RangeError("an individual number's base is 11 digits");
  const digits = digitsOf(base);
  let sum = 0;
  for (let n = 1; n <= 11; n++) sum += (digits[11 - n] as number) * (n <= 6 ? n + 1 : n - 5);
  const remainder = sum % 11;
  return remainder <= 1 ? 0 : 11 - remainder;
}

/**
 * The check digit of a corporate number (法人番号), its leading digit, from the 12-digit base
 * number, per 財務省令第七十号 第二条: with Pn the n-th digit counted from the lowest and Qn = 1
 * for odd n, 2 for even n, it is 9 − (ΣPn×Qn mod 9), always 1 to 9.
 */
export function corporateNumberCheckDigit(base: string): number {
  if (!/^\d{12}$/.test(base)) throw new RangeError("a corporate number's base is 12 digits");
  const digits = digitsOf(base);
  let sum = 0;
  for (let n = 1; n <= 12; n++) sum += (digits[12 - n] as number) * (n % 2 === 1 ? 1 : 2);
  return 9 - (sum % 9);
}

/** Reads an individual number: 12 digits whose last is the check digit of the first 11. */
export function readIndividualNumber(raw: string): FieldReading {
  const digits = numberDigits(raw);
  if (!/^\d{12}$/.test(digits)) return { ok: false, refusal: "format" };
  if (individualNumberCheckDigit(digits.slice(0, 11)) !== Number(digits[11])) {
    return { ok: false, refusal: "check_digit" };
  }
  return { ok: true, value: digits };
}

/** Reads a corporate number: 13 digits whose first is the check digit of the other 12. */
export function readCorporateNumber(raw: string): FieldReading {
  const digits = numberDigits(raw);
  if (!/^\d{13}$/.test(digits)) return { ok: false, refusal: "format" };
  if (corporateNumberCheckDigit(digits.slice(1)) !== Number(digits[0])) {
    return { ok: false, refusal: "check_digit" };
  }
  return { ok: true, value: digits };
}

/**
 * Reads a qualified-invoice issuer's registration number (適格請求書発行事業者の登録番号): "T" and
 * 13 digits. For a business with a corporate number the 13 digits are that number; for others
 * (individual businesses, unincorporated associations) the National Tax Agency assigns 13 digits
 * that are neither an individual number nor any corporate number, and publishes no check digit
 * for them. So the form is checked always; the check digit only when `corporateOnly` says the
 * batch expects corporations. A value is stored as "T" and the 13 digits.
 */
export function readInvoiceNumber(
  raw: string,
  { corporateOnly = false }: { corporateOnly?: boolean } = {},
): FieldReading {
  const compact = numberDigits(raw).toUpperCase();
  if (!/^T\d{13}$/.test(compact)) return { ok: false, refusal: "format" };
  const digits = compact.slice(1);
  if (corporateOnly && !readCorporateNumber(digits).ok) return { ok: false, refusal: "check_digit" };
  return { ok: true, value: compact };
}

/** The largest amount a yen field takes: well inside what every database and JSON reader hold exactly. */
export const maxYen = 999_999_999_999;

/**
 * Reads an amount in yen: whole yen, with or without ¥/￥/円, thousands commas, and a minus, "▲" or
 * "△" (the accounting marks for a negative). Stored as the integer's decimal form ("-1200").
 */
export function readYen(raw: string): FieldReading {
  let text = normalizeWidth(raw).replace(/\s/gu, "");
  let negative = false;
  if (/^[-−▲△]/u.test(text)) {
    negative = true;
    text = text.slice(1);
  }
  text = text
    .replace(/^[¥\\]/u, "")
    .replace(/円$/u, "")
    .replace(/\.?-$/u, "");
  if (!/^(\d{1,3}(,\d{3})+|\d+)$/.test(text)) return { ok: false, refusal: "format" };
  const amount = Number(text.replaceAll(",", ""));
  if (amount > maxYen) return { ok: false, refusal: "out_of_range" };
  return { ok: true, value: String(negative && amount !== 0 ? -amount : amount) };
}

/** The Japanese eras a document of today's working life may carry, with their first day. */
const eras = [
  { names: ["令和", "R"], first: "2019-05-01" },
  { names: ["平成", "H"], first: "1989-01-08" },
  { names: ["昭和", "S"], first: "1926-12-25" },
] as const;

function isoDate(year: number, month: number, day: number): string | undefined {
  if (month < 1 || month > 12 || day < 1 || day > 31) return undefined;
  const date = new Date(Date.UTC(year, month - 1, day));
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) {
    return undefined;
  }
  return `${String(year).padStart(4, "0")}-${String(month).padStart(2, "0")}-${String(day).padStart(2, "0")}`;
}

/**
 * Reads a calendar date as written on Japanese documents: 2024-05-01, 2024/5/1, 2024.5.1,
 * 2024年5月1日, and the eras 令和6年5月1日, 令和元年, R6.5.1, H31/4/30. An era date must fall
 * inside its era. Stored as YYYY-MM-DD.
 */
export function readDate(raw: string): FieldReading {
  const text = normalizeWidth(raw).replace(/\s/gu, "");
  const western = /^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$/u.exec(text);
  if (western) {
    const value = isoDate(Number(western[1]), Number(western[2]), Number(western[3]));
    return value ? { ok: true, value } : { ok: false, refusal: "no_such_date" };
  }
  const japanese = /^(令和|平成|昭和|[RHS])(元|\d{1,2})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$/iu.exec(text);
  if (!japanese) return { ok: false, refusal: "format" };
  const eraName = (japanese[1] as string).toUpperCase();
  const eraIndex = eras.findIndex((era) => (era.names as readonly string[]).includes(eraName));
  const era = eras[eraIndex];
  if (!era) return { ok: false, refusal: "format" };
  const eraYear = japanese[2] === "元" ? 1 : Number(japanese[2]);
  if (eraYear < 1) return { ok: false, refusal: "no_such_date" };
  const value = isoDate(Number(era.first.slice(0, 4)) + eraYear - 1, Number(japanese[3]), Number(japanese[4]));
  if (!value) return { ok: false, refusal: "no_such_date" };
  // A date before its era began, or after the next one began, names no day anyone wrote.
  const next = eras[eraIndex - 1];
  if (value < era.first || (next && value >= next.first)) return { ok: false, refusal: "out_of_range" };
  return { ok: true, value };
}

/** One field of a task batch's schema. */
export interface TaskField {
  /** The name the CSV header and the export use. */
  name: string;
  type: TaskFieldType;
  required: boolean;
  /** The accepted values of a `choice` field, as shown. */
  choices?: string[];
  /** For an `invoice_number` field: also require the check digit of a corporate number. */
  corporateOnly?: boolean;
}

/** The longest a text field's value may be, in characters. */
export const maxTextLength = 2000;

/**
 * Reads a keyed value for a field of the schema. An empty value is `required` when the field is,
 * and otherwise the empty string (nothing keyed).
 */
export function readFieldValue(field: TaskField, raw: string): FieldReading {
  if (normalizeWidth(raw) === "") return field.required ? { ok: false, refusal: "required" } : { ok: true, value: "" };
  switch (field.type) {
    case "text": {
      const value = raw.trim();
      return [...value].length > maxTextLength ? { ok: false, refusal: "too_long" } : { ok: true, value };
    }
    case "date":
      return readDate(raw);
    case "yen":
      return readYen(raw);
    case "choice": {
      const keyed = normalizeWidth(raw);
      const match = field.choices?.find((choice) => normalizeWidth(choice) === keyed);
      return match === undefined ? { ok: false, refusal: "not_a_choice" } : { ok: true, value: match };
    }
    case "individual_number":
      return readIndividualNumber(raw);
    case "corporate_number":
      return readCorporateNumber(raw);
    case "invoice_number":
      return readInvoiceNumber(raw, { corporateOnly: field.corporateOnly ?? false });
  }
}
