import { describe, expect, it } from "vitest";
import { lawsOn } from "./order-document.ts";

describe("the laws an order names, by its date", () => {
  it("names the Subcontract Act's article 3 for an order of 2025-12-31", () => {
    const laws = lawsOn("2025-12-31");
    expect(laws.names[0]).toContain("下請代金支払遅延等防止法");
    expect(laws.notes[0]).toContain("下請代金支払遅延等防止法第3条に定める書面");
    expect(laws.priceLabel).toBe("下請代金の額（算定方法）");
  });

  it("names 取適法 article 4 and the Freelance Act's article 3(1) from 2026-01-01", () => {
    const laws = lawsOn("2026-01-01");
    expect(laws.names.join()).not.toContain("下請代金支払遅延等防止法");
    expect(laws.notes[0]).toBe(
      "本書は中小受託取引適正化法（取適法）第4条に定める明示及び特定受託事業者に係る取引の適正化等に関する法律（フリーランス・事業者間取引適正化等法）第3条第1項に定める明示として交付するものです。",
    );
    expect(laws.notes).toContain("支払期日は給付の受領日から起算して60日を超えません（取適法第3条）。");
    expect(laws.notes).toContain(
      "報酬の支払期日は給付の受領日から起算して60日を超えません（フリーランス・事業者間取引適正化等法第4条）。",
    );
    expect(laws.priceLabel).toBe("製造委託等代金の額（算定方法）");
  });

  it("names no Freelance Act before it came into force on 2024-11-01", () => {
    expect(lawsOn("2024-10-31").names).toHaveLength(1);
    expect(lawsOn("2024-11-01").names).toHaveLength(2);
  });
});
