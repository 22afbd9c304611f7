// Repeated authentication failures lock out a source address and an account (the package asked for) for a
// while, across connections; kept in memory, so a restart forgets them.

/** How many failures within `windowMs` lock a key out, and for how long. */
export interface LockoutOptions {
  maxFailures?: number;
  windowMs?: number;
  lockMs?: number;
  now?: () => number;
}

/** Failure counters per key ("addr:…", "user:…"). */
export function createLockout({
  maxFailures = 5,
  windowMs = 10 * 60_000,
  lockMs = 15 * 60_000,
  now = Date.now,
}: LockoutOptions = {}) {
  const failures = new Map<string, number[]>();
  const lockedUntil = new Map<string, number>();

  function prune(key: string, at: number): number[] {
    const recent = (failures.get(key) ?? []).filter((t) => at - t < windowMs);
    if (recent.length) failures.set(key, recent);
    else failures.delete(key);
    return recent;
  }

  return {
    /** True while `key` is locked out. */
    locked(key: string): boolean {
      const until = lockedUntil.get(key);
      if (until === undefined) return false;
      if (until > now()) return true;
      lockedUntil.delete(key);
      return false;
    },
    /** True while `key` is locked out or has failures within the window. */
    failedRecently(key: string): boolean {
      return this.locked(key) || prune(key, now()).length > 0;
    },
    /** Forgets `key`'s failures (after a success); a lock in force stays. */
    clear(key: string): void {
      failures.delete(key);
    },
    /** Counts a failure for each key; returns the keys this failure locked. */
    fail(...keys: string[]): string[] {
      const at = now();
      const locked: string[] = [];
      for (const key of keys) {
        const recent = [...prune(key, at), at];
        failures.set(key, recent);
        if (recent.length >= maxFailures) {
          lockedUntil.set(key, at + lockMs);
          failures.delete(key);
          locked.push(key);
        }
      }
      // Keep memory bounded under a scan from many addresses.
      if (failures.size > 100_000) for (const k of [...failures.keys()].slice(0, 50_000)) failures.delete(k);
      return locked;
    },
  };
}

export type Lockout = ReturnType<typeof createLockout>;
