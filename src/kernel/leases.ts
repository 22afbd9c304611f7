// Leases of work in flight, shared by the processes on one database (a `job_lock` row: owner, expiry, renewed
// while the work runs), as the domain sees them: work another live process holds is left to it.

export interface Leases {
  /** Runs `work` under the lease `name` if nobody live holds it; resolves to whether it ran. */
  run(name: string, slot: string, work: () => Promise<unknown>): Promise<boolean>;
  /** The names below `prefix` (without it) whose lease a live process holds. */
  held(prefix: string): Promise<Set<string>>;
}
