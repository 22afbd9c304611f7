// What a crash at a bad moment leaves is settled by reconcile: an assignment whose process died before its
// workspace was made gets one (or a failed one whose reason the lead sees), never a package stuck for good.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { system } from "../../src/kernel/actor.ts";
import { dialects } from "../support/databases.ts";
import { type HoursWorld, startHoursWorld } from "../support/hours-world.ts";

describe.each(dialects)("after a crash, on %s", (dialect) => {
  let w: HoursWorld;

  beforeAll(async () => {
    w = await startHoursWorld(dialect);
  });
  afterAll(async () => {
    await w?.stop();
  });

  it("an assignment left without a workspace is provisioned by reconcile; the lead sees the outcome", async () => {
    const packageId = w.ukeoi.packages["1.1.1"] as string;
    const sato = w.engineers.sato as HoursWorld["engineers"][string];
    expect((await w.lead.post(`/api/v1/packages/${packageId}/open`)).status).toBe(200);
    const offer = await (await w.lead.post(`/api/v1/packages/${packageId}/offers`, { engineerId: sato.id })).json();
    // What the acceptance had committed when the process died: the offer taken, the package assigned, the
    // assignment made (two minutes ago) — and no workspace, which is made only after that commit.
    const { db, packages, workspaces } = w.t.running.azusa;
    await db.kysely.transaction().execute(async (trx) => {
      await trx.updateTable("offer").set({ state: "accepted" }).where("id", "=", offer.id).execute();
      await packages.transition(system("test"), packageId, "assigned", {
        trx,
        from: "offered",
        reason: "offer accepted",
      });
      await trx
        .insertInto("assignment")
        .values({
          id: randomUUID(),
          package_id: packageId,
          engineer_id: sato.id,
          offer_id: offer.id,
          weekly_hours: 1,
          started_at: new Date(Date.now() - 120_000).toISOString(),
          ended_at: null,
          end_reason: null,
        })
        .execute();
    });
    expect((await w.lead.get(`/api/v1/packages/${packageId}/workspace`)).status).toBe(404);

    const result = await workspaces.reconcile();
    expect(result.provisioned).toBe(1);
    await workspaces.drain();
    // The template names an image that is never built: the workspace fails, and says why.
    const seen = await w.lead.get(`/api/v1/packages/${packageId}/workspace`);
    expect(seen.status).toBe(200);
    expect(await seen.json()).toMatchObject({ state: "failed", reason: expect.stringMatching(/image/) });
    // A second pass finds nothing more to do.
    expect((await workspaces.reconcile()).provisioned).toBe(0);
  });
});
