// An office's details as a test creates one: in Nagano, in Tokyo's time zone, named after its town.
import type { Client, TestAzusa } from "./harness.ts";

/** The body of `POST /api/v1/offices` for an office called `name` in `town`. */
export const officeInput = (name: string, town: string) => ({
  name,
  prefecture: "長野県",
  town,
  address: `${town}中央1-1-1`,
  timeZone: "Asia/Tokyo",
  contact: "office@example.jp",
  description: `${town}のサテライトオフィスです。`,
});

/** The people of `twoOffices`: the first operator, each office's operator, and one of every other role. */
export type OfficePeople = Record<"root" | "operator" | "southOperator" | "engineer" | "contractor" | "lead", Client>;

/**
 * Two offices (北 and 南), each with an operator of its own, beside an engineer, a contractor and a lead of a
 * tenant: the cast of the tests of what an office's operators may do that others may not.
 */
export async function twoOffices(t: TestAzusa): Promise<{ as: OfficePeople; northId: string; southId: string }> {
  const tenant = await t.createTenant("東京システムインテグレーション");
  const operator = await t.createUser("operator", "ops@north.example");
  const southOperator = await t.createUser("operator", "ops@south.example");
  await t.createUser("engineer", "sato@north.example");
  await t.createUser("contractor", "buyer@tokyo-si.example", tenant.id);
  await t.createUser("lead", "lead@tokyo-si.example", tenant.id);
  const as: OfficePeople = {
    root: await t.signIn("root@office.example"),
    operator: await t.signIn("ops@north.example"),
    southOperator: await t.signIn("ops@south.example"),
    engineer: await t.signIn("sato@north.example"),
    contractor: await t.signIn("buyer@tokyo-si.example"),
    lead: await t.signIn("lead@tokyo-si.example"),
  };
  const northId = (await (await as.root.post("/api/v1/offices", officeInput("北オフィス", "北町"))).json()).id;
  const southId = (await (await as.root.post("/api/v1/offices", officeInput("南オフィス", "南町"))).json()).id;
  for (const [officeId, userId] of [
    [northId, operator.id],
    [southId, southOperator.id],
  ]) {
    const placed = await as.root.put(`/api/v1/offices/${officeId}/members/${userId}`);
    if (placed.status !== 200) throw new Error(`placing ${userId} in ${officeId}: ${placed.status}`);
  }
  return { as, northId, southId };
}
