// The schedules Azusa runs on its own: each calls a domain service, never a route.
import cron, { type ScheduledTask } from "node-cron";
import { system } from "../domain/actor.ts";
import type { EngineerService } from "../domain/engineers/engineers.service.ts";
import type { OfferService } from "../domain/offers/offers.service.ts";
import type { WarmPool } from "../domain/workspaces/warm-pool.ts";
import type { WorkspaceService } from "../domain/workspaces/workspaces.service.ts";
import type { Logger } from "../logger.ts";

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
  workspaces,
  pool,
}: {
  offers: OfferService;
  engineers: EngineerService;
  workspaces?: WorkspaceService;
  pool?: WarmPool;
}): Schedule[] {
  return [
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
}

/** Starts every schedule; a failed run is logged and the schedule goes on. Returns a stop function. */
export function startSchedules(list: Schedule[], logger: Logger): () => Promise<void> {
  const tasks: ScheduledTask[] = list.map((s) =>
    cron.schedule(
      s.cron,
      async () => {
        try {
          const result = await s.run();
          logger.debug({ schedule: s.name, result }, "schedule ran");
        } catch (err) {
          logger.error({ schedule: s.name, err }, "schedule failed");
        }
      },
      { timezone: "Asia/Tokyo", noOverlap: true, name: s.name },
    ),
  );
  return async () => {
    await Promise.all(tasks.map((t) => t.destroy()));
  };
}
