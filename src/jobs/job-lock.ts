// A lock per schedule in the database (a `job_lock` row: owner, expiry and the minute it was taken for),
// so that instances sharing one database run each firing of a schedule once, on SQLite and PostgreSQL alike.
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { Kysely } from "kysely";
import type { Database } from "../db/schema.ts";
import { processAlive, processLife } from "../kernel/process.ts";
import type { Logger } from "../logger.ts";

/** The minute a firing belongs to: every instance woken by the same cron tick agrees on it. */
export const slotOf = (at: Date): string => new Date(Math.floor(at.getTime() / 60_000) * 60_000).toISOString();

/**
 * An owner that names its process: `<process id>/<host>/<pid>/<life>/<random>`, where the process id is the one
 * kept in the process's own data directory (stable across its restarts) and the life tells this run of the pid
 * from any other (`processLife`). A process started again on the same data directory thereby knows the leases
 * its previous life left (kill -9, the machine stopped) and takes them over at once rather than wait for them
 * to expire; a lease of any other process waits for its expiry.
 */
export const processOwner = (processId: string): string =>
  [processId, hostname(), process.pid, processLife(process.pid), randomUUID().slice(0, 8)].join("/");

/**
 * Whether `owner` names an earlier life of this process: the same process id on the same host, and its pid no
 * longer runs, or runs another life (a restart that got the same pid). Owners sharing a process id (processes
 * on one data directory, of one machine) that still run are live; any other owner cannot be asked.
 */
function ownerGone(owner: string, mine: string): boolean {
  const [id, host, pid, life] = owner.split("/");
  const [myId, myHost] = mine.split("/");
  if (!id || id !== myId || host !== myHost || !pid || !/^\d+$/.test(pid)) return false;
  if (owner === mine) return false;
  if (!processAlive(Number(pid))) return true;
  // The pid runs: gone only if it is another life of that pid (where the life can be told at all).
  const now = processLife(Number(pid));
  return !!life && !!now && life !== now;
}

export interface JobLock {
  /** Who this instance is in the `owner` column. */
  readonly owner: string;
  /**
   * Runs `work` if this instance takes the lock for `name` in `slot`: nobody holds an unexpired lock (a lock an
   * earlier life of this process left counts as free), and nobody ran this slot already. Resolves to whether it ran.
   */
  run(name: string, slot: string, work: () => Promise<unknown>): Promise<boolean>;
  /**
   * The names below `prefix` (without it) whose lock a live holder has: unexpired, and not held by an earlier life
   * of this process (`processOwner`); the locks of such a life are released on the way.
   */
  held(prefix: string): Promise<Set<string>>;
}

export function createJobLock({
  db,
  owner = randomUUID(),
  ttlMs = 10 * 60_000,
  renewMs = ttlMs / 3,
  now = () => new Date(),
  logger,
}: {
  db: Kysely<Database>;
  /** Told when a holder finds its lock taken over while its job still runs; none by default. */
  logger?: Pick<Logger, "warn">;
  owner?: string;
  /** A crashed holder's lock is free again after this long. */
  ttlMs?: number;
  /** How often a holder at work pushes its expiry out again, so a job longer than `ttlMs` keeps its lock. */
  renewMs?: number;
  now?: () => Date;
}): JobLock {
  /** Takes the lock, or the lock an earlier life of this process left (without waiting for its expiry). */
  async function acquire(name: string, slot: string): Promise<boolean> {
    if (await take(name, slot)) return true;
    const row = await db.selectFrom("job_lock").select("owner").where("name", "=", name).executeTakeFirst();
    if (!row || !ownerGone(row.owner, owner)) return false;
    await free(name, row.owner, now().toISOString());
    return take(name, slot);
  }

  /** Expires the lock `name` now, if `holder` still has it. */
  async function free(name: string, holder: string, at: string): Promise<void> {
    await db
      .updateTable("job_lock")
      .set({ expires_at: at })
      .where("name", "=", name)
      .where("owner", "=", holder)
      .execute();
  }

  async function take(name: string, slot: string): Promise<boolean> {
    const at = now();
    const expires_at = new Date(at.getTime() + ttlMs).toISOString();
    // One statement, atomic on both engines: insert the row, or take it over only if it has expired
    // and was taken for another slot. Zero rows written means somebody else has it or had it.
    const result = await db
      .insertInto("job_lock")
      .values({ name, owner, expires_at, slot })
      .onConflict((oc) =>
        oc
          .column("name")
          .doUpdateSet({ owner, expires_at, slot })
          .where("job_lock.expires_at", "<=", at.toISOString())
          .where("job_lock.slot", "!=", slot),
      )
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  /** Pushes the expiry out; false when the row is no longer this instance's (it expired and was taken over). */
  async function renew(name: string): Promise<boolean> {
    const done = await db
      .updateTable("job_lock")
      .set({ expires_at: new Date(now().getTime() + ttlMs).toISOString() })
      .where("name", "=", name)
      .where("owner", "=", owner)
      .executeTakeFirst();
    return Number(done.numUpdatedRows) === 1;
  }

  const release = (name: string) => free(name, owner, now().toISOString());

  return {
    owner,
    async held(prefix) {
      const at = now().toISOString();
      const rows = await db
        .selectFrom("job_lock")
        .select(["name", "owner"])
        .where("name", "like", `${prefix}%`)
        .where("expires_at", ">", at)
        .execute();
      const live = new Set<string>();
      for (const r of rows) {
        if (!r.name.startsWith(prefix)) continue;
        if (!ownerGone(r.owner, owner)) {
          live.add(r.name.slice(prefix.length));
          continue;
        }
        await free(r.name, r.owner, at);
      }
      return live;
    },
    async run(name, slot, work) {
      if (!(await acquire(name, slot))) return false;
      // Renewals never overlap: a tick that finds one still in flight is skipped, so a slow database
      // does not pile them up.
      let renewing: Promise<void> | undefined;
      let lost = false;
      const timer = setInterval(() => {
        if (renewing) return;
        renewing = renew(name)
          .then(
            (held) => {
              if (held || lost) return;
              lost = true;
              // The job goes on (it cannot be stopped halfway safely), but another instance may run it too.
              logger?.warn(
                { job: name, owner, slot },
                "job lock lost while the job runs: it expired and was taken over",
              );
            },
            (err: unknown) => logger?.warn({ job: name, owner, err }, "job lock renewal failed"),
          )
          .finally(() => {
            renewing = undefined;
          });
      }, renewMs);
      timer.unref();
      try {
        await work();
      } finally {
        clearInterval(timer);
        await renewing;
        await release(name);
      }
      return true;
    },
  };
}
