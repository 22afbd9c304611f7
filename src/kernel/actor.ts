// Who is asking: every service call takes an Actor and decides from it what the caller may do.

export const roles = ["operator", "contractor", "lead", "engineer"] as const;
export type Role = (typeof roles)[number];

/** A signed-in person (by session or API key), or Azusa itself (the CLI, a schedule). */
export type Actor =
  | { kind: "user"; userId: string; email: string; role: Role; tenantId: string | null; via: "session" | "api_key" }
  | { kind: "system"; name: string };

/** Roles that belong to a tenant; the others belong to the satellite office. */
export const tenantRoles: readonly Role[] = ["contractor", "lead"];

export const isRole = (value: unknown): value is Role => roles.includes(value as Role);

export const system = (name: string): Actor => ({ kind: "system", name });
