// The schedules Azusa runs on its own: each calls a domain service, never a route. Every run takes the
// schedule's database lock first, so instances sharing a database never run one firing twice.
import cron, { type ScheduledTask } from "node-cron";
import { tokyoDate } from "../domain/dates.ts";
import type { DeliveryService } from "../domain/delivery/delivery.service.ts";
import type { EngineerService } from "../domain/engineers/engineers.service.ts";
import type { NotificationService } from "../domain/notifications/notifications.service.ts";
import type { ReminderService } from "../domain/notifications/reminders.service.ts";
import type { OfferService } from "../domain/offers/offers.service.ts";
import type { InterestService } from "../domain/offices/interest.service.ts";
import type { PullService } from "../domain/pulls/pulls.service.ts";
import type { TaskEntryService } from "../domain/tasks/entries.service.ts";
import type { WarmPool } from "../domain/workspaces/warm-pool.ts";
import type { WorkspaceService } from "../domain/workspaces/workspaces.service.ts";
import { system } from "../kernel/actor.ts";
import { AppError } from "../kernel/errors.ts";
import type { Logger } from "../logger.ts";
import { type JobLock, slotOf } from "./job-lock.ts";

/** One schedule: a cron expression in Asia/Tokyo and the work it does. */
export interface Schedule {
  name: string;
  cron: string;
  run(): Promise<unknown>;
}

/** Azusa's schedules, for `startSchedules` and for tests that run them by hand. */
export function schedules({
  offers,
  engineers,
  reminders,
  deliveries,
  notifications,
  pulls,
  workspaces,
  pool,
  tasks,
  interests,
}: {
  offers: OfferService;
  engineers: EngineerService;
  reminders?: ReminderService;
  deliveries?: DeliveryService;
  notifications?: NotificationService;
  pulls?: PullService;
  workspaces?: WorkspaceService;
  pool?: WarmPool;
  tasks?: TaskEntryService;
  interests?: InterestService;
}): Schedule[] {
  const list: Schedule[] = [
    { name: "offers.expire", cron: "* * * * *", run: () => offers.expireOffers() },
    // Just after midnight in Tokyo, when a record's last valid day has ended.
    { name: "vetting.expire", cron: "5 0 * * *", run: () => engineers.expireVetting(system("schedule")) },
    ...(workspaces
      ? [
          { name: "workspaces.reconcile", cron: "*/5 * * * *", run: () => workspaces.reconcile() },
          { name: "workspaces.idle", cron: "* * * * *", run: () => workspaces.stopIdle() },
          { name: "workspaces.ended", cron: "* * * * *", run: () => workspaces.stopEnded() },
          { name: "workspaces.retention", cron: "17 * * * *", run: () => workspaces.disposeRetained() },
        ]
      : []),
    ...(pool ? [{ name: "workspaces.pool", cron: "* * * * *", run: () => pool.fill() }] : []),
  ];
  // Notices pushes to the forks of open pull requests (reads also notice them at once).
  // Merges a crash interrupted are settled first (the branch and the pull request agree again).
  if (pulls) {
    list.push({
      name: "pulls.refresh",
      cron: "*/5 * * * *",
      run: async () => ({ settled: await pulls.settleMerges(), refreshed: await pulls.refreshOpen() }),
    });
  }
  // Forks a merge could not reach (stopped then) brought up to date; canonical repositories packed.
  if (pulls) list.push({ name: "repositories.maintain", cron: "23 * * * *", run: () => pulls.maintainRepositories() });
  if (reminders) {
    list.push(
      // Monday morning: last week's timesheets that are not submitted yet.
      { name: "timesheets.remind", cron: "0 9 * * 1", run: () => reminders.timesheets() },
      { name: "offers.remind", cron: "0 * * * *", run: () => reminders.offers(24) },
      { name: "vetting.remind", cron: "0 9 * * *", run: () => reminders.vetting(30) },
      // Life-guide sections a year past their last review, to the office's operators.
      { name: "guides.remind", cron: "15 9 * * *", run: () => reminders.guides() },
    );
  }
  if (tasks) {
    // After midnight in Tokyo: a batch whose last day of retention has ended has its values destroyed.
    list.push({
      name: "tasks.dispose",
      cron: "10 0 * * *",
      run: () => tasks.disposeExpired(system("schedule"), tokyoDate(new Date())),
    });
    // Items taken and not sent within the hold go back to the batch, for another keyer.
    list.push({ name: "tasks.reclaim", cron: "* * * * *", run: () => tasks.reclaimOverdue(system("schedule")) });
  }
  // After midnight in Tokyo: interest registrations past their retention period are deleted.
  if (interests) list.push({ name: "interests.dispose", cron: "20 0 * * *", run: () => interests.disposeExpired() });
  if (deliveries) list.push({ name: "payments.remind", cron: "30 9 * * *", run: () => deliveries.remindPayments(7) });
  // Deliveries a restart or a stopped timer left pending.
  if (notifications) list.push({ name: "webhooks.retry", cron: "* * * * *", run: () => notifications.dispatch() });
  return list;
}

/**
 * Runs one firing of a schedule under its lock; `at` is when cron fired (the slot every instance
 * agrees on). Resolves to whether this instance ran it. A failed run is logged, not thrown.
 */
export async function runSchedule(s: Schedule, lock: JobLock | undefined, logger: Logger, at = new Date()) {
  try {
    if (!lock) {
      const result = await s.run();
      logger.debug({ schedule: s.name, result }, "schedule ran");
      return true;
    }
    let result: unknown;
    const ran = await lock.run(s.name, slotOf(at), async () => {
      result = await s.run();
    });
    logger.debug({ schedule: s.name, ran, owner: lock.owner, result }, ran ? "schedule ran" : "schedule run elsewhere");
    return ran;
  } catch (err) {
    // The database away (PostgreSQL restarting): said in one line without a stack; the next firing tries again.
    if (err instanceof AppError && err.code === "UNAVAILABLE") {
      logger.warn({ schedule: s.name }, "schedule skipped: the database does not answer; the next firing tries again");
      return false;
    }
    logger.error({ schedule: s.name, err }, "schedule failed");
    return false;
  }
}

/** Starts every schedule; a failed run is logged and the schedule goes on. Returns a stop function. */
export function startSchedules(list: Schedule[], logger: Logger, lock?: JobLock): () => Promise<void> {
  const tasks: ScheduledTask[] = list.map((s) =>
    cron.schedule(
      s.cron,
      async (ctx) => {
        await runSchedule(s, lock, logger, ctx?.date ?? new Date());
      },
      { timezone: "Asia/Tokyo", noOverlap: true, name: s.name },
    ),
  );
  return async () => {
    await Promise.all(tasks.map((t) => t.destroy()));
  };
}
