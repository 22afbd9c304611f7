import { describe, expect, it } from "vitest";
import {
  corporateNumberCheckDigit,
  individualNumberCheckDigit,
  readCorporateNumber,
  readDate,
  readFieldValue,
  readIndividualNumber,
  readInvoiceNumber,
  readYen,
  type TaskField,
} from "./field-values.ts";

// Every number here is generated from an arbitrary base by the published formula; none is anyone's.

/** Deterministic pseudo-random digit strings, so a failure names the same numbers every run. */
function* bases(length: number, count: number): Generator<string> {
  let state = 20240501;
  for (let i = 0; i < count; i++) {
    let digits = "";
    for (let d = 0; d < length; d++) {
      state = (state * 1103515245 + 12345) % 2147483648;
      digits += String(Math.floor((state / 2147483648) * 10));
    }
    yield digits;
  }
}

function individualNumber(base: string): string {
  return base + String(individualNumberCheckDigit(base));
}

function corporateNumber(base: string): string {
  return String(corporateNumberCheckDigit(base)) + base;
}

describe("individual number (個人番号)", () => {
  it("computes the check digit by the formula, worked by hand", () => {
    // 1×2 + 0×3 + 9×4 + 8×5 + 7×6 + 6×7 + 5×2 + 4×3 + 3×4 + 2×5 + 1×6 = 212; 212 mod 11 = 3; 11 − 3 = 8.
    expect(individualNumberCheckDigit("12345678901")).toBe(8);
    // 6×2 = 12, remainder 1: the check digit is 0, not 10.
    expect(individualNumberCheckDigit("00000000006")).toBe(0);
    // 5×2 = 10, remainder 10: 11 − 10 = 1.
    expect(individualNumberCheckDigit("00000000005")).toBe(1);
  });

  it("accepts generated numbers, full-width and with separators, and stores the 12 digits", () => {
    expect(readIndividualNumber("123456789018")).toEqual({ ok: true, value: "123456789018" });
    expect(readIndividualNumber("１２３４ ５６７８ ９０１８")).toEqual({ ok: true, value: "123456789018" });
    expect(readIndividualNumber("1234-5678-9018")).toEqual({ ok: true, value: "123456789018" });
    expect(readIndividualNumber("１２３４ー５６７８ー９０１８")).toEqual({ ok: true, value: "123456789018" });
  });

  it("refuses every single-digit mistake in generated numbers, except where remainders 0 and 1 share the check digit 0", () => {
    let seen = 0;
    for (const base of bases(11, 200)) {
      const number = individualNumber(base);
      expect(readIndividualNumber(number).ok).toBe(true);
      for (let position = 0; position < 12; position++) {
        for (let digit = 0; digit <= 9; digit++) {
          if (String(digit) === number[position]) continue;
          const mistyped = number.slice(0, position) + String(digit) + number.slice(position + 1);
          const reading = readIndividualNumber(mistyped);
          if (reading.ok) {
            // The formula maps remainders 0 and 1 both to 0, so a mistake moving one to the other passes.
            expect(mistyped.endsWith("0"), mistyped).toBe(true);
            seen++;
          } else {
            expect(reading, mistyped).toEqual({ ok: false, refusal: "check_digit" });
          }
        }
      }
    }
    // Those are rare: 200 numbers × 108 mistakes, of which under 2% can pass.
    expect(seen).toBeLessThan(200 * 108 * 0.02);
  });

  it("refuses the wrong length and letters as a format error", () => {
    expect(readIndividualNumber("12345678901")).toEqual({ ok: false, refusal: "format" });
    expect(readIndividualNumber("1234567890180")).toEqual({ ok: false, refusal: "format" });
    expect(readIndividualNumber("12345678901X")).toEqual({ ok: false, refusal: "format" });
  });
});

describe("corporate number (法人番号)", () => {
  it("computes the leading check digit by the formula, worked by hand", () => {
    // From the lowest digit of 123456789012: 2×1 + 1×2 + 0×1 + 9×2 + … + 1×2 = 74; 74 mod 9 = 2; 9 − 2 = 7.
    expect(corporateNumberCheckDigit("123456789012")).toBe(7);
    // A sum divisible by 9 gives 9, never 0.
    expect(corporateNumberCheckDigit("000000000009")).toBe(9);
  });

  it("accepts generated numbers, full-width and with separators", () => {
    expect(readCorporateNumber("7123456789012")).toEqual({ ok: true, value: "7123456789012" });
    expect(readCorporateNumber("７ １２３４ ５６７８ ９０１２")).toEqual({ ok: true, value: "7123456789012" });
  });

  it("refuses every single-digit mistake except 0 for 9 and 9 for 0, which the formula cannot see", () => {
    for (const base of bases(12, 200)) {
      const number = corporateNumber(base);
      expect(readCorporateNumber(number).ok).toBe(true);
      for (let position = 0; position < 13; position++) {
        for (let digit = 0; digit <= 9; digit++) {
          const original = Number(number[position]);
          if (digit === original || Math.abs(digit - original) === 9) continue;
          const mistyped = number.slice(0, position) + String(digit) + number.slice(position + 1);
          expect(readCorporateNumber(mistyped), mistyped).toEqual({ ok: false, refusal: "check_digit" });
        }
      }
    }
  });

  it("refuses 12 digits (a 会社法人等番号 without its check digit)", () => {
    expect(readCorporateNumber("123456789012")).toEqual({ ok: false, refusal: "format" });
  });
});

