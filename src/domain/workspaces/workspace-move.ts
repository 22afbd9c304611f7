// Moving a stopped workspace to another workspace host: its container made anew there, its volume's files carried
// through Azusa as one tar stream (never held whole), the row switched in one transaction with its audit event,
// and only then the old container and volume removed. Under the workspace's lease: one move at a time, and a
// process killed half-way leaves the workspace on its old host, whole, for a retry to start over.
import { randomUUID } from "node:crypto";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Kysely } from "kysely";
import type { Database, WorkspaceTable } from "../../db/schema.ts";
import type { Actor } from "../../kernel/actor.ts";
import { fail } from "../../kernel/errors.ts";
import type { Leases } from "../../kernel/leases.ts";
import { codeOf, text } from "../../kernel/messages.ts";
import type { PausePoint } from "../../kernel/pause.ts";
import type { Logger } from "../../logger.ts";
import type { WorkspaceDriver, WorkspaceRef } from "../../provisioner/driver.ts";
import type { WorkspaceTemplate } from "../../templates/templates.ts";
import type { AuditService } from "../audit/audit.service.ts";
import type { PlacementNeeds } from "../workspace-hosts/workspace-hosts.service.ts";
import type { EgressService } from "./egress.service.ts";
import { specFor } from "./warm-pool.ts";

/** What a move asks of the workspace hosts (src/domain/workspace-hosts). */
export interface MoveHosts {
  /** The driver of a host's engine; the default host's for null. */
  driverOf(hostId: string | null): Promise<WorkspaceDriver>;
  /** Why the host cannot take a workspace asking `needs` now, or null; VALIDATION naming `hostId` when unknown. */
  refusal(hostId: string, needs: PlacementNeeds): Promise<string | null>;
  /** Why a host's engine does not answer now, or null: a workspace's files are not carried off a silent host. */
  silence(hostId: string): Promise<string | null>;
}

/** An operator's move: where to, and why (kept in the audit event and the workspace's reason). */
export interface MoveInput {
  hostId: string;
  reason: string;
}

export interface MoveDeps {
  db: Kysely<Database>;
  audit: AuditService;
  logger: Logger;
  hosts: MoveHosts;
  leases?: Leases;
  /** Makes the router send a new container's calls to its host before the row names it. */
  pin?: (containerId: string, hostId: string) => void;
  templates: () => Promise<Map<string, WorkspaceTemplate>>;
  imageReady: (image: string) => Promise<void>;
  /** Fills the package's object store on the new host (the forge), as provisioning does. */
  prepareCreated?: (row: WorkspaceTable, ref: WorkspaceRef) => Promise<unknown>;
  egress?: EgressService;
  needsOf(row: WorkspaceTable, template: WorkspaceTemplate): Promise<PlacementNeeds>;
  /** Work in flight here (provisioning, checkout, a move): a move waits for none and is refused instead. */
  inFlight: Map<string, Promise<void>>;
  defaultHost: string;
  pause: PausePoint;
  now: () => Date;
}

/** A pass-through that counts what goes through it. */
function counter(): Transform & { bytes: number } {
  const t = new Transform({
    transform(chunk: Buffer, _enc, done) {
      t.bytes += chunk.length;
      done(null, chunk);
    },
  }) as Transform & { bytes: number };
  t.bytes = 0;
  return t;
}

