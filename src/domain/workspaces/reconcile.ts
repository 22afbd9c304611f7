// Reconcile: compares what this instance owns on the engine with the workspace rows, and makes them
// agree after a crash or a hand on the engine: re-adopt, remove orphans, mark vanished, settle stuck rows.

import type { Kysely } from "kysely";
import type { Database, WorkspaceTable } from "../../db/schema.ts";
import type { Actor } from "../../kernel/actor.ts";
import type { OwnedObject, WorkspaceDriver } from "../../provisioner/driver.ts";
import { egressProxyRole } from "../../provisioner/egress-host-side.ts";
import type { AuditService } from "../audit/audit.service.ts";

/** What one reconcile pass did, by kind of action. */
export interface ReconcileResult {
  adopted: number;
  orphansRemoved: number;
  vanished: number;
  resumed: number;
  corrected: number;
  /** Assignments a crash left without a workspace, provisioned now. */
  provisioned: number;
}

/** What reconcile needs from the workspace service. */
export interface ReconcileDeps {
  db: Kysely<Database>;
  audit: AuditService;
  driver: WorkspaceDriver;
  actor: Actor;
  /**
   * Workspaces a live process (this one, or another on the same database) is provisioning or checking out now:
   * their objects are half-made on purpose. Asked before the rows are read and again after the engine is.
   */
  busy(): Set<string> | Promise<Set<string>>;
  /** Warm-pool ids the pool holds or is making. */
  pooled(): Set<string>;
  /** Moves a row to a state with its reason, audited (the workspace service's setState). */
  setState(
    row: WorkspaceTable,
    state: "running" | "stopped" | "failed",
    reason: string,
    details: Record<string, unknown>,
  ): Promise<void>;
  /** Provisions a row again from the start (it stays `provisioning`); in the background. */
  resume(row: WorkspaceTable): void;
  now(): Date;
  /**
   * The workspace host whose engine `driver` reaches: only its rows are compared with that engine (the default
   * host's include rows made before hosts existed). Without it, every row.
   */
  host?: { id: string; isDefault: boolean };
}

const live = ["provisioning", "running", "stopped", "failed"];