describe("qualified-invoice registration number (T + 13 digits)", () => {
  it("accepts T and a corporate number, full-width and lower-case, stored as T and 13 digits", () => {
    expect(readInvoiceNumber("T7123456789012")).toEqual({ ok: true, value: "T7123456789012" });
    expect(readInvoiceNumber("Ｔ７１２３４５６７８９０１２")).toEqual({ ok: true, value: "T7123456789012" });
    expect(readInvoiceNumber("t7-1234-5678-9012")).toEqual({ ok: true, value: "T7123456789012" });
  });

  it("accepts 13 digits that are no corporate number, as assigned to individual businesses", () => {
    expect(readInvoiceNumber("T1123456789012")).toEqual({ ok: true, value: "T1123456789012" });
  });

  it("requires the corporate check digit when the field expects corporations only", () => {
    expect(readInvoiceNumber("T1123456789012", { corporateOnly: true })).toEqual({ ok: false, refusal: "check_digit" });
    expect(readInvoiceNumber("T7123456789012", { corporateOnly: true })).toEqual({ ok: true, value: "T7123456789012" });
  });

  it("refuses a missing T, another letter, or the wrong number of digits", () => {
    expect(readInvoiceNumber("7123456789012")).toEqual({ ok: false, refusal: "format" });
    expect(readInvoiceNumber("X7123456789012")).toEqual({ ok: false, refusal: "format" });
    expect(readInvoiceNumber("T712345678901")).toEqual({ ok: false, refusal: "format" });
  });
});

describe("yen amounts", () => {
  it("reads the ways amounts are written on receipts", () => {
    for (const [raw, value] of [
      ["1200", "1200"],
      ["1,200", "1200"],
      ["¥1,200", "1200"],
      ["￥１，２００", "1200"],
      ["1,200円", "1200"],
      ["\\1,200-", "1200"],
      ["▲500", "-500"],
      ["△500", "-500"],
      ["-500", "-500"],
      ["0", "0"],
    ] as const) {
      expect(readYen(raw), raw).toEqual({ ok: true, value });
    }
  });

  it("refuses fractions, misplaced commas and words", () => {
    for (const raw of ["12.5", "1,20", "12,0000", "千円", "1 2 x"]) {
      expect(readYen(raw), raw).toEqual({ ok: false, refusal: "format" });
    }
  });

  it("refuses an amount beyond a trillion yen", () => {
    expect(readYen("1,000,000,000,000")).toEqual({ ok: false, refusal: "out_of_range" });
  });
});

describe("dates", () => {
  it("reads western and era dates into YYYY-MM-DD", () => {
    for (const [raw, value] of [
      ["2024-05-01", "2024-05-01"],
      ["2024/5/1", "2024-05-01"],
      ["２０２４年５月１日", "2024-05-01"],
      ["令和6年5月1日", "2024-05-01"],
      ["令和元年5月1日", "2019-05-01"],
      ["R6.5.1", "2024-05-01"],
      ["h31/4/30", "2019-04-30"],
      ["平成元年1月8日", "1989-01-08"],
      ["昭和64年1月7日", "1989-01-07"],
      ["2024/2/29", "2024-02-29"],
    ] as const) {
      expect(readDate(raw), raw).toEqual({ ok: true, value });
    }
  });

  it("refuses days that do not exist", () => {
    for (const raw of ["2023/2/29", "2024-13-01", "2024-04-31", "令和0年1月1日"]) {
      expect(readDate(raw), raw).toEqual({ ok: false, refusal: "no_such_date" });
    }
  });

  it("refuses an era date outside its era", () => {
    expect(readDate("令和1年4月30日")).toEqual({ ok: false, refusal: "out_of_range" });
    expect(readDate("平成31年5月1日")).toEqual({ ok: false, refusal: "out_of_range" });
    expect(readDate("昭和64年1月8日")).toEqual({ ok: false, refusal: "out_of_range" });
  });

  it("refuses what is not a date", () => {
    for (const raw of ["5/1", "2024-05", "大正5年1月1日", "yesterday"]) {
      expect(readDate(raw), raw).toEqual({ ok: false, refusal: "format" });
    }
  });
});

describe("a field of the schema", () => {
  it("refuses an empty required field and stores an empty optional one as empty", () => {
    expect(readFieldValue({ name: "memo", type: "text", required: true }, "  ")).toEqual({
      ok: false,
      refusal: "required",
    });
    expect(readFieldValue({ name: "memo", type: "text", required: false }, "")).toEqual({ ok: true, value: "" });
  });

  it("accepts a choice keyed in full width and stores it as the schema writes it", () => {
    const field: TaskField = { name: "kind", type: "choice", required: true, choices: ["A", "B"] };
    expect(readFieldValue(field, "Ａ")).toEqual({ ok: true, value: "A" });
    expect(readFieldValue(field, "C")).toEqual({ ok: false, refusal: "not_a_choice" });
  });

  it("keeps text as written and refuses it beyond its length", () => {
    const field = { name: "memo", type: "text", required: false } as const;
    expect(readFieldValue(field, " ｶﾀｶﾅ 全角ＡＢＣ ")).toEqual({ ok: true, value: "ｶﾀｶﾅ 全角ＡＢＣ" });
    expect(readFieldValue(field, "あ".repeat(2001))).toEqual({ ok: false, refusal: "too_long" });
  });

  it("checks each number type by its own check digit", () => {
    expect(readFieldValue({ name: "n", type: "individual_number", required: true }, "123456789018").ok).toBe(true);
    expect(readFieldValue({ name: "n", type: "individual_number", required: true }, "123456789017")).toEqual({
      ok: false,
      refusal: "check_digit",
    });
    expect(readFieldValue({ name: "c", type: "corporate_number", required: true }, "7123456789012").ok).toBe(true);
    expect(
      readFieldValue({ name: "t", type: "invoice_number", required: true, corporateOnly: true }, "T7123456789012").ok,
    ).toBe(true);
  });
});
