// Picks the language of a page and turns dictionary keys into text; Japanese unless the person chose English.
import { clock, isLang, type Lang } from "../../kernel/messages.ts";
import { en } from "./en.ts";
import { ja, type MessageKey } from "./ja.ts";

export { isLang, type Lang, langs } from "../../kernel/messages.ts";
export type { MessageKey };

/** Text for a key, with `{name}` placeholders filled from `vars`. */
export type Translate = (key: MessageKey, vars?: Record<string, string | number>) => string;

const dictionaries: Record<Lang, Record<MessageKey, string>> = { ja, en };

/**
 * The language of a request: `?lang=` when given (the switch link), else the `lang` cookie, else Japanese.
 * Accept-Language is deliberately not consulted: the office's machines and browsers are often set up in
 * English while the people using them work in Japanese, so English is a choice made once, not a guess.
 */
export function chooseLang({ query, cookie }: { query?: string | null; cookie?: string | null }): Lang {
  if (isLang(query)) return query;
  if (isLang(cookie)) return cookie;
  return "ja";
}

/** Whether the dictionary has this key (every language has the same keys: i18n.test.ts). */
export const isMessageKey = (key: string): key is MessageKey => Object.hasOwn(ja, key);

/** The translator of one language. */
export function translator(lang: Lang): Translate {
  const dict = dictionaries[lang];
  return (key, vars) => {
    const text = dict[key];
    return vars ? text.replace(/\{(\w+)\}/g, (m, name: string) => (name in vars ? String(vars[name]) : m)) : text;
  };
}

/** Dates and times as people in Japan read them, in Asia/Tokyo whatever the server's zone. */
export function formatDateTime(lang: Lang, iso: string | null): string {
  if (!iso) return "";
  return new Intl.DateTimeFormat(lang === "ja" ? "ja-JP" : "en-GB", {
    timeZone: "Asia/Tokyo",
    dateStyle: "medium",
    timeStyle: "short",
  }).format(new Date(iso));
}

/** A duration in hours as people read it on a page: `5:22` (h:mm), never a decimal; exports say decimals. */
export const hm = (hours: number): string => clock(hours * 60);
