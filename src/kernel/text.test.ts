import { describe, expect, it } from "vitest";
import { nameProblem } from "./text.ts";

describe("what a name or a title may hold", () => {
  it.each([
    ["Japanese with a full-width space", "松本　太郎"],
    ["an emoji (a surrogate pair)", "🚄 あずさ"],
    ["a joiner inside an emoji sequence", "👩‍💻 チーム"],
    ["Arabic text, which is right-to-left by itself", "مشروع"],
    ["a non-joiner inside a word", "می‌خواهم"],
  ])("accepts %s", (_what, text) => {
    expect(nameProblem(text)).toBeNull();
  });

  it.each([
    ["NUL", "a\u0000b", "control characters (U+0000)"],
    ["a newline", "a\nb", "control characters (U+000A)"],
    ["a tab", "a\tb", "control characters (U+0009)"],
    ["DEL", "a\u007fb", "control characters (U+007F)"],
    ["a C1 control", "a\u0085b", "control characters (U+0085)"],
    ["a line separator", "a\u2028b", "control characters (U+2028)"],
    ["a lone high surrogate", "a\ud800b", "unpaired surrogate (U+D800)"],
    ["a lone low surrogate", "a\udc00", "unpaired surrogate (U+DC00)"],
    ["a right-to-left override", "invoice\u202Efdp.exe", "bidirectional controls (U+202E)"],
    ["a right-to-left isolate", "a\u2067b", "bidirectional controls (U+2067)"],
    ["a right-to-left mark", "a\u200fb", "bidirectional controls (U+200F)"],
    ["the Arabic letter mark", "a\u061cb", "bidirectional controls (U+061C)"],
    ["nothing", "", "empty"],
    ["only spaces", " \u3000 ", "empty"],
    ["only zero-width spaces", "\u200b\u200b", "empty"],
    ["only a byte-order mark and a joiner", "\ufeff\u200d", "empty"],
    ["only a Hangul filler", "\u3164", "empty"],
  ])("refuses %s", (_what, text, problem) => {
    expect(nameProblem(text)).toContain(problem);
  });
});
