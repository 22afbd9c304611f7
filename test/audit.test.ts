// The audit chain: appends from many callers stay one chain, and `azusa audit verify` finds tampering.
import { sql } from "kysely";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.ts";
import { hashEvent } from "../src/domain/audit/audit.service.ts";
import { system } from "../src/kernel/actor.ts";
import { createLogger } from "../src/logger.ts";
import { type Azusa, buildAzusa } from "../src/server.ts";
import { runCli } from "./support/cli.ts";
import { createTestDatabase, dialects, type TestDatabase } from "./support/databases.ts";

describe.each(dialects)("the audit log on %s", (dialect) => {
  let db: TestDatabase;
  let azusa: Azusa;

  beforeEach(async () => {
    db = await createTestDatabase(dialect);
    azusa = buildAzusa(loadConfig(db.env), { logger: createLogger({ level: "silent" }) });
    await azusa.migrate();
    for (let i = 1; i <= 5; i++) {
      await azusa.audit.record(system("test"), "package.opened", `package:${i}`, { n: i }, { tenantId: "t1" });
    }
  });
  afterEach(async () => {
    await azusa.close();
    await db.drop();
  });

  const verify = () => runCli(["audit", "verify"], db.env);

  it("verifies an untouched chain", async () => {
    expect(await verify()).toMatchObject({ code: 0, stdout: "audit chain intact: 5 events\n" });
  });

  it("keeps one chain when many append at once", async () => {
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => azusa.audit.record(system("test"), "session.opened", `session:${i}`)),
    );
    expect(await azusa.audit.verify()).toEqual({ ok: true, checked: 45 });
  });

  it("keeps one chain when batches of events and single events interleave", async () => {
    const batch = (n: number) =>
      Array.from({ length: 150 }, (_, i) => ({
        action: "workspace.egress",
        subject: `workspace:${n}`,
        details: { i },
        tenantId: "t1",
      }));
    await Promise.all([
      azusa.audit.recordMany(system("egress"), batch(1)),
      azusa.audit.record(system("test"), "session.opened", "session:a"),
      azusa.audit.recordMany(system("egress"), batch(2)),
    ]);
    expect(await azusa.audit.verify()).toEqual({ ok: true, checked: 5 + 301 });
    const [newest] = await azusa.audit.list({ limit: 1 });
    expect(newest?.seq).toBe(306);
  });

  it("names a row whose details were edited", async () => {
    await sql`update audit_event set details = '{"n":99}' where seq = 3`.execute(azusa.db.kysely);
    const res = await verify();
    expect(res.code).toBe(1);
    expect(res.stdout).toBe("audit chain broken at event 3: changed\n");
  });

  it("names a row rewritten with a freshly computed hash", async () => {
    const row = await azusa.db.kysely
      .selectFrom("audit_event")
      .selectAll()
      .where("seq", "=", 2)
      .executeTakeFirstOrThrow();
    const forged = { ...row, seq: Number(row.seq), action: "package.cancelled" };
    await azusa.db.kysely
      .updateTable("audit_event")
      .set({ action: forged.action, hash: hashEvent(forged) })
      .where("seq", "=", 2)
      .execute();
    expect(await verify()).toMatchObject({
      code: 1,
      stdout: "audit chain broken at event 2: changed (event 3 no longer links to it)\n",
    });
  });

  it("names a removed row", async () => {
    await sql`delete from audit_event where seq = 4`.execute(azusa.db.kysely);
    expect(await verify()).toMatchObject({ code: 1, stdout: "audit chain broken at event 4: removed\n" });
  });

  it("notices that the newest row was removed", async () => {
    await sql`delete from audit_event where seq = 5`.execute(azusa.db.kysely);
    expect(await verify()).toMatchObject({ code: 1, stdout: "audit chain broken at event 5: removed\n" });
  });

  it("records a change and its audit event together or not at all", async () => {
    await expect(
      azusa.db.kysely.transaction().execute(async (trx) => {
        await azusa.audit.record(system("test"), "tenant.created", "tenant:x", {}, { trx });
        throw new Error("the change failed");
      }),
    ).rejects.toThrow("the change failed");
    expect(await azusa.audit.verify()).toEqual({ ok: true, checked: 5 });
  });
});
