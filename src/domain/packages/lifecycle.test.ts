import { describe, expect, it } from "vitest";
import { AppError } from "../../kernel/errors.ts";
import { assertTransition, canTransition, packageStates, transitions } from "./lifecycle.ts";

describe("the package lifecycle", () => {
  it("follows DESIGN.md's path from draft to accepted", () => {
    const path = ["draft", "open", "offered", "assigned", "in_progress", "in_review", "delivered", "accepted"] as const;
    for (let i = 0; i + 1 < path.length; i++) {
      expect(canTransition(path[i] as never, path[i + 1] as never), `${path[i]} → ${path[i + 1]}`).toBe(true);
    }
  });

  it("sends requested changes back to in_progress", () => {
    expect(canTransition("in_review", "changes_requested")).toBe(true);
    expect(canTransition("changes_requested", "in_progress")).toBe(true);
  });

  it("takes a package back to open from every state before delivery, for a withdrawal", () => {
    const reopenable = packageStates.filter((s) => canTransition(s, "open"));
    expect(reopenable).toEqual(["draft", "offered", "assigned", "in_progress", "in_review", "changes_requested"]);
  });

  it("ends in accepted and cancelled, with nothing after", () => {
    for (const to of packageStates) {
      expect(canTransition("accepted", to)).toBe(false);
      expect(canTransition("cancelled", to)).toBe(false);
    }
  });

  it("lets every unfinished package be cancelled, but not an accepted or delivered one", () => {
    const cancellable = packageStates.filter((s) => canTransition(s, "cancelled"));
    expect(cancellable).toEqual([
      "draft",
      "open",
      "offered",
      "assigned",
      "in_progress",
      "in_review",
      "changes_requested",
    ]);
  });

  it("names the current state when a move is refused, for every illegal pair", () => {
    let illegal = 0;
    for (const from of packageStates) {
      for (const to of packageStates) {
        if (transitions[from].includes(to)) {
          expect(() => assertTransition(from, to)).not.toThrow();
          continue;
        }
        illegal++;
        try {
          assertTransition(from, to);
          expect.fail(`${from} → ${to} should be refused`);
        } catch (err) {
          expect(err).toBeInstanceOf(AppError);
          expect((err as AppError).code).toBe("INVALID_STATE");
          expect((err as AppError).message).toMatch(new RegExp(`^package is ${from}: it cannot move to ${to}`));
        }
      }
    }
    expect(illegal).toBe(10 * 10 - 22); // 22 legal moves in the table
  });
});
