import { expect, it } from "vitest";
import { normalizeSkills } from "./skills.ts";

it("treats full-width, padded and capitalised names as one skill and keeps the higher level", () => {
  expect(
    normalizeSkills([
      { skill: "Ｊａｖａ", level: 3 },
      { skill: " java ", level: 5 },
      { skill: "PL/SQL", level: 2 },
    ]),
  ).toEqual([
    { skill: "java", level: 5 },
    { skill: "pl/sql", level: 2 },
  ]);
});
