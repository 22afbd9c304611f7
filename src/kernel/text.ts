// What a name or a title may hold: text that shows as what it says, on one line, and is not blank.
import { z } from "@hono/zod-openapi";
import { english, type Text, text } from "./messages.ts";

/** C0 and C1 controls (NUL, escape, newline, tab, …) and the line and paragraph separators. */
const CONTROL = /[\p{Cc}\u2028\u2029]/u;
/** Half of a surrogate pair without the other half: not a character at all, and unencodable as UTF-8. */
const UNPAIRED_SURROGATE = /\p{Cs}/u;
/** Marks and embeddings that reorder the text around them, so that what shows is not what is stored. */
const BIDI_CONTROL = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/u;
/** Characters that take no visible room: spaces, format characters such as U+200B, and the Hangul fillers. */
const INVISIBLE = /[\p{White_Space}\p{Cf}\u115F\u1160\u3164\uFFA0\u2800]/gu;

const codePoint = (ch: string) => `U+${(ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")}`;

/**
 * Why `value` cannot be a name or a title, as a catalogue message, or null when it can: it holds a control
 * character, an unpaired surrogate or a bidirectional control, or nothing visible at all (empty, spaces, only
 * zero-width characters).
 */
export function nameProblemText(value: string): Text | null {
  const control = CONTROL.exec(value);
  if (control) return text("name.control", { char: codePoint(control[0]) });
  const surrogate = UNPAIRED_SURROGATE.exec(value);
  if (surrogate) return text("name.surrogate", { char: codePoint(surrogate[0]) });
  const bidi = BIDI_CONTROL.exec(value);
  if (bidi) return text("name.bidi", { char: codePoint(bidi[0]) });
  if (value.replace(INVISIBLE, "") === "") return text("name.blank");
  return null;
}

/** nameProblemText in English, or null. */
export function nameProblem(value: string): string | null {
  const problem = nameProblemText(value);
  return problem ? english(problem) : null;
}

/**
 * A name or a title (of a tenant, a contract, a package, a pull request, a person, a key) as the API and the forms'
 * schemas take it: trimmed, at most `max` characters, and refused naming the field when `nameProblem` finds one.
 */
export const NameText = (max = 200) =>
  z
    .string()
    .trim()
    .max(max)
    .superRefine((value, ctx) => {
      // The catalogue message rides along, so that a page or Accept-Language: ja says it in Japanese.
      const problem = nameProblemText(value);
      if (problem) ctx.addIssue({ code: "custom", message: english(problem), params: { text: problem } });
    });
