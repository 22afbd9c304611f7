// Two Azusa instances on one database: each firing of a schedule runs on one of them only, and a
// reminder is sent once, on SQLite and PostgreSQL alike.
import { spawn, spawnSync } from "node:child_process";
import { hostname } from "node:os";
import type { KyselyPlugin } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.ts";
import { addDays, tokyoDay, weekOf } from "../src/domain/timesheets/time.ts";
import { createJobLock, processOwner } from "../src/jobs/job-lock.ts";
import { runSchedule, type Schedule } from "../src/jobs/schedules.ts";
import { processLife } from "../src/kernel/process.ts";
import { createLogger } from "../src/logger.ts";
import { type Azusa, buildAzusa } from "../src/server.ts";
import { exited, until } from "./support/cli.ts";
import { createTestDatabase, dialects, type TestDatabase } from "./support/databases.ts";

const logger = createLogger({ level: "silent" });

/** A promise and the hand that settles it. */
function deferred() {
  let resolve = () => {};
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe.each(dialects)("schedules on two instances sharing %s", (dialect) => {
  let database: TestDatabase;
  let a: Azusa;
  let b: Azusa;

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    const config = loadConfig({ ...database.env, AZUSA_SCHEDULES: "off", AZUSA_LOG_LEVEL: "silent" });
    a = buildAzusa(config, { logger });
    b = buildAzusa(config, { logger });
    await a.migrate();
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await database?.drop();
  });

  it("runs one firing once, whichever instance takes the lock, and the next firing again", async () => {
    let runs = 0;
    const gate = deferred();
    // If the lock failed, both runs would wait here; the gate then opens by itself and the count shows it.
    const fallback = setTimeout(gate.resolve, 5_000);
    const job: Schedule = {
      name: `test.count.${dialect}`,
      cron: "* * * * *",
      run: async () => {
        runs++;
        await gate.promise;
      },
    };
    const at = new Date("2026-11-23T00:00:10Z");
    const first = runSchedule(job, a.jobLock, logger, at);
    const second = runSchedule(job, b.jobLock, logger, at);
    // The instance that lost the lock answers at once, while the other is still at work.
    expect(await Promise.race([first, second])).toBe(false);
    gate.resolve();
    clearTimeout(fallback);
    expect((await Promise.all([first, second])).sort()).toEqual([false, true]);
    expect(runs).toBe(1);
    // The lock is free again, but this minute has run: a late instance does not run it a second time.
    expect(await runSchedule(job, b.jobLock, logger, new Date("2026-11-23T00:00:40Z"))).toBe(false);
    expect(await runSchedule(job, b.jobLock, logger, new Date("2026-11-23T00:01:05Z"))).toBe(true);
    expect(runs).toBe(2);
  });

  it("keeps the lock of a job that runs longer than the lock's lifetime", async () => {
    // Each instance's own clock, moved by hand: the holder renews on a short real interval.
    let clock = new Date("2026-11-23T03:00:00Z").getTime();
    const now = () => new Date(clock);
    const ttlMs = 60_000;
    const holder = createJobLock({ db: a.db.kysely, ttlMs, renewMs: 10, now });
    const other = createJobLock({ db: b.db.kysely, ttlMs, now });
    const name = `test.long.${dialect}`;
    const expiry = async () =>
      (await a.db.kysely.selectFrom("job_lock").select("expires_at").where("name", "=", name).executeTakeFirst())
        ?.expires_at;
    const gate = deferred();
    const fallback = setTimeout(gate.resolve, 10_000);
    const running = holder.run(name, "slot-1", () => gate.promise);
    await expect.poll(expiry).toBe("2026-11-23T03:01:00.000Z");
    // Most of its lifetime later, a renewal pushes the expiry out from the holder's now.
    clock += 50_000;
    await expect.poll(expiry, { timeout: 5_000 }).toBe("2026-11-23T03:01:50.000Z");
    // Past the first expiry the next slot's firing finds the lock still held.
    clock += 20_000;
    expect(await other.run(name, "slot-2", async () => undefined)).toBe(false);
    gate.resolve();
    clearTimeout(fallback);
    expect(await running).toBe(true);
    expect(await other.run(name, "slot-2", async () => undefined)).toBe(true);
  });

  it("warns when a holder's lock was taken over while its job still runs", async () => {
    const warnings: { msg: string; job?: string }[] = [];
    const warnLogger = createLogger({
      level: "warn",
      destination: { write: (line) => warnings.push(JSON.parse(line)) },
    });
    const holder = createJobLock({ db: a.db.kysely, renewMs: 5, logger: warnLogger });
    const name = `test.lost.${dialect}`;
    const gate = deferred();
    const fallback = setTimeout(gate.resolve, 10_000);
    const running = holder.run(name, "slot-1", () => gate.promise);
    await expect
      .poll(() => a.db.kysely.selectFrom("job_lock").select("owner").where("name", "=", name).executeTakeFirst())
      .toEqual({ owner: holder.owner });
    // Another instance took the lock over (as it may once the lock has expired).
    await b.db.kysely.updateTable("job_lock").set({ owner: "another-instance" }).where("name", "=", name).execute();
    await expect
      .poll(() => warnings.map((w) => w.msg))
      .toContain("job lock lost while the job runs: it expired and was taken over");
    gate.resolve();
    clearTimeout(fallback);
    expect(await running).toBe(true);
    expect(warnings.filter((w) => w.job === name)).toHaveLength(1); // told once, not on every tick
  });

  it("skips a renewal while the previous one is still in flight instead of queueing them", async () => {
    // The holder's database answers its updates only once `slow` opens: its first renewal hangs.
    const slow = deferred();
    let updates = 0;
    const held = new Set<unknown>();
    const plugin: KyselyPlugin = {
      transformQuery: ({ node, queryId }) => {
        if (node.kind === "UpdateQueryNode") {
          updates++;
          held.add(queryId);
        }
        return node;
      },
      transformResult: async ({ result, queryId }) => {
        if (held.has(queryId)) await slow.promise;
        return result;
      },
    };
    const holder = createJobLock({ db: a.db.kysely.withPlugin(plugin), renewMs: 5 });
    const work = deferred();
    const running = holder.run(`test.slow.${dialect}`, "slot-1", () => work.promise);
    await expect.poll(() => updates).toBe(1);
    // Twenty intervals pass while the first renewal hangs.
    await new Promise((resolve) => setTimeout(resolve, 100));
    slow.resolve();
    work.resolve();
    expect(await running).toBe(true);
    // The one renewal, and the release: no backlog of renewals ran once the database answered.
    expect(updates).toBe(2);
  });

  it("tells which leases a live process holds, and frees at once those of an earlier life of this process", async () => {
    const prefix = `test.held.${dialect}:`;
    const db = a.db.kysely;
    const expires_at = new Date(Date.now() + 60_000).toISOString();
    const id = `process-held-${dialect}`;
    const host = hostname();
    const taker = createJobLock({ db, owner: processOwner(id) });
    // A process of this host that has exited: its pid is not running any more.
    const gone = spawnSync(process.execPath, ["-e", ""]).pid as number;
    // A live process sharing the process id (another process on the same data directory).
    const sibling = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60_000)"], { stdio: "ignore" });
    await until("the sibling's life", async () => processLife(sibling.pid as number) || undefined);
    const owners = {
      mine: processOwner(id),
      earlier: `${id}/${host}/${gone}/${processLife(process.pid)}/dead`,
      // A restart that got the same pid (a container's pid 1): the pid runs, but another life of it.
      reused: `${id}/${host}/${process.pid}/${processLife(process.pid).replace(/\.\d+$/, ".1")}/beef`,
      sibling: `${id}/${host}/${sibling.pid}/${processLife(sibling.pid as number)}/cafe`,
      // Another process's lease, even of a pid that is gone: it waits for its expiry.
      stranger: `process-other/${host}/${gone}/${processLife(process.pid)}/dead`,
      elsewhere: `${id}/another-host/${gone}/x/dead`,
      opaque: "another-process",
    };
    try {
      for (const [name, owner] of Object.entries(owners)) {
        await db
          .insertInto("job_lock")
          .values({ name: `${prefix}${name}`, owner, expires_at, slot: "s" })
          .execute();
      }
      await db
        .insertInto("job_lock")
        .values({ name: `${prefix}expired`, owner: owners.mine, expires_at: new Date(0).toISOString(), slot: "s" })
        .execute();
      expect([...(await taker.held(prefix))].sort()).toEqual(["elsewhere", "mine", "opaque", "sibling", "stranger"]);
      // The earlier life's leases are free at once: taken over without waiting for their expiry.
      expect(await taker.run(`${prefix}earlier`, "t", async () => {})).toBe(true);
      expect(await taker.run(`${prefix}reused`, "t", async () => {})).toBe(true);
      for (const live of ["mine", "sibling", "stranger"])
        expect(await taker.run(`${prefix}${live}`, "t", async () => {})).toBe(false);
    } finally {
      sibling.kill("SIGKILL");
    }
    // Once the sibling is gone too, its leases are free.
    await exited(sibling);
    expect(await taker.run(`${prefix}sibling`, "t", async () => {})).toBe(true);
  });

  it("sends the Monday reminder for last week's draft once when both instances fire", async () => {
    const db = a.db.kysely;
    const now = new Date().toISOString();
    const lastWeek = addDays(weekOf(tokyoDay(Date.now())), -7);
    await db.insertInto("tenant").values({ id: "tenant-lock", name: "東京SI", created_at: now }).execute();
    await db
      .insertInto("contract")
      .values({
        id: "contract-lock",
        tenant_id: "tenant-lock",
        client: "信州銀行",
        title: "勘定系保守",
        type: "juninin",
        confidentiality: "internal",
        budget_yen: null,
        period_start: "2026-01-01",
        period_end: "2027-12-31",
        monthly_fee_yen: 800_000,
        band_min_hours: 140,
        band_max_hours: 180,
        over_rate_yen: 5_000,
        under_rate_yen: 6_000,
        source_repository: null,
        max_package_hours: 80,
        created_by: "someone",
        created_at: now,
        updated_at: now,
      })
      .execute();
    await db
      .insertInto("timesheet")
      .values({
        id: "sheet-lock",
        engineer_id: "engineer-lock",
        contract_id: "contract-lock",
        tenant_id: "tenant-lock",
        week_start: lastWeek,
        state: "draft",
        reason: null,
        submitted_at: null,
        decided_at: null,
        decided_by: null,
        updated_at: now,
      })
      .execute();
    const remindOn = (azusa: Azusa) => azusa.schedules.find((s) => s.name === "timesheets.remind") as Schedule;
    const at = new Date();
    const ran = await Promise.all([
      runSchedule(remindOn(a), a.jobLock, logger, at),
      runSchedule(remindOn(b), b.jobLock, logger, at),
    ]);
    expect(ran.filter(Boolean)).toHaveLength(1);
    const told = await db.selectFrom("notification").selectAll().where("user_id", "=", "engineer-lock").execute();
    expect(told.map((n) => n.title)).toEqual([`${lastWeek} の週のタイムシートを提出してください（勘定系保守）`]);
    const lock = await db.selectFrom("job_lock").selectAll().where("name", "=", "timesheets.remind").executeTakeFirst();
    expect([a.jobLock.owner, b.jobLock.owner]).toContain(lock?.owner);
  });
});
