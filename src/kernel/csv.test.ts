import { expect, it } from "vitest";
import { toCsv } from "./csv.ts";

it("writes CSV with a BOM and CRLF, quoting what needs it", () => {
  expect(
    toCsv([
      ["氏名", "備考"],
      ["佐藤", 'a, "b"'],
    ]),
  ).toBe('\uFEFF氏名,備考\r\n佐藤,"a, ""b"""\r\n');
});

it("neutralises text cells Excel would run as a formula, and leaves numbers alone", () => {
  expect(toCsv([['=HYPERLINK("http://x")', "+1", "-cmd", "@SUM(A1)", "\tx", "\r=1", "安全", -5]])).toBe(
    `\uFEFF"'=HYPERLINK(""http://x"")",'+1,'-cmd,'@SUM(A1),'\tx,"'\r=1",安全,-5\r\n`,
  );
});
