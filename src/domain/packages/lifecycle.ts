// The work package lifecycle, in one place: which state may follow which, and who may ask for it.
import type { Role } from "../../kernel/actor.ts";
import { fail } from "../../kernel/errors.ts";
import { stateCode, text } from "../../kernel/messages.ts";

export const packageStates = [
  "draft",
  "open",
  "offered",
  "assigned",
  "in_progress",
  "in_review",
  "changes_requested",
  "delivered",
  "accepted",
  "cancelled",
] as const;

export type PackageState = (typeof packageStates)[number];

/**
 * Every legal move. Offers move `open → offered → assigned` (or back to `open` when declined,
 * expired or withdrawn); the first session moves `assigned → in_progress`; pull requests move
 * work into and out of review; the contractor accepts a delivery (検収) or sends it back. A lead's
 * withdrawal of the assignment takes a package back to `open` from any state before delivery.
 */
export const transitions: Readonly<Record<PackageState, readonly PackageState[]>> = {
  draft: ["open", "cancelled"],
  open: ["offered", "cancelled"],
  offered: ["assigned", "open", "cancelled"],
  assigned: ["in_progress", "open", "cancelled"],
  in_progress: ["in_review", "open", "cancelled"],
  in_review: ["changes_requested", "delivered", "open", "cancelled"],
  changes_requested: ["in_progress", "open", "cancelled"],
  delivered: ["accepted", "in_progress"],
  accepted: [],
  cancelled: [],
};

/** States in which a lead may still edit, split and merge a package. */
export const editableStates: readonly PackageState[] = ["draft", "open"];

/** Moves a person may ask for over the API; the others are made by Azusa's own services (offers, sessions, reviews). */
export const requestableBy: Partial<Record<Role, readonly PackageState[]>> = {
  lead: ["open", "cancelled"],
  contractor: ["cancelled"],
};

export const isPackageState = (value: unknown): value is PackageState => packageStates.includes(value as PackageState);

export function canTransition(from: PackageState, to: PackageState): boolean {
  return transitions[from].includes(to);
}

/** Throws INVALID_STATE naming the current state when `from → to` is not a legal move. */
export function assertTransition(from: PackageState, to: PackageState): void {
  if (!canTransition(from, to)) {
    const next = transitions[from];
    const allowed = next.length ? text("packages.canMoveTo", { states: next.map(stateCode) }) : text("packages.final");
    throw fail("INVALID_STATE", text("packages.cannotMove", { state: stateCode(from), to: stateCode(to), allowed }), {
      current: from,
    });
  }
}
