// Every move of the package lifecycle against the database, legal and illegal, on SQLite and PostgreSQL.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.ts";
import { packageStates, transitions } from "../src/domain/packages/lifecycle.ts";
import { system } from "../src/kernel/actor.ts";
import { AppError } from "../src/kernel/errors.ts";
import { createLogger } from "../src/logger.ts";
import { type Azusa, buildAzusa } from "../src/server.ts";
import { createTestDatabase, dialects, type TestDatabase } from "./support/databases.ts";

describe.each(dialects)("package lifecycle on %s", (dialect) => {
  let db: TestDatabase;
  let azusa: Azusa;
  let packageId: string;
  const actor = system("lifecycle-test");

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    azusa = buildAzusa(loadConfig(db.env), { logger: createLogger({ level: "silent" }) });
    await azusa.migrate();
    const tenant = await azusa.tenants.create(actor, { name: "東京SI" });
    const now = new Date().toISOString();
    const contractId = randomUUID();
    await azusa.db.kysely
      .insertInto("contract")
      .values({
        id: contractId,
        tenant_id: tenant.id,
        client: "c",
        title: "t",
        type: "ukeoi",
        confidentiality: "internal",
        budget_yen: null,
        period_start: "2027-01-01",
        period_end: "2027-03-31",
        monthly_fee_yen: null,
        band_min_hours: null,
        band_max_hours: null,
        over_rate_yen: null,
        under_rate_yen: null,
        source_repository: null,
        max_package_hours: 80,
        created_by: "test",
        created_at: now,
        updated_at: now,
      })
      .execute();
    packageId = randomUUID();
    await azusa.db.kysely
      .insertInto("work_package")
      .values({
        id: packageId,
        contract_id: contractId,
        tenant_id: tenant.id,
        wbs_id: "1.1",
        title: "画面設計",
        parent_wbs_id: null,
        skills: "[]",
        estimate_hours: 16,
        acceptance_criteria: "",
        template: "default",
        state: "draft",
        state_reason: null,
        source_row: null,
        created_at: now,
        updated_at: now,
      })
      .execute();
  });
  afterAll(async () => {
    await azusa?.close();
    await db?.drop();
  });

  const setState = (state: string) =>
    azusa.db.kysely.updateTable("work_package").set({ state }).where("id", "=", packageId).execute();
  const stateNow = async () =>
    (
      await azusa.db.kysely
        .selectFrom("work_package")
        .select("state")
        .where("id", "=", packageId)
        .executeTakeFirstOrThrow()
    ).state;

  it("refuses a move decided from a state the package has left", async () => {
    await setState("open");
    const err = await azusa.packages.transition(actor, packageId, "open", { from: "offered" }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "CONFLICT", message: expect.stringContaining("is open now, not offered") });
  });

  for (const from of packageStates) {
    for (const to of packageStates) {
      const legal = transitions[from].includes(to);
      it(`${legal ? "moves" : "refuses"} ${from} → ${to}`, async () => {
        await setState(from);
        if (legal) {
          await azusa.packages.transition(actor, packageId, to, { reason: "test" });
          expect(await stateNow()).toBe(to);
          const [event] = await azusa.audit.list({ limit: 1 });
          expect(event).toMatchObject({
            action: "package.transitioned",
            subject: `package:${packageId}`,
            details: { from, to },
          });
        } else {
          const before = (await azusa.audit.list({ limit: 1 }))[0]?.seq;
          const err = await azusa.packages.transition(actor, packageId, to).catch((e: unknown) => e);
          expect(err).toBeInstanceOf(AppError);
          expect(err).toMatchObject({ code: "INVALID_STATE", details: { current: from } });
          expect((err as AppError).message).toContain(`package is ${from}`);
          expect(await stateNow()).toBe(from);
          expect((await azusa.audit.list({ limit: 1 }))[0]?.seq).toBe(before);
        }
      });
    }
  }
});
