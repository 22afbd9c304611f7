// The Docker engine gone (its socket not there), on SQLite and PostgreSQL: what does not need it goes on — contracts,
// packages, offers and their acceptance — `/readyz` names `docker`, a workspace accepted meanwhile waits `pending` with
// a reason the lead sees (the host does not answer), and a request that needs the engine gets 503 UNAVAILABLE saying
// it is not reachable.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dialects } from "../support/databases.ts";
import { type HoursWorld, startHoursWorld } from "../support/hours-world.ts";

describe.each(dialects)("with the Docker engine gone, on %s", (dialect) => {
  let w: HoursWorld;

  beforeAll(async () => {
    w = await startHoursWorld(dialect, { DOCKER_HOST: "unix:///nonexistent/docker.sock" });
  }, 120_000);
  afterAll(async () => {
    await w?.stop();
  });

  it("says so at /readyz while the database answers", async () => {
    const res = await w.t.anonymous().get("/readyz");
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({
      status: "unavailable",
      checks: { database: { ok: true }, docker: { ok: false } },
    });
  });

  it("takes an offer's acceptance, and the workspace waits for a host with the reason the lead sees", async () => {
    const packageId = w.ukeoi.packages["1.1.1"] as string;
    await w.assign(packageId, "sato");
    const pkg = await (await w.lead.get(`/api/v1/packages/${packageId}`)).json();
    expect(pkg.state).toBe("assigned");
    const seen = await w.lead.get(`/api/v1/packages/${packageId}/workspace`);
    expect(seen.status).toBe(200);
    const waiting = {
      state: "pending",
      reason: expect.stringMatching(/^waiting for a workspace host .*local: does not answer/),
    };
    expect(await seen.json()).toMatchObject(waiting);
    // Reconcile tries again and leaves it waiting, never failed: it is placed once the engine answers.
    await w.t.running.azusa.workspaces.reconcile();
    await w.t.running.azusa.workspaces.drain();
    expect(await (await w.lead.get(`/api/v1/packages/${packageId}/workspace`)).json()).toMatchObject(waiting);
    // What needs no engine goes on: the contract's packages are listed, a new contract is made.
    expect((await w.lead.get(`/api/v1/contracts/${w.ukeoi.id}/packages`)).status).toBe(200);
    const made = await w.contractor.post("/api/v1/contracts", {
      client: "株式会社信州銀行",
      title: "帳票基盤更改",
      type: "ukeoi",
      confidentiality: "internal",
      periodStart: "2026-04-01",
      periodEnd: "2027-03-31",
    });
    expect(made.status).toBe(201);
  });

  it("answers 503 UNAVAILABLE to a request that needs the engine, naming it", async () => {
    // A workspace made while the engine was there: running, with its container and volume.
    const packageId = w.ukeoi.packages["1.1.2"] as string;
    await w.assign(packageId, "ito");
    const { id } = await (await w.lead.get(`/api/v1/packages/${packageId}/workspace`)).json();
    await w.t.running.azusa.db.kysely
      .updateTable("workspace")
      .set({ state: "running", container_id: "c0ffee", volume: "azusa-ws-gone" })
      .where("id", "=", id)
      .execute();
    const res = await w.lead.post(`/api/v1/workspaces/${id}/stop`);
    expect(res.status).toBe(503);
    expect((await res.json()).error).toMatchObject({
      code: "UNAVAILABLE",
      message: expect.stringContaining("the Docker engine is not reachable"),
      requestId: expect.any(String),
    });
    // Nothing changed on the row: it is still what the engine last said.
    const after = await (await w.lead.get(`/api/v1/packages/${packageId}/workspace`)).json();
    expect(after.state).toBe("running");
  });
});