/** The move of one workspace, as the workspace service offers it. */
export function createWorkspaceMove(deps: MoveDeps) {
  const { db, audit, logger, hosts } = deps;
  const busy = () => fail("CONFLICT", text("workspaces.moveBusy"));
  const notStopped = (state: string) =>
    fail("INVALID_STATE", text("workspaces.moveStopped", { state: codeOf("workspace", state) }), { current: state });

  /** Leftovers of an earlier attempt on the target host (killed half-way): removed before starting over. */
  async function clearTarget(target: WorkspaceDriver, id: string): Promise<void> {
    const left = (await target.inventory()).filter((o) => o.workspaceId === id);
    // containers first: a volume in use cannot go
    for (const o of left.filter((x) => x.kind === "container")) await target.discard(o);
    for (const o of left.filter((x) => x.kind === "volume")) await target.discard(o);
  }

  /** Carries the files of `from` on `source` into `to` on `target`; the bytes of the tar stream. */
  async function carry(source: WorkspaceDriver, from: WorkspaceRef, target: WorkspaceDriver, to: WorkspaceRef) {
    const files = await source.exportFiles(from);
    const counted = counter();
    const flowing = pipeline(files, counted);
    // A source that fails half-way fails the write too, rather than leaving it waiting for the rest.
    await Promise.all([target.importFiles(to, counted), flowing]);
    return counted.bytes;
  }

  async function moveNow(actor: Actor, found: WorkspaceTable, input: MoveInput): Promise<number> {
    // Read again under the lease: a start, a destroy or another move may have come first.
    const row = await db.selectFrom("workspace").selectAll().where("id", "=", found.id).executeTakeFirstOrThrow();
    const from = row.host_id ?? deps.defaultHost;
    if (row.state !== "stopped" || !row.container_id || !row.volume) throw notStopped(row.state);
    if (from !== (found.host_id ?? deps.defaultHost)) throw busy();
    const old: WorkspaceRef = { id: row.id, containerId: row.container_id, volume: row.volume };
    const template = (await deps.templates()).get(row.template);
    if (!template) throw fail("INVALID_STATE", text("workspaces.noTemplate", { name: row.template }));
    const source = await hosts.driverOf(from);
    const target = await hosts.driverOf(input.hostId);
    const status = await source.status(old);
    if (status !== "stopped") throw notStopped(status === "running" ? "running" : "failed");
    // Container ids are unique to an engine: one the target knows means both hosts are the same engine.
    if ((await target.status(old)) !== "missing") throw fail("CONFLICT", text("workspaces.moveSameEngine"));
    await clearTarget(target, row.id);
    await deps.imageReady(template.image);
    const made = await target.create(
      specFor(template, { id: row.id, tenantId: row.tenant_id, packageId: row.package_id }),
    );
    let bytes: number;
    try {
      deps.pin?.(made.containerId, input.hostId);
      await deps.prepareCreated?.(row, made);
      bytes = await carry(source, old, target, made);
      // The worst moment to die: everything made on the new host, the row still naming the old one.
      await deps.pause("workspaces.moving");
      const at = deps.now().toISOString();
      await db.transaction().execute(async (trx) => {
        const switched = await trx
          .updateTable("workspace")
          .set({
            host_id: input.hostId,
            container_id: made.containerId,
            volume: made.volume,
            reason: `moved to another workspace host: ${input.reason}`,
            updated_at: at,
          })
          .where("id", "=", row.id)
          .where("state", "=", "stopped")
          .where("container_id", "=", old.containerId)
          .executeTakeFirst();
        if (Number(switched.numUpdatedRows) !== 1) throw busy();
        await audit.record(
          actor,
          "workspace.moved",
          `workspace:${row.id}`,
          {
            from,
            to: input.hostId,
            by: actor.kind === "user" ? actor.userId : actor.name,
            reason: input.reason,
            bytes,
            container: made.containerId,
            volume: made.volume,
            oldContainer: old.containerId,
            oldVolume: old.volume,
          },
          { tenantId: row.tenant_id, trx },
        );
      });
    } catch (err) {
      // Nothing of the new host's half is kept: the workspace stays where it was, whole.
      await target
        .destroy(made)
        .catch((e: unknown) => logger.warn({ workspace: row.id, err: String(e) }, "undoing a move"));
      throw err;
    }
    // Its proxy's end moves with it (a network of its own on the new host, made with the container).
    if (template.azusa.network.allow.length > 0 && deps.egress) {
      await deps.egress.close(row.id);
      await deps.egress
        .open({ id: row.id, tenantId: row.tenant_id, allow: template.azusa.network.allow })
        .catch((e: unknown) => logger.warn({ workspace: row.id, err: String(e) }, "opening a moved workspace's proxy"));
    }
    // Only now the old one goes; if that fails, reconcile removes what no row owns on that host any more.
    await source
      .destroy(old)
      .catch((e: unknown) =>
        logger.warn({ workspace: row.id, err: String(e) }, "removing a moved workspace's old container"),
      );
    return bytes;
  }

  return {
    /**
     * Moves a stopped workspace to the host `input.hostId` (the caller has checked who asks); 409 when it is not
     * stopped, already there, busy, or the host cannot take it (drained, down, full, not for its tenant or labels,
     * silent). Resolves once it is on the new host, stopped; its engineer starts it there.
     */
    async move(actor: Actor, row: WorkspaceTable, input: MoveInput): Promise<void> {
      const from = row.host_id ?? deps.defaultHost;
      if (row.state !== "stopped") throw notStopped(row.state);
      if (from === input.hostId) throw fail("CONFLICT", text("workspaces.moveHere"));
      const template = (await deps.templates()).get(row.template);
      if (!template) throw fail("INVALID_STATE", text("workspaces.noTemplate", { name: row.template }));
      const refused = await hosts.refusal(input.hostId, await deps.needsOf(row, template));
      if (refused) throw fail("CONFLICT", text("workspaces.moveRefused", { why: refused }));
      // asked before anything is made, and within a bound: a silent engine would hold the move for minutes
      const silent = await hosts.silence(from);
      if (silent) throw fail("CONFLICT", text("workspaces.moveSourceSilent", { detail: silent }));
      if (deps.inFlight.has(row.id)) throw busy();
      let failure: unknown;
      let done = false;
      const work = async () => {
        try {
          await moveNow(actor, row, input);
          done = true;
        } catch (err) {
          failure = err;
        }
      };
      // Under the workspace's lease, as provisioning and checkouts are: reconcile leaves it alone meanwhile.
      const run = deps.leases ? deps.leases.run(`workspace:${row.id}`, randomUUID(), work) : work().then(() => true);
      deps.inFlight.set(
        row.id,
        run.then(
          () => undefined,
          () => undefined,
        ),
      );
      const ran = await run.finally(() => deps.inFlight.delete(row.id));
      if (!ran) throw busy();
      if (failure) throw failure;
      if (!done) throw busy();
    },
  };
}
