// The audit chain: appends from many callers stay one chain, and `azusa audit verify` finds tampering, even
// by someone who can write the database and has the source code but not the key; with the checkpoints
// written outside the database it finds a removed tail too.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "kysely";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DEVELOPMENT_AUDIT_KEY, loadConfig } from "../src/config.ts";
import { hashEvent } from "../src/domain/audit/audit.service.ts";
import { startCheckpoints } from "../src/domain/audit/checkpoints.ts";
import { system } from "../src/kernel/actor.ts";
import { createLogger } from "../src/logger.ts";
import { type Azusa, buildAzusa } from "../src/server.ts";
import { runCli } from "./support/cli.ts";
import { createTestDatabase, dialects, type TestDatabase } from "./support/databases.ts";

/** The key of the tests' chains: set as an operator would, and unknown to the forger below. */
const AUDIT_KEY = "test-audit-key-kept-outside-the-database-0123456789";

describe.each(dialects)("the audit log on %s", (dialect) => {
  let db: TestDatabase;
  let azusa: Azusa;
  let env: Record<string, string>;

  beforeEach(async () => {
    db = await createTestDatabase(dialect);
    env = { ...db.env, AZUSA_AUDIT_KEY: AUDIT_KEY };
    azusa = buildAzusa(loadConfig(env), { logger: createLogger({ level: "silent" }) });
    await azusa.migrate();
    for (let i = 1; i <= 5; i++) {
      await azusa.audit.record(system("test"), "package.opened", `package:${i}`, { n: i }, { tenantId: "t1" });
    }
  });
  afterEach(async () => {
    await azusa.close();
    await db.drop();
  });

  const verify = (...args: string[]) => runCli(["audit", "verify", ...args], env);

  /**
   * What someone with write access to the database and the source code does: rewrite event `seq`, then link
   * every later event and the head again the way the code does, with the one key they can know (the
   * public development default) or none.
   */
  async function forge(seq: number, change: Record<string, string>, key: string | null): Promise<void> {
    const kysely = azusa.db.kysely;
    const rows = await kysely.selectFrom("audit_event").selectAll().orderBy("seq", "asc").execute();
    let prev = rows.find((r) => Number(r.seq) === seq - 1)?.hash ?? "0".repeat(64);
    for (const raw of rows.filter((r) => Number(r.seq) >= seq)) {
      const row = { ...raw, seq: Number(raw.seq), ...(Number(raw.seq) === seq ? change : {}), prev_hash: prev };
      prev = hashEvent(row, key);
      await kysely
        .updateTable("audit_event")
        .set({ ...(Number(raw.seq) === seq ? change : {}), prev_hash: row.prev_hash, hash: prev })
        .where("seq", "=", row.seq)
        .execute();
    }
    await kysely.updateTable("audit_head").set({ hash: prev }).where("id", "=", 1).execute();
  }

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

  it("names an event edited and relinked, with every later link and the head, by someone without the key", {
    timeout: 120_000,
  }, async () => {
    for (const key of [null, DEVELOPMENT_AUDIT_KEY]) {
      await forge(2, { action: "package.cancelled" }, key);
      expect(await verify()).toMatchObject({ code: 1, stdout: "audit chain broken at event 2: changed\n" });
    }
    // The same forgery with the key would pass: the key is what the chain's trust rests on.
    await forge(2, { action: "package.cancelled" }, AUDIT_KEY);
    expect(await verify()).toMatchObject({ code: 0 });
  });

  it("names an event edited by someone who also marks the chain as not yet keyed and links it plainly", {
    timeout: 120_000,
  }, async () => {
    // Every link redone in plain SHA-256 from the first event, as an unkeyed chain would have them.
    await forge(1, {}, null);
    await forge(2, { action: "package.cancelled" }, null);
    await azusa.db.kysely.updateTable("audit_head").set({ keyed: 0 }).where("id", "=", 1).execute();
    const res = await verify();
    expect(res.code).toBe(1);
    expect(res.stdout).not.toMatch(/intact/);
    expect(res.stdout).toMatch(/^audit chain broken at event 1: not keyed \(/);
  });

  /** A checkpoint writer for `file` that writes only when asked. */
  const checkpointsTo = (file: string) =>
    startCheckpoints({
      audit: azusa.audit,
      file,
      url: null,
      intervalMs: 3_600_000,
      logger: createLogger({ level: "silent" }),
    });

  it("does not key again, at start, a chain marked not keyed after its checkpoints were written", {
    timeout: 120_000,
  }, async () => {
    const outside = mkdtempSync(join(tmpdir(), "azusa-checkpoints-"));
    const file = join(outside, "audit.checkpoints");
    const withCheckpoints = buildAzusa(loadConfig({ ...env, AZUSA_AUDIT_CHECKPOINT_FILE: file }), {
      logger: createLogger({ level: "silent" }),
    });
    try {
      const writer = checkpointsTo(file);
      await writer.stop();
      await forge(1, {}, null);
      await forge(2, { action: "package.cancelled" }, null);
      await azusa.db.kysely.updateTable("audit_head").set({ keyed: 0 }).where("id", "=", 1).execute();
      await expect(withCheckpoints.migrate()).rejects.toThrow(/checkpoints signed with its key exist/);
      const head = await azusa.db.kysely.selectFrom("audit_head").select("keyed").executeTakeFirstOrThrow();
      expect(Number(head.keyed)).toBe(0);
      expect((await verify("--checkpoints", file)).code).toBe(1);
    } finally {
      await withCheckpoints.close();
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it("finds the newest events removed with the head moved back, against the checkpoints written outside", {
    timeout: 120_000,
  }, async () => {
    const outside = mkdtempSync(join(tmpdir(), "azusa-checkpoints-"));
    const file = join(outside, "audit.checkpoints");
    try {
      const writer = checkpointsTo(file);
      await writer.write();
      await writer.stop();
      expect(
        readFileSync(file, "utf8")
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l)),
      ).toEqual([expect.objectContaining({ seq: 5 })]);
      expect(await verify("--checkpoints", file)).toMatchObject({
        code: 0,
        stdout: "audit chain intact: 5 events, 1 checkpoints agree\n",
      });

      // The last two events go, and the head is set to the third, as it was then: the chain alone is intact.
      const third = await azusa.db.kysely
        .selectFrom("audit_event")
        .select("hash")
        .where("seq", "=", 3)
        .executeTakeFirstOrThrow();
      await sql`delete from audit_event where seq > 3`.execute(azusa.db.kysely);
      await azusa.db.kysely.updateTable("audit_head").set({ seq: 3, hash: third.hash }).where("id", "=", 1).execute();
      expect(await verify()).toMatchObject({ code: 0, stdout: "audit chain intact: 3 events\n" });
      const res = await verify("--checkpoints", file);
      expect(res.code).toBe(1);
      expect(res.stdout).toMatch(
        /^audit chain broken at event 4: removed \(the checkpoint of \S+ names event 5; the chain ends at event 3\)\n$/,
      );

      // A checkpoint not signed with the key is refused, not believed.
      const forged = { seq: 3, hash: third.hash, at: new Date().toISOString(), mac: "00".repeat(32) };
      const other = join(outside, "forged.checkpoints");
      writeFileSync(other, `${JSON.stringify(forged)}\n`);
      expect((await verify("--checkpoints", other)).stdout).toBe(
        "audit chain broken at event 0: checkpoint on line 1 is not signed with this key\n",
      );
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it("keys a chain written before the key existed, once its plain links check", { timeout: 120_000 }, async () => {
    // As an older Azusa left it: plain SHA-256 links, not keyed.
    await forge(1, {}, null);
    await azusa.db.kysely.updateTable("audit_head").set({ keyed: 0 }).where("id", "=", 1).execute();
    // Its plain links hold, yet verify does not call it intact: only a start keys it, after checking them.
    const unkeyed = await verify();
    expect(unkeyed.code).toBe(1);
    expect(unkeyed.stdout).toMatch(/^audit chain broken at event 1: not keyed \(/);
    expect(await azusa.audit.adoptKey()).toEqual({ adopted: 5 });
    expect(await azusa.audit.adoptKey()).toEqual({ adopted: 0 });
    expect(await verify()).toMatchObject({ code: 0, stdout: "audit chain intact: 5 events\n" });
    await forge(3, { action: "package.cancelled" }, null);
    expect(await verify()).toMatchObject({ code: 1, stdout: "audit chain broken at event 3: changed\n" });
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