/** One pass; every action is an audit event. Safe to run while the service works: busy rows are skipped. */
export async function reconcile(deps: ReconcileDeps): Promise<ReconcileResult> {
  const { db, audit, driver, actor } = deps;
  const result: ReconcileResult = {
    adopted: 0,
    orphansRemoved: 0,
    vanished: 0,
    resumed: 0,
    corrected: 0,
    provisioned: 0,
  };
  // Rows first, then the engine: an object made after the rows were read belongs to a busy workspace.
  const busyBefore = await deps.busy();
  const pooledBefore = deps.pooled();
  const host = deps.host;
  let query = db.selectFrom("workspace").selectAll().where("state", "in", live);
  if (host) {
    query = host.isDefault
      ? query.where((eb) => eb.or([eb("host_id", "=", host.id), eb("host_id", "is", null)]))
      : query.where("host_id", "=", host.id);
  }
  const rows = await query.execute();
  const objects = await driver.inventory();
  const busy = new Set([...busyBefore, ...(await deps.busy())]);
  const pooled = new Set([...pooledBefore, ...deps.pooled()]);
  const kept = new Set<string>();
  const labelled = (id: string) => objects.filter((o) => o.workspaceId === id);

  for (const row of rows) {
    if (busy.has(row.id)) continue;
    const mine = labelled(row.id);
    const container =
      objects.find((o) => o.kind === "container" && o.id === row.container_id) ??
      mine.find((o) => o.kind === "container" && o.role === "workspace");
    const volume = row.volume ?? container?.volume ?? mine.find((o) => o.kind === "volume")?.id ?? null;

    if (row.state === "provisioning") {
      // Provisioning that no process is doing: a crash stopped it.
      const ended = await db
        .selectFrom("assignment")
        .select("ended_at")
        .where("id", "=", row.assignment_id)
        .executeTakeFirst();
      if (container && volume && !ended?.ended_at) {
        await db
          .updateTable("workspace")
          .set({ container_id: container.id, volume })
          .where("id", "=", row.id)
          .execute();
        await driver.start({ id: row.id, containerId: container.id, volume });
        kept.add(container.id).add(volume);
        for (const o of mine) {
          // its egress proxy on a host's side stays with it; other helpers go
          if (o.id !== container.id && o.id !== volume && o.role !== egressProxyRole)
            await discard(o, "a helper left by an interrupted provisioning");
        }
        await deps.setState(row, "running", "provisioning finished after a restart", {
          reconcile: "adopted",
          container: container.id,
          volume,
        });
        result.adopted++;
        continue;
      }
      // Half-made: the helpers, the volume and any workspace container go, then it starts over (or,
      // with the assignment over, fails).
      for (const o of mine) await discard(o, "left half-made by an interrupted provisioning");
      if (ended?.ended_at) {
        await deps.setState(row, "failed", "provisioning was interrupted and the assignment has ended", {
          reconcile: "settled",
        });
      } else {
        await audit.record(
          actor,
          "workspace.resumed",
          `workspace:${row.id}`,
          { reason: "provisioning was interrupted; starting it again" },
          { tenantId: row.tenant_id },
        );
        deps.resume(row);
        result.resumed++;
      }
      continue;
    }

    if (row.state === "running" || row.state === "stopped") {
      if (!container) {
        await deps.setState(row, "failed", "its container vanished from the engine", {
          reconcile: "vanished",
          container: row.container_id,
        });
        result.vanished++;
      } else {
        if (container.id !== row.container_id || volume !== row.volume) {
          await db
            .updateTable("workspace")
            .set({ container_id: container.id, volume })
            .where("id", "=", row.id)
            .execute();
          await audit.record(
            actor,
            "workspace.adopted",
            `workspace:${row.id}`,
            { container: container.id, volume },
            { tenantId: row.tenant_id },
          );
          result.adopted++;
        }
        if (container.status && container.status !== row.state) {
          await deps.setState(
            row,
            container.status === "running" ? "running" : "stopped",
            `found ${container.status} on the engine`,
            {
              reconcile: "corrected",
            },
          );
          result.corrected++;
        }
      }
    }
    // running, stopped and failed rows keep their container and volume (a failed one until it is destroyed)
    if (container) kept.add(container.id);
    if (volume) kept.add(volume);
  }

  async function discard(o: OwnedObject, reason: string) {
    await driver.discard(o);
    await audit.record(actor, "workspace.orphan_removed", `${o.kind}:${o.id}`, {
      workspace: o.workspaceId,
      role: o.role,
      reason,
      at: deps.now().toISOString(),
    });
    result.orphansRemoved++;
  }

  const handled = new Set(rows.filter((r) => !busy.has(r.id)).map((r) => r.id));
  for (const o of objects) {
    if (kept.has(o.id) || busy.has(o.workspaceId) || pooled.has(o.workspaceId)) continue;
    // objects of a provisioning row handled above are gone already
    if (handled.has(o.workspaceId) && rows.find((r) => r.id === o.workspaceId)?.state === "provisioning") continue;
    // a workspace provisioned or claimed since the rows were read owns it after all; on a host's engine, only one
    // placed there (a workspace moved away leaves its old objects behind if the move was cut short after the switch,
    // and an interrupted move leaves half-made ones on the host it was going to)
    let ownerQuery = db
      .selectFrom("workspace")
      .select("id")
      .where("state", "in", live)
      .where((eb) => eb.or([eb("id", "=", o.workspaceId), eb("container_id", "=", o.id), eb("volume", "=", o.id)]));
    if (host) {
      ownerQuery = ownerQuery.where((eb) =>
        host.isDefault
          ? eb.or([eb("host_id", "=", host.id), eb("host_id", "is", null)])
          : eb.or([eb("host_id", "=", host.id), eb("state", "=", "provisioning")]),
      );
    }
    const owner = await ownerQuery.executeTakeFirst();
    if (owner) continue;
    await discard(o, o.pool ? "a warm-pool workspace no process holds" : "no live workspace owns it");
  }
  return result;
}
