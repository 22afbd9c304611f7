// The catalogue agrees with itself, and a message reads the same in both languages but for its words.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  catalogue,
  fieldName,
  formatMoment,
  issueText,
  langFromAcceptLanguage,
  type MessageId,
  say,
  text,
  wbsField,
} from "./messages.ts";

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

/** Every TypeScript source under src/, tests left out. */
function sources(dir = join(import.meta.dirname, "..")): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sources(path);
    return /\.tsx?$/.test(e.name) && !/\.test\.tsx?$/.test(e.name) ? [path] : [];
  });
}

/** The top-level arguments of a call whose `(` ends just before `from`, as written (strings and nesting skipped). */
function argumentsOf(source: string, from: number): string[] {
  const args: string[] = [];
  let depth = 0;
  let start = from;
  let quote: string | null = null;
  for (let i = from; i < source.length; i++) {
    const ch = source[i];
    if (quote) {
      if (ch === "\\") i++;
      else if (ch === quote) quote = null;
      continue;
    }
    if (ch === '"' || ch === "'" || ch === "`") quote = ch;
    else if (ch === "(" || ch === "[" || ch === "{") depth++;
    else if (ch === ")" || ch === "]" || ch === "}") {
      if (depth === 0) {
        const last = source.slice(start, i).trim();
        if (last) args.push(last);
        return args;
      }
      depth--;
    } else if (ch === "," && depth === 0) {
      args.push(source.slice(start, i).trim());
      start = i + 1;
    }
  }
  return args;
}

describe("the message catalogue", () => {
  it("fills the same placeholders in both languages, and leaves no text empty", () => {
    const keys = Object.keys(catalogue) as MessageId[];
    const mismatched = keys.filter(
      (k) => placeholders(catalogue[k].en).join() !== placeholders(catalogue[k].ja).join(),
    );
    expect(mismatched).toEqual([]);
    expect(keys.filter((k) => !catalogue[k].en.trim() || !catalogue[k].ja.trim())).toEqual([]);
  });

  it("has a Japanese sentence wherever the English is one", () => {
    // A sentence: two words of letters once placeholders are taken out. Its Japanese must hold Japanese.
    const sentence = (s: string) => (s.replace(/\{\w+\}/g, "").match(/[A-Za-z]{2,}/g) ?? []).length >= 2;
    const keys = Object.keys(catalogue) as MessageId[];
    const untranslated = keys.filter((k) => sentence(catalogue[k].en) && /^[ -~]*$/.test(catalogue[k].ja));
    expect(untranslated).toEqual([]);
  });

  it("has every message that src/ names", () => {
    const named = new Map<string, string>();
    for (const file of sources()) {
      for (const m of readFileSync(file, "utf8").matchAll(
        /\b(?:text|msg|refuse|requireAll\(\w+,)\(?\s*"([a-zA-Z]+\.[\w.]+)"/g,
      )) {
        if (m[1]) named.set(m[1], file);
      }
    }
    expect(named.size).toBeGreaterThan(100);
    expect([...named].filter(([key]) => !(key in catalogue)).map(([key, file]) => `${key} (${file})`)).toEqual([]);
  });

  it("raises no refusal in plain English words: each carries its catalogue message", () => {
    // `new AppError(code, words, details, text)` must carry its text; forbidden and invalidField are given one.
    const plain: string[] = [];
    for (const file of sources()) {
      if (file.endsWith(join("kernel", "errors.ts"))) continue;
      const source = readFileSync(file, "utf8");
      const at = (i: number) => `${file.slice(file.indexOf("src"))}:${source.slice(0, i).split("\n").length}`;
      for (const m of source.matchAll(/new AppError\(/g)) {
        if (argumentsOf(source, m.index + m[0].length).length < 4) plain.push(at(m.index));
      }
      for (const m of source.matchAll(/\b(forbidden|invalidField)\(/g)) {
        const args = argumentsOf(source, m.index + m[0].length);
        const words = m[1] === "forbidden" ? args[0] : args[1];
        if (words !== undefined && /^["'`]/.test(words)) plain.push(at(m.index));
      }
    }
    expect(plain).toEqual([]);
  });

  it("names each field once: a WBS column by its field's label, but its title as 作業名", () => {
    const ja = (name: ReturnType<typeof fieldName>) => (typeof name === "string" ? name : say("ja", name));
    expect(ja(wbsField("estimate"))).toBe("見積工数");
    expect(ja(wbsField("dependsOn"))).toBe("先行作業");
    expect(ja(wbsField("id"))).toBe("WBS番号");
    expect(ja(wbsField("title"))).toBe("作業名");
    expect(ja(fieldName("title"))).toBe("タイトル");
    expect(ja(wbsField("colour"))).toBe("colour");
    const labels = Object.keys(catalogue).filter((k) => k.startsWith("field."));
    const wbsOnly = labels.filter((k) => k.startsWith("field.wbs."));
    expect(
      wbsOnly.filter((k) => labels.includes(`field.${k.slice("field.wbs.".length)}`) && k !== "field.wbs.title"),
    ).toEqual([]);
  });

  it("translates the messages inside a message, and shows moments in the reader's zone", () => {
    const m = text("wbs.packageLive", { wbsId: "1.2", state: text("state.in_progress") });
    expect(say("en", m)).toBe("package 1.2 is in progress: edit the packages instead of importing again");
    expect(say("ja", m)).toContain("作業パッケージ 1.2 は作業中です");
    expect(formatMoment("2026-12-01T00:07:00.000Z")).toBe("2026-12-01 09:07 (Asia/Tokyo)");
    expect(formatMoment("2026-12-01T00:07:00.000Z", "Europe/London")).toBe("2026-12-01 00:07 (Europe/London)");
    const overlap = text("hours.overlaps", {
      entryId: "e1",
      start: { moment: "2026-12-01T00:07:00.000Z" },
      end: { moment: "2026-12-01T01:00:00.000Z" },
    });
    expect(say({ lang: "ja" }, overlap)).toBe(
      "2026-12-01 09:07 (Asia/Tokyo)〜2026-12-01 10:00 (Asia/Tokyo) の記録（e1）と時間が重なっています",
    );
  });

  it("answers in Japanese only when Accept-Language ranks it above English", () => {
    expect(langFromAcceptLanguage(undefined)).toBe("en");
    expect(langFromAcceptLanguage("ja")).toBe("ja");
    expect(langFromAcceptLanguage("ja-JP,ja;q=0.9,en;q=0.8")).toBe("ja");
    expect(langFromAcceptLanguage("en-US,en;q=0.9,ja;q=0.8")).toBe("en");
    expect(langFromAcceptLanguage("fr,ja;q=0.5")).toBe("ja");
    expect(langFromAcceptLanguage("ja;q=0,en")).toBe("en");
    expect(langFromAcceptLanguage("de")).toBe("en");
  });

  it("says validation issues in Japanese without zod's English type names", () => {
    const required = issueText({
      code: "invalid_type",
      message: "Invalid input: expected string, received undefined",
      expected: "string",
    });
    const wrong = issueText({
      code: "invalid_type",
      message: "Invalid input: expected string, received number",
      expected: "string",
    });
    expect(wrong && say("ja", wrong)).toBe("文字列で入力してください");
    expect(required && say("ja", required)).toBe("入力してください");
    const long = issueText({ code: "too_big", message: "Too big", origin: "string", maximum: 200 });
    expect(long && say("ja", long)).toBe("200 文字以内で入力してください");
    expect(long && say("en", long)).toBe("must be at most 200 characters");
    expect(issueText({ code: "custom", message: "own words" })).toBeUndefined();
  });
});
