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

  /**
   * What an acceptance had committed when its process died: the offer taken, the package assigned, the
   * assignment made two minutes ago — and no workspace, which is made only after that commit.
   */
  const acceptedWithoutWorkspace = async (packageId: string, name: string) => {
    const engineer = w.engineers[name] as HoursWorld["engineers"][string];
    expect((await w.lead.post(`/api/v1/packages/${packageId}/open`)).status).toBe(200);
    const offer = await (await w.lead.post(`/api/v1/packages/${packageId}/offers`, { engineerId: engineer.id })).json();
    const { db, packages } = w.t.running.azusa;
    const assignmentId = randomUUID();
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
          id: assignmentId,
          package_id: packageId,
          engineer_id: engineer.id,
          offer_id: offer.id,
          weekly_hours: 1,
          started_at: new Date(Date.now() - 120_000).toISOString(),
          ended_at: null,
          end_reason: null,
        })
        .execute();
    });
    return { assignmentId, engineerId: engineer.id };
  };

  it("an assignment left without a workspace is provisioned by reconcile; the lead sees the outcome", async () => {
    const packageId = w.ukeoi.packages["1.1.1"] as string;
    const { workspaces } = w.t.running.azusa;
    await acceptedWithoutWorkspace(packageId, "sato");
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

  /**
   * Another process (same instance) has made the workspace row of an assignment and is provisioning it; with
   * `leased`, its lease was renewed a moment ago. Returns the row's id and the lease.
   */
  const provisioningElsewhere = async (packageId: string, name: string, { leased = true } = {}) => {
    const { assignmentId, engineerId } = await acceptedWithoutWorkspace(packageId, name);
    const kysely = w.t.running.azusa.db.kysely;
    const pkg = await kysely
      .selectFrom("work_package")
      .selectAll()
      .where("id", "=", packageId)
      .executeTakeFirstOrThrow();
    const id = randomUUID();
    const at = new Date().toISOString();
    await kysely
      .insertInto("workspace")
      .values({
        id,
        assignment_id: assignmentId,
        package_id: packageId,
        tenant_id: pkg.tenant_id,
        engineer_id: engineerId,
        template: pkg.template,
        state: "provisioning",
        reason: "assignment accepted",
        container_id: null,
        volume: null,
        created_at: at,
        updated_at: at,
        last_activity_at: null,
        last_activity: null,
        prepared_at: null,
      })
      .execute();
    const lease = { name: `workspace:${id}`, owner: "another-process", slot: "its-slot" };
    const take = () =>
      kysely
        .insertInto("job_lock")
        .values({ ...lease, expires_at: new Date(Date.now() + 60_000).toISOString() })
        .execute();
    if (leased) await take();
    return { id, lease, take };
  };

  const resumed = (id: string) =>
    w.t.running.azusa.db.kysely
      .selectFrom("audit_event")
      .select("seq")
      .where("action", "=", "workspace.resumed")
      .where("subject", "=", `workspace:${id}`)
      .execute();

  it("a provisioning another live process holds the lease of is left alone, and resumed once the lease expires", async () => {
    const packageId = w.ukeoi.packages["1.1.2"] as string;
    const { db, workspaces } = w.t.running.azusa;
    const kysely = db.kysely;
    const { id, lease } = await provisioningElsewhere(packageId, "kato");

    await workspaces.reconcile();
    await workspaces.drain();
    expect(await resumed(id)).toHaveLength(0);
    const untouched = await kysely
      .selectFrom("workspace")
      .select("state")
      .where("id", "=", id)
      .executeTakeFirstOrThrow();
    expect(untouched.state).toBe("provisioning");

    // The other process died: its lease ran out. Now this one takes the work over.
    await kysely
      .updateTable("job_lock")
      .set({ expires_at: new Date(Date.now() - 1000).toISOString() })
      .where("name", "=", lease.name)
      .execute();
    await workspaces.reconcile();
    await workspaces.drain();
    expect(await resumed(id)).toHaveLength(1);
    const settled = await kysely.selectFrom("workspace").select("state").where("id", "=", id).executeTakeFirstOrThrow();
    expect(settled.state).toBe("failed"); // the template's image is never built
  });

  it("a provisioning another process begins while reconcile runs is left to it", async () => {
    const packageId = w.ukeoi.packages["1.2.1"] as string;
    const { db, workspaces, workspaceHosts } = w.t.running.azusa;
    // reconcile asks each host's engine in turn; this workspace is the default host's
    const driver = await workspaceHosts.driverOf("local");
    // Its row is there when reconcile begins; its lease is taken while reconcile asks the engine.
    const { id, take } = await provisioningElsewhere(packageId, "ito", { leased: false });
    const inventory = driver.inventory;
    driver.inventory = async () => {
      await take();
      return inventory.call(driver);
    };
    try {
      await workspaces.reconcile();
    } finally {
      driver.inventory = inventory;
    }
    await workspaces.drain();
    expect(await resumed(id)).toHaveLength(0);
    const row = await db.kysely.selectFrom("workspace").select("state").where("id", "=", id).executeTakeFirstOrThrow();
    expect(row.state).toBe("provisioning");
  });
});
