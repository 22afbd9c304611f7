// The dictionaries agree: every English text fills the same placeholders as its Japanese text, none is empty.
import { describe, expect, it } from "vitest";
import { en } from "./en.ts";
import { chooseLang, translator } from "./i18n.ts";
import { ja, type MessageKey } from "./ja.ts";

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe("the dictionaries", () => {
  it("fill the same placeholders in both languages, and leave no text empty", () => {
    const keys = Object.keys(ja) as MessageKey[];
    const mismatched = keys.filter((k) => placeholders(ja[k]).join() !== placeholders(en[k]).join());
    expect(mismatched).toEqual([]);
    expect(keys.filter((k) => !ja[k].trim() || !en[k].trim())).toEqual([]);
  });

  it("fill placeholders with the values given", () => {
    expect(translator("ja")("wbs.imported", { count: 9 })).toBe("9 件の作業パッケージを取り込みました。");
    expect(translator("en")("wbs.imported", { count: 9 })).toBe("Imported 9 work packages.");
  });

  it("choose Japanese unless English was asked for, by the switch or the remembered choice", () => {
    expect(chooseLang({})).toBe("ja");
    expect(chooseLang({ query: "en" })).toBe("en");
    expect(chooseLang({ cookie: "en" })).toBe("en");
    expect(chooseLang({ query: "ja", cookie: "en" })).toBe("ja");
    expect(chooseLang({ query: "fr", cookie: "de" })).toBe("ja");
  });
});
