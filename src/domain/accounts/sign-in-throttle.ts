// Sign-in attempts and failures counted in the database, so that every Azusa process on one database shares
// them: the sign-in form's limit per address, Git's failed Basic sign-ins, and the SSH gateway's lockouts.
// Windows slide: an attempt counts for exactly `windowMs` after it was made, not until a clock minute ends.
import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import type { Database } from "../../db/schema.ts";

/** Attempts and failures older than this are of no use to any window and are removed. */
const HORIZON_MS = 60 * 60_000;

/** The answer to an attempt: admitted, or refused with the seconds until one will be admitted again. */
export type Admission = { ok: true } | { ok: false; retryAfterSeconds: number };

/** At most `limit` attempts per key within any `windowMs`, counted across processes. */
export interface AttemptLimit {
  admit(key: string): Promise<Admission>;
}

/**
 * Failure counters per key (an address, a package asked for): `maxFailures` within `windowMs` lock the key
 * for `lockMs`, across connections and processes.
 */
export interface Lockout {
  /** True while `key` is locked out. */
  locked(key: string): Promise<boolean>;
  /** True while `key` is locked out or has failures within the window. */
  failedRecently(key: string): Promise<boolean>;
  /** Forgets `key`'s failures (after a success); a lock in force stays. */
  clear(key: string): Promise<void>;
  /** Counts a failure for each key; resolves to the keys this failure locked. */
  fail(...keys: string[]): Promise<string[]>;
}

export interface SignInThrottleOptions {
  db: Kysely<Database>;
  now?: () => number;
}

/** The attempt limits and lockouts of one process; every key is kept under a scope (`web`, `git`, `ssh-addr`…). */
export function createSignInThrottle({ db, now = Date.now }: SignInThrottleOptions) {
  let prunedAt = 0;

  /** Old attempts and ended locks go, at most once a minute per process. */
  async function prune(at: number): Promise<void> {
    if (at - prunedAt < 60_000) return;
    prunedAt = at;
    await db
      .deleteFrom("sign_in_attempt")
      .where("at", "<", at - HORIZON_MS)
      .execute();
    await db.deleteFrom("sign_in_lock").where("until", "<", at).execute();
  }

  async function record(key: string, at: number): Promise<string> {
    const id = randomUUID();
    await db.insertInto("sign_in_attempt").values({ id, key, at }).execute();
    return id;
  }

  /** Attempts under `key` since `since`, this one included once it is written. */
  async function countSince(key: string, since: number): Promise<number> {
    const row = await db
      .selectFrom("sign_in_attempt")
      .select((eb) => eb.fn.countAll().as("n"))
      .where("key", "=", key)
      .where("at", ">", since)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  return {
    /** At most `limit` attempts under each key of `scope` within any `windowMs`. */
    attempts(scope: string, { limit, windowMs = 60_000 }: { limit: number; windowMs?: number }): AttemptLimit {
      return {
        async admit(name) {
          const key = `${scope}:${name}`;
          const at = now();
          await prune(at);
          // Written first, then counted: of attempts made at once in several processes, each counts every one
          // written before its own, so no more than `limit` are ever admitted (a tie may refuse one too many).
          const id = await record(key, at);
          if ((await countSince(key, at - windowMs)) <= limit) return { ok: true };
          await db.deleteFrom("sign_in_attempt").where("id", "=", id).execute();
          const oldest = await db
            .selectFrom("sign_in_attempt")
            .select((eb) => eb.fn.min("at").as("at"))
            .where("key", "=", key)
            .where("at", ">", at - windowMs)
            .executeTakeFirst();
          const frees = Number(oldest?.at ?? at) + windowMs;
          return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((frees - at) / 1000)) };
        },
      };
    },

    /** A lockout over the keys of `scope`. */
    lockout(scope: string, { maxFailures = 5, windowMs = 10 * 60_000, lockMs = 15 * 60_000 } = {}): Lockout {
      const keyOf = (name: string) => `${scope}:${name}`;
      async function locked(name: string): Promise<boolean> {
        const row = await db
          .selectFrom("sign_in_lock")
          .select("until")
          .where("key", "=", keyOf(name))
          .where("until", ">", now())
          .executeTakeFirst();
        return row !== undefined;
      }
      return {
        locked,
        async failedRecently(name) {
          return (await locked(name)) || (await countSince(keyOf(name), now() - windowMs)) > 0;
        },
        async clear(name) {
          await db.deleteFrom("sign_in_attempt").where("key", "=", keyOf(name)).execute();
        },
        async fail(...names) {
          const at = now();
          await prune(at);
          const lockedNow: string[] = [];
          for (const name of names) {
            const key = keyOf(name);
            await record(key, at);
            if ((await countSince(key, at - windowMs)) < maxFailures) continue;
            const until = at + lockMs;
            await db
              .insertInto("sign_in_lock")
              .values({ key, until })
              .onConflict((oc) => oc.column("key").doUpdateSet({ until }))
              .execute();
            await db.deleteFrom("sign_in_attempt").where("key", "=", key).execute();
            lockedNow.push(name);
          }
          return lockedNow;
        },
      };
    },
  };
}

export type SignInThrottle = ReturnType<typeof createSignInThrottle>;
