// One workspace per assignment: provisioned from the package's template when the engineer accepts,
// started, stopped and destroyed through the workspace driver, every change with its reason, audited.
import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import type { Database, WorkspaceTable } from "../../db/schema.ts";
import type { Actor } from "../../kernel/actor.ts";
import { fail, forbidden, invalidField, notFound } from "../../kernel/errors.ts";
import type { Leases } from "../../kernel/leases.ts";
import { codeOf, english, stateCode, type Text, text } from "../../kernel/messages.ts";
import { noPause, type PausePoint } from "../../kernel/pause.ts";
import type { Logger } from "../../logger.ts";
import type { WorkspaceDriver, WorkspaceRef } from "../../provisioner/driver.ts";
import type { WorkspaceTemplate } from "../../templates/templates.ts";
import type { AuditService } from "../audit/audit.service.ts";
import { visiblePackage } from "../contracts/contracts.service.ts";
import { defaultHostId, type PlacementNeeds } from "../workspace-hosts/workspace-hosts.service.ts";
import type { EgressService } from "./egress.service.ts";
import { workspaceReasonText } from "./reasons.ts";
import { type ReconcileResult, reconcile } from "./reconcile.ts";
import { specFor, type WarmPool } from "./warm-pool.ts";
import { createWorkspaceMove, type MoveHosts, type MoveInput } from "./workspace-move.ts";
import { createWorkspaceProcesses, type ServiceProcess } from "./workspace-processes.ts";

/** What provisioning asks of the workspace hosts (src/domain/workspace-hosts). */
export interface WorkspacePlacement {
  place(
    needs: PlacementNeeds,
    record: (hostId: string) => Promise<void>,
  ): Promise<{ hostId: string } | { pending: string }>;
  /** Every host's driver: reconcile passes over each host on its own. */
  drivers(): Promise<{ id: string; name: string; driver: WorkspaceDriver }[]>;
  /** Of `hostIds`, the hosts whose workspaces cannot be reached now, and why. */
  unavailable(hostIds: string[]): Promise<Map<string, Unavailable>>;
  /** The driver of one host's engine, and why a host cannot take a moved workspace: for moves. */
  driverOf: MoveHosts["driverOf"];
  refusal: MoveHosts["refusal"];
  silence: MoveHosts["silence"];
}

/** Why a workspace cannot be reached now: its host is marked down, or its engine does not answer. */
export interface Unavailable {
  hostId: string;
  hostName: string;
  why: "down" | "unreachable";
  detail: string;
}

/** A workspace as its package shows it: with the services its sessions left running, and whether it is reachable. */
export type WorkspaceWithServices = Workspace & { services: ServiceProcess[] | null; unavailable: Unavailable | null };

/** Workspaces whose container sits on a host: the ones a host going away makes unreachable. */
const onAHost = (r: WorkspaceTable) => r.state === "running" || r.state === "stopped";

/** The host of workspaces made before hosts existed, and of warm pools. */
const defaultHost = defaultHostId;

/** `pending`: no workspace host fits it now (the reason says why); it is provisioned when one does. */
export type WorkspaceState = "pending" | "provisioning" | "running" | "stopped" | "destroyed" | "failed";

export interface Workspace {
  id: string;
  packageId: string;
  engineerId: string;
  template: string;
  state: WorkspaceState;
  /** Why it is in this state: what the last change was, or what went wrong. */
  reason: string;
  /** The workspace host it runs on; null until it is placed (`local` for one made before hosts existed). */
  hostId: string | null;
  /** When something last showed the workspace in use, and what (an SSH session, a save in the web IDE). */
  lastActivityAt: string | null;
  lastActivity: string | null;
  /**
   * Whether the package's code is checked out: `pending` while it is being checked out (the workspace may
   * already read `running`), `done`, or `failed` (the workspace failed before its code was there; `reason` says why).
   */
  checkout: "pending" | "done" | "failed";
  /** When the checkout finished. */
  checkedOutAt: string | null;
  /** From the workspace's creation (the offer accepted) to its code checked out, in milliseconds. */
  checkoutMs: number | null;
  createdAt: string;
  updatedAt: string;
}

const toWorkspace = (r: WorkspaceTable): Workspace => ({
  id: r.id,
  packageId: r.package_id,
  engineerId: r.engineer_id,
  template: r.template,
  state: r.state as WorkspaceState,
  reason: r.reason,
  hostId: r.host_id ?? (r.state === "pending" || r.state === "provisioning" ? null : defaultHost),
  lastActivityAt: r.last_activity_at,
  lastActivity: r.last_activity,
  checkout: r.prepared_at ? "done" : r.state === "failed" || r.state === "destroyed" ? "failed" : "pending",
  checkedOutAt: r.prepared_at,
  checkoutMs: r.prepared_at ? Math.max(0, Date.parse(r.prepared_at) - Date.parse(r.created_at)) : null,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const refOf = (r: WorkspaceTable): WorkspaceRef | null =>
  r.container_id && r.volume ? { id: r.id, containerId: r.container_id, volume: r.volume } : null;

export function createWorkspaceService({
  db,
  audit,
  driver,
  templates,
  logger,
  egress,
  pool,
  retentionDays = 30,
  imageReady = async () => {},
  now = () => new Date(),
  leases,
  prepare,
  prepareEarly,
  prepareCreated,
  onStarted,
  placement,
  pin,
  pause = noPause,
}: {
  db: Kysely<Database>;
  audit: AuditService;
  driver: WorkspaceDriver;
  /** The workspace templates (templateCatalog): loaded once, a bad one stops start-up with every problem named. */
  templates: () => Promise<Map<string, WorkspaceTemplate>>;
  logger: Logger;
  /** The proxy of workspaces whose template names destinations; without it they fail to provision. */
  egress?: EgressService;
  /** Pre-created workspaces that an assignment claims before making its own. */
  pool?: WarmPool;
  /** Days a workspace outlives its package's acceptance before it is disposed of; default 30. */
  retentionDays?: number;
  /** Resolves once an image can be used (it may be being built), rejects with the reason it cannot. */
  imageReady?: (image: string) => Promise<void>;
  /**
   * Leases of workspace operations shared by the processes on one database (owner, expiry, renewed while the
   * operation runs): a provisioning or checkout another live process holds is neither resumed nor cleaned up.
   */
  leases?: Leases;
  now?: () => Date;
  /**
   * Runs in the started container once it is handed over (the forge checks out the package's fork); no
   * session, browser terminal or fork read begins before it has finished (see `ready`). Runs again after
   * an interruption, so it must cope with what an interrupted run left.
   */
  prepare?: (workspace: Workspace, ref: WorkspaceRef, template: WorkspaceTemplate) => Promise<void>;
  /**
   * Work of `prepare` that needs no container (the package's repository), started as provisioning begins so
   * that it runs while the container is made; its failure is left for `prepare` to meet and report.
   */
  prepareEarly?: (workspace: Workspace) => Promise<unknown>;
  /**
   * Work of `prepare` that needs the container made but not running (the forge fills the package's object
   * store), run after `prepareEarly` while the container starts; its failure is left for `prepare` to meet.
   * Not for a workspace claimed from the warm pool, which is running already.
   */
  prepareCreated?: (workspace: Workspace, ref: WorkspaceRef) => Promise<unknown>;
  /**
   * Runs once a stopped workspace with its code checked out is started again (the forge brings its fork up to
   * date with work merged meanwhile); a failure is logged, the start stands.
   */
  onStarted?: (workspace: Workspace) => Promise<void>;
  /** Chooses each new workspace's host; without it every workspace runs where `driver` goes. */
  placement?: WorkspacePlacement;
  /** Sends the calls naming a container to its host before its row names it (the host router's `pin`): for moves. */
  pin?: (containerId: string, hostId: string) => void;
  /** Test-only: where a test may hold the process to kill it (AZUSA_TEST_PAUSE_AT). */
  pause?: PausePoint;
}) {
  // Provisioning and the checkout after it, per workspace: drain waits for them, reconcile leaves them alone.
  const inFlight = new Map<string, Promise<void>>();
  // Settles when the workspace of a provisioning in flight is handed over (running) or has failed.
  const handedOver = new Map<string, Promise<void>>();
  const system: Actor = { kind: "system", name: "workspaces" };
  const processes = createWorkspaceProcesses({ db, driver, audit, logger, templates, now });

  /** Moves the workspace to `state` and records it; the event is `workspace.<state>` unless named. */
  async function setState(
    row: Pick<WorkspaceTable, "id" | "tenant_id" | "state">,
    actor: Actor,
    state: WorkspaceState,
    reason: string,
    details: Record<string, unknown> = {},
    action = `workspace.${state}`,
  ) {
    await db.transaction().execute(async (trx) => {
      await trx
        .updateTable("workspace")
        .set({ state, reason, updated_at: now().toISOString() })
        .where("id", "=", row.id)
        .execute();
      await audit.record(
        actor,
        action,
        `workspace:${row.id}`,
        { from: row.state, reason, ...details },
        { tenantId: row.tenant_id, trx },
      );
    });
  }

  /**
   * The workspace row, if the actor may see it: its engineer while the assignment lasts (a former engineer,
   * after a withdrawal or a cancellation, sees nothing), the contract's people, or an operator.
   */
  async function visible(actor: Actor, id: string): Promise<WorkspaceTable> {
    const row = await db.selectFrom("workspace").selectAll().where("id", "=", id).executeTakeFirst();
    if (!row) throw notFound("workspace");
    if (actor.kind === "system" || actor.role === "operator") return row;
    if (actor.role === "engineer") {
      if (row.engineer_id !== actor.userId) throw notFound("workspace");
      const live = await db
        .selectFrom("assignment")
        .select("id")
        .where("id", "=", row.assignment_id)
        .where("engineer_id", "=", actor.userId)
        .where("ended_at", "is", null)
        .executeTakeFirst();
      if (!live) throw notFound("workspace");
      return row;
    }
    await visiblePackage(db, actor, row.package_id, (q) => q.select("work_package.id"), "workspace");
    return row;
  }

  /** The package's current workspace (not destroyed), if the actor may see it. */
  /** For each of `rows`, why it cannot be reached now (its host down or silent), or null; asks each host once. */
  async function unavailableOf(rows: WorkspaceTable[]): Promise<(r: WorkspaceTable) => Unavailable | null> {
    const hostOf = (r: WorkspaceTable) => r.host_id ?? defaultHost;
    const lost = placement ? await placement.unavailable(rows.filter(onAHost).map(hostOf)) : new Map();
    return (r) => (onAHost(r) ? (lost.get(hostOf(r)) ?? null) : null);
  }

  async function currentOf(actor: Actor, packageId: string): Promise<WorkspaceTable> {
    const row = await db
      .selectFrom("workspace")
      .select("id")
      .where("package_id", "=", packageId)
      .where("state", "!=", "destroyed")
      .orderBy("created_at", "desc")
      .executeTakeFirst();
    if (!row) throw notFound("workspace");
    return visible(actor, row.id);
  }

  /**
   * What the workspace asks of its host: its tenant's, when its contract is `restricted`; the labels its template
   * and its contract ask for.
   */
  async function needsOf(row: WorkspaceTable, template: WorkspaceTemplate): Promise<PlacementNeeds> {
    const contract = await db
      .selectFrom("work_package")
      .innerJoin("contract", "contract.id", "work_package.contract_id")
      .select(["contract.confidentiality", "contract.host_office", "contract.host_zone"])
      .where("work_package.id", "=", row.package_id)
      .executeTakeFirst();
    return {
      tenantId: row.tenant_id,
      restricted: contract?.confidentiality === "restricted",
      labels: template.azusa.hostLabels,
      contractLabels: {
        ...(contract?.host_office ? { office: contract.host_office } : {}),
        ...(contract?.host_zone ? { zone: contract.host_zone } : {}),
      },
      diskLimit: template.azusa.diskLimitRequired,
    };
  }

  /**
   * Places the workspace on a host (or leaves it `pending`, saying why), makes the container there (or claims
   * a pooled one), hands the workspace over as running, then checks its code out (`checkout`); `handOver` is
   * called once the row is running, pending or failed.
   */
  async function provision(row: WorkspaceTable, template: WorkspaceTemplate | undefined, handOver: () => void) {
    if (!template) {
      await setState(row, system, "failed", `no workspace template named "${row.template}"`);
      return;
    }
    const allow = template.azusa.network.allow;
    let hostId = row.host_id ?? defaultHost;
    if (placement && !row.host_id) {
      let placed: Awaited<ReturnType<WorkspacePlacement["place"]>>;
      try {
        placed = await placement.place(await needsOf(row, template), async (id) => {
          await db.updateTable("workspace").set({ host_id: id }).where("id", "=", row.id).execute();
        });
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        await setState(row, system, "failed", `provisioning failed: placing it on a host failed: ${message}`);
        return;
      }
      if ("pending" in placed) {
        // Said once: a pending workspace asked again with nothing changed keeps its event and its reason.
        if (row.state !== "pending" || row.reason !== placed.pending) {
          await setState(row, system, "pending", placed.pending);
        }
        return;
      }
      hostId = placed.hostId;
      if (row.state === "pending") {
        await setState(row, system, "provisioning", "a workspace host can take it now", { host: hostId });
        row = { ...row, state: "provisioning" };
      }
    }
    const early = prepareEarly?.(toWorkspace(row)).catch(() => undefined);
    let created: Promise<unknown> | undefined;
    let ref: WorkspaceRef;
    try {
      // Pooled workspaces have no network, so only a workspace without one claims one, on the host it was placed on.
      const claimed = allow.length === 0 ? pool?.claim(template.name, hostId) : undefined;
      // from here on it is this row's workspace (the host router finds its engine by the row)
      const warm = claimed && { ...claimed, id: row.id };
      if (warm) {
        // A pooled workspace is already created and running; it becomes this row's.
        await db
          .updateTable("workspace")
          .set({ container_id: warm.containerId, volume: warm.volume })
          .where("id", "=", row.id)
          .execute();
        if (claimed) pool?.recorded(claimed);
        ref = warm;
      } else {
        await imageReady(template.image);
        const made = await driver.create(
          specFor(template, { id: row.id, tenantId: row.tenant_id, packageId: row.package_id }),
        );
        ref = made;
        if (prepareCreated)
          created = Promise.resolve(early)
            .then(() => prepareCreated(toWorkspace(row), made))
            .catch(() => undefined);
        await db
          .updateTable("workspace")
          .set({ container_id: ref.containerId, volume: ref.volume })
          .where("id", "=", row.id)
          .execute();
        if (allow.length > 0) {
          if (!egress) throw new Error("the template names destinations but no egress proxy is configured");
          await egress.open({ id: row.id, tenantId: row.tenant_id, allow });
        }
        await driver.start(ref);
      }
      // The worst moment to die: a container made and started, the row still provisioning, no code checked out.
      await pause("workspaces.provisioning");
      await setState(row, system, "running", "provisioned for the assignment", warm ? { warmPool: true } : {});
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      logger.warn({ workspace: row.id, err: message }, "workspace provisioning failed");
      await setState(row, system, "failed", `provisioning failed: ${message}`);
      await Promise.all([early, created]);
      return;
    } finally {
      handOver();
    }
    await checkout({ ...row, state: "running" }, ref, template, Promise.all([early, created]));
  }

  /**
   * Runs the prepare hook in a running workspace and records that it finished. A failure fails the
   * workspace with the reason (so nobody is let into a workspace without its code), logged and audited.
   */
  async function checkout(
    row: WorkspaceTable,
    ref: WorkspaceRef,
    template: WorkspaceTemplate,
    early?: Promise<unknown>,
  ): Promise<void> {
    try {
      await early;
      if (prepare) await prepare(toWorkspace(row), ref, template);
      await db.updateTable("workspace").set({ prepared_at: now().toISOString() }).where("id", "=", row.id).execute();
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      logger.warn({ workspace: row.id, err: message }, "checking out the workspace's code failed");
      const current = await db
        .selectFrom("workspace")
        .select(["id", "tenant_id", "state"])
        .where("id", "=", row.id)
        .executeTakeFirst();
      if (current && current.state !== "destroyed" && current.state !== "failed")
        await setState(current, system, "failed", `checking out the package's code failed: ${message}`);
    }
  }

  /**
   * Runs `start` as in flight for `id` until it ends; a crash in it is logged. Under the workspace's lease
   * (when there are leases): work another live process holds is left to it, never done twice at once.
   */
  function track(id: string, start: () => Promise<void>): Promise<void> {
    const work = leases
      ? leases.run(`workspace:${id}`, randomUUID(), start).then((ran) => {
          if (!ran) logger.info({ workspace: id }, "workspace operation left to the process holding its lease");
        })
      : start();
    const tracked = work
      .catch((err) => logger.error({ workspace: id, err }, "workspace provisioning crashed"))
      .finally(() => {
        inFlight.delete(id);
        handedOver.delete(id);
      });
    inFlight.set(id, tracked);
    return tracked;
  }

  /** Workspaces whose operation a live process (this one or another) holds the lease of. */
  const leased = async (): Promise<Set<string>> => (leases ? leases.held("workspace:") : new Set());

  /** Provisions `row` in the background; `settled`, `ready` and `drain` wait for it, reconcile leaves it alone. */
  function startProvisioning(row: WorkspaceTable): void {
    let handOver: () => void = () => {};
    handedOver.set(
      row.id,
      new Promise<void>((resolve) => {
        handOver = resolve;
      }),
    );
    void track(row.id, () =>
      service.templates().then((all) => provision(row, all.get(row.template), handOver)),
    ).finally(() => handOver());
  }

  /**
   * Checks out the code of a workspace whose checkout was interrupted (a restart): started first when it
   * is stopped, audited as workspace.resumed.
   */
  function resumeCheckout(found: WorkspaceTable): void {
    const ref = refOf(found);
    if (!ref) return;
    void track(found.id, async () => {
      // Read again under the tracking: a checkout that finished (or a stop, a destroy) since reconcile looked
      // must not be redone, which would wipe the fork an engineer is already working in.
      const row = await db.selectFrom("workspace").selectAll().where("id", "=", found.id).executeTakeFirst();
      if (!row || row.prepared_at || (row.state !== "running" && row.state !== "stopped")) return;
      const template = (await service.templates()).get(row.template);
      await audit.record(
        system,
        "workspace.resumed",
        `workspace:${row.id}`,
        { reason: "checking out its code was interrupted; doing it again" },
        { tenantId: row.tenant_id },
      );
      if (!template) {
        await setState(row, system, "failed", `no workspace template named "${row.template}"`);
        return;
      }
      let current = row;
      if (row.state === "stopped") {
        try {
          await driver.start(ref);
        } catch (err) {
          // Not left stopped without its code, asked to wait for a checkout nobody runs: it fails, saying why.
          const message = err instanceof Error ? err.message : String(err);
          logger.warn({ workspace: row.id, err: message }, "starting a workspace to finish its checkout failed");
          await setState(row, system, "failed", `starting it to finish checking out its code failed: ${message}`);
          return;
        }
        await setState(row, system, "running", "started to finish checking out its code");
        current = { ...row, state: "running" };
      }
      await checkout(current, ref, template);
    });
  }

  /**
   * Waits for a checkout under way in a handed-over workspace: running, or stopped while reconcile starts it to
   * finish one (a stop or destroy under it would fail the workspace, or be undone by it).
   */
  async function checkoutDone(row: { id: string; state: string }): Promise<void> {
    if (row.state === "running" || row.state === "stopped") await inFlight.get(row.id);
  }

  /** Stops a running workspace for Azusa's own reason (idle, assignment over), audited as workspace.stopped. */
  async function stopFor(row: WorkspaceTable, reason: string, details: Record<string, unknown>): Promise<void> {
    const ref = refOf(row);
    if (ref) await driver.stop(ref);
    await setState(row, system, "stopped", reason, details);
  }

  const minutes = (ms: number) => Math.floor(ms / 60_000);

  /** One row's step of a schedule: a failure is logged and the other rows go on; the next run tries again. */
  async function each(id: string, what: string, step: () => Promise<unknown>): Promise<void> {
    try {
      await step();
    } catch (err) {
      logger.warn({ workspace: id, err: (err as Error).message }, `${what} failed`);
    }
  }

  // What must happen before the workspaces of ended assignments stop (the sessions on them ending with why).
  const beforeEndedStop: (() => Promise<void>)[] = [];

  const mover =
    placement &&
    createWorkspaceMove({
      db,
      audit,
      logger,
      hosts: placement,
      ...(leases ? { leases } : {}),
      ...(pin ? { pin } : {}),
      templates,
      imageReady,
      ...(prepareCreated ? { prepareCreated: (row, ref) => prepareCreated(toWorkspace(row), ref) } : {}),
      ...(egress ? { egress } : {}),
      needsOf,
      inFlight,
      defaultHost,
      pause,
      now,
    });

  const service = {
    /** The templates, loaded once; a bad template stops start-up with every problem named. */
    templates,

    /**
     * Registers a step run before the workspaces of ended assignments are stopped: the gateway ends the sessions
     * that relied on those assignments first, so their clients hear why instead of seeing their shell killed.
     */
    whenEndedStopping(step: () => Promise<void>): void {
      beforeEndedStop.push(step);
    },

    /** Creates the workspace row of a new assignment and provisions it in the background. */
    async provisionForAssignment(assignmentId: string): Promise<Workspace> {
      const a = await db
        .selectFrom("assignment")
        .innerJoin("work_package", "work_package.id", "assignment.package_id")
        .select([
          "assignment.id",
          "assignment.engineer_id",
          "work_package.id as package_id",
          "work_package.tenant_id",
          "work_package.template",
        ])
        .where("assignment.id", "=", assignmentId)
        .executeTakeFirst();
      if (!a) throw notFound("assignment");
      const at = now().toISOString();
      const row: WorkspaceTable = {
        id: randomUUID(),
        assignment_id: a.id,
        package_id: a.package_id,
        tenant_id: a.tenant_id,
        engineer_id: a.engineer_id,
        template: a.template,
        state: "provisioning",
        reason: "assignment accepted",
        container_id: null,
        volume: null,
        host_id: null,
        created_at: at,
        updated_at: at,
        last_activity_at: null,
        last_activity: null,
        prepared_at: null,
      };
      await db.transaction().execute(async (trx) => {
        await trx.insertInto("workspace").values(row).execute();
        await audit.record(
          system,
          "workspace.provisioning",
          `workspace:${row.id}`,
          { packageId: a.package_id, template: a.template },
          {
            tenantId: a.tenant_id,
            trx,
          },
        );
      });
      startProvisioning(row);
      return toWorkspace(row);
    },

    /** Resolves once every provisioning and checkout in progress has finished (before shutting down). */
    async drain(): Promise<void> {
      await Promise.all(inFlight.values());
    },

    /** Resolves once the workspace's provisioning, and the checkout after it, have finished, however they ended. */
    async settled(id: string): Promise<void> {
      await inFlight.get(id);
    },

    /**
     * Resolves once the workspace is handed over (running) or has failed: the moment it takes commands.
     * Its code may still be being checked out then; `ready` and `settled` wait for that too.
     */
    async handedOver(id: string): Promise<void> {
      await (handedOver.get(id) ?? inFlight.get(id));
    },

    /**
     * Whether the workspace's code is checked out, once a checkout in progress here has finished: every way
     * in (SSH, browser terminal, web IDE, fork reads) asks this first. Not ready: it failed (the reason
     * says why) or it is still under way (in another Azusa, or to be resumed by reconcile).
     */
    async ready(id: string): Promise<{ ok: true } | { ok: false; reason: string; text: Text }> {
      await inFlight.get(id);
      const row = await db
        .selectFrom("workspace")
        .select(["state", "reason", "prepared_at"])
        .where("id", "=", id)
        .executeTakeFirst();
      const notReady = (message: Text) => ({ ok: false, reason: english(message), text: message }) as const;
      if (!row) return notReady(text("access.noWorkspace"));
      if (row.prepared_at) return { ok: true };
      if (row.state === "failed")
        return notReady(text("access.checkoutFailed", { why: workspaceReasonText(row.reason ?? "") }));
      if (row.state === "destroyed") return notReady(text("access.destroyed"));
      return notReady(text("access.checkingOut"));
    },

    /** Every workspace with its package and engineer, newest first; operators only (others ask per package). */
    async list(
      actor: Actor,
    ): Promise<
      (Workspace & { wbsId: string; packageTitle: string; engineerName: string; unavailable: Unavailable | null })[]
    > {
      if (actor.kind === "user" && actor.role !== "operator") throw forbidden(text("workspaces.operatorsList"));
      const rows = await db
        .selectFrom("workspace")
        .innerJoin("work_package", "work_package.id", "workspace.package_id")
        .innerJoin("user", "user.id", "workspace.engineer_id")
        .selectAll("workspace")
        .select(["work_package.wbs_id as wbs_id", "work_package.title as package_title", "user.name as engineer_name"])
        .orderBy("workspace.created_at", "desc")
        .execute();
      const lost = await unavailableOf(rows);
      return rows.map(({ wbs_id, package_title, engineer_name, ...r }) => ({
        ...toWorkspace(r),
        unavailable: lost(r),
        wbsId: wbs_id,
        packageTitle: package_title,
        engineerName: engineer_name,
      }));
    },

    /** The current workspace of a package. */
    async forPackage(actor: Actor, packageId: string): Promise<Workspace> {
      return toWorkspace(await currentOf(actor, packageId));
    },

    /**
     * The current workspace of a package with the services its sessions left running (the template's
     * `services`): none when it is not running, null when its engine could not be asked.
     */
    async withServices(actor: Actor, packageId: string): Promise<WorkspaceWithServices> {
      const row = await currentOf(actor, packageId);
      const unavailable = (await unavailableOf([row]))(row);
      return { ...toWorkspace(row), services: unavailable ? null : await processes.services(row), unavailable };
    },

    /**
     * Ends what sessions left running when Azusa was killed outright (no reaper ran), services spared; at
     * start, once this process's sessions left open are closed. Returns how many processes it ended.
     */
    endLeftoverProcesses: () => processes.endLeftovers(),

    /**
     * Starts a stopped workspace: its engineer does, while the assignment lasts and until the package is
     * accepted (検収) or cancelled; Azusa itself does when a session, the terminal or the IDE needs it.
     * Leads and operators stop and destroy workspaces but never start one: nobody else works in it.
     */
    async start(actor: Actor, id: string): Promise<Workspace> {
      // A move under way here finishes first: the workspace then starts on its new host, never on the old one
      // while its files are being carried.
      if ((await visible(actor, id)).state === "stopped") await inFlight.get(id);
      const row = await visible(actor, id);
      if (actor.kind === "user") {
        if (actor.role !== "engineer") throw forbidden(text("workspaces.engineerStarts"));
        const pkg = await db
          .selectFrom("work_package")
          .select("state")
          .where("id", "=", row.package_id)
          .executeTakeFirst();
        if (pkg?.state === "accepted" || pkg?.state === "cancelled") {
          throw forbidden(text("workspaces.accessEnded", { state: stateCode(pkg.state) }));
        }
      }
      const ref = refOf(row);
      if (!ref || (row.state !== "stopped" && row.state !== "running")) {
        throw fail("INVALID_STATE", text("workspaces.onlyStoppedStarts", { state: codeOf("workspace", row.state) }), {
          current: row.state,
        });
      }
      await driver.start(ref);
      if (row.state !== "running") {
        await setState(row, actor, "running", actor.kind === "user" ? `started by ${actor.role}` : "started");
        if (row.prepared_at)
          await onStarted?.(toWorkspace({ ...row, state: "running" })).catch((err) =>
            logger.warn(
              { workspace: id, err: err instanceof Error ? err.message : String(err) },
              "after-start work failed",
            ),
          );
      }
      return toWorkspace(await visible(actor, id));
    },

    /**
     * Stops a workspace: its engineer, the contract's lead or an operator (taking access away at once);
     * not a contractor, who has no say over when an engineer works.
     */
    async stop(actor: Actor, id: string): Promise<Workspace> {
      if (actor.kind === "user" && actor.role === "contractor") {
        throw forbidden(text("workspaces.whoStops"));
      }
      // A checkout in progress finishes first: stopping under it would fail the workspace.
      await checkoutDone(await visible(actor, id));
      const row = await visible(actor, id);
      const ref = refOf(row);
      if (!ref || (row.state !== "running" && row.state !== "stopped")) {
        throw fail("INVALID_STATE", text("workspaces.onlyRunningStops", { state: codeOf("workspace", row.state) }), {
          current: row.state,
        });
      }
      await driver.stop(ref);
      if (row.state !== "stopped")
        await setState(row, actor, "stopped", actor.kind === "user" ? `stopped by ${actor.role}` : "stopped");
      return toWorkspace(await visible(actor, id));
    },

    /**
     * Notes that the workspace was in use at `at` (`what`: "ssh shell", "web IDE save", …) so that the idle timer
     * starts again from then, unless a later use is already noted; not audited, as sessions and saves have their
     * own events.
     */
    async recordActivity(id: string, what: string, at: Date = now()): Promise<void> {
      const iso = at.toISOString();
      // Only forward: a connection reporting, as it ends, when it was last used must not hide a later use.
      await db
        .updateTable("workspace")
        .set({ last_activity_at: iso, last_activity: what })
        .where("id", "=", id)
        .where((eb) => eb.or([eb("last_activity_at", "is", null), eb("last_activity_at", "<=", iso)]))
        .execute();
    },

    /**
     * Makes the engine and the rows agree (at start and periodically): re-adopts this instance's
     * objects a crash left unrecorded, removes orphans, marks vanished workspaces failed, and settles
     * rows a crash left in `provisioning`. Every action is audited.
     */
    async reconcile(): Promise<ReconcileResult> {
      // Work another process holds the lease of is its own, however it looks from here: asked again after the
      // engine's inventory, since another process may have begun a provisioning since the rows were read.
      let elsewhere = new Set<string>();
      const busy = async () => {
        elsewhere = new Set([...elsewhere, ...(await leased())]);
        return new Set([...inFlight.keys(), ...elsewhere]);
      };
      const pass = (over: WorkspaceDriver, host?: { id: string; isDefault: boolean }) =>
        reconcile({
          db,
          audit,
          driver: over,
          actor: { kind: "system", name: "reconcile" },
          busy,
          pooled: () => pool?.holds() ?? new Set(),
          setState: (row, state, reason, details) =>
            setState(row, { kind: "system", name: "reconcile" }, state, reason, details),
          resume: (row) => startProvisioning(row),
          now,
          ...(host ? { host } : {}),
        });
      let result: ReconcileResult;
      if (placement) {
        // Host by host: an engine that does not answer is left for the next pass, and the others go on.
        result = { adopted: 0, orphansRemoved: 0, vanished: 0, resumed: 0, corrected: 0, provisioned: 0 };
        for (const host of await placement.drivers()) {
          try {
            const one = await pass(host.driver, { id: host.id, isDefault: host.id === defaultHost });
            for (const key of Object.keys(result) as (keyof ReconcileResult)[]) result[key] += one[key];
          } catch (err) {
            logger.warn({ host: host.name, err: (err as Error).message }, "reconciling a workspace host failed");
          }
        }
        await service.placePending();
      } else {
        result = await pass(driver);
      }
      // Handed over, but the checkout never finished (a crash, or a provisioning adopted above): again.
      const unprepared = await db
        .selectFrom("workspace")
        .selectAll()
        .where("state", "in", ["running", "stopped"])
        .where("prepared_at", "is", null)
        .execute();
      await busy();
      for (const row of unprepared) {
        if (inFlight.has(row.id) || elsewhere.has(row.id)) continue;
        resumeCheckout(row);
        result.resumed++;
      }
      // Assignments a crash left without a workspace (the process died between the acceptance and the
      // provisioning) get one now; if it cannot be made it fails with its reason, which the lead sees. Only
      // those older than a minute: a live acceptance provisions its own at once.
      const bare = await db
        .selectFrom("assignment")
        .leftJoin("workspace", "workspace.assignment_id", "assignment.id")
        .select("assignment.id")
        .where("assignment.ended_at", "is", null)
        .where("workspace.id", "is", null)
        .where("assignment.started_at", "<=", new Date(now().getTime() - 60_000).toISOString())
        .execute();
      for (const a of bare) {
        try {
          await service.provisionForAssignment(a.id);
          result.provisioned++;
        } catch (err) {
          // Another process's reconcile made it a moment ago (one workspace per assignment); the others go on.
          logger.warn(
            { assignment: a.id, err: err instanceof Error ? err.message : String(err) },
            "provisioning an assignment left without a workspace failed",
          );
        }
      }
      return result;
    },

    /**
     * Tries again to place the `pending` workspaces (a host was registered, activated or freed); one whose
     * assignment ended meanwhile fails, saying so.
     */
    async placePending(): Promise<number> {
      const rows = await db
        .selectFrom("workspace")
        .innerJoin("assignment", "assignment.id", "workspace.assignment_id")
        .selectAll("workspace")
        .select("assignment.ended_at")
        .where("workspace.state", "=", "pending")
        .orderBy("workspace.created_at")
        .execute();
      let tried = 0;
      for (const { ended_at, ...row } of rows) {
        if (inFlight.has(row.id)) continue;
        if (ended_at) {
          await setState(row, system, "failed", "the assignment ended before a workspace host could take it");
          continue;
        }
        startProvisioning(row);
        tried++;
      }
      return tried;
    },

    /**
     * Stops running workspaces idle for longer than their template's idleTimeoutMinutes, counting from
     * the last recorded activity, or from the last start when there was none; the reason says which.
     */
    async stopIdle(at: Date = now()): Promise<number> {
      const all = await service.templates();
      const rows = await db.selectFrom("workspace").selectAll().where("state", "=", "running").execute();
      let stopped = 0;
      for (const row of rows) {
        const limit = all.get(row.template)?.azusa.idleTimeoutMinutes ?? 60;
        // updated_at of a running row is when it last became running: activity does not touch it, and
        // activity from before that start does not count; a first checkout that ended later starts it afresh
        const started =
          row.prepared_at && Date.parse(row.prepared_at) > Date.parse(row.updated_at)
            ? row.prepared_at
            : row.updated_at;
        const active = row.last_activity_at !== null && Date.parse(row.last_activity_at) >= Date.parse(started);
        const since = active ? (row.last_activity_at as string) : started;
        const idle = at.getTime() - Date.parse(since);
        if (idle <= limit * 60_000 || inFlight.has(row.id)) continue;
        const last = active
          ? `last activity: ${row.last_activity} at ${since}`
          : `no activity since its start at ${since}`;
        await each(row.id, "stopping an idle workspace", () =>
          stopFor(row, `idle for ${minutes(idle)} minutes (limit ${limit}); ${last}`, {
            idleMinutes: minutes(idle),
            limitMinutes: limit,
            lastActivity: row.last_activity,
            lastActivityAt: row.last_activity_at,
          }),
        );
        stopped++;
      }
      return stopped;
    },

    /** Stops the running workspaces whose assignment has ended (withdrawn, package cancelled). */
    async stopEnded(): Promise<number> {
      const rows = await db
        .selectFrom("workspace")
        .innerJoin("assignment", "assignment.id", "workspace.assignment_id")
        .selectAll("workspace")
        .select(["assignment.end_reason", "assignment.ended_at"])
        .where("workspace.state", "=", "running")
        .where("assignment.ended_at", "is not", null)
        .execute();
      if (rows.length > 0) {
        for (const step of beforeEndedStop) await each("*", "ending the sessions of ended assignments", step);
      }
      for (const { end_reason, ended_at, ...found } of rows) {
        let row: WorkspaceTable | undefined = found;
        if (inFlight.has(row.id)) {
          // A checkout in progress finishes first (stopping under it would fail the workspace).
          await inFlight.get(row.id);
          row = await db.selectFrom("workspace").selectAll().where("id", "=", found.id).executeTakeFirst();
          if (row?.state !== "running") continue;
        }
        const current = row;
        await each(current.id, "stopping the workspace of an ended assignment", () =>
          stopFor(current, `the assignment ended (${end_reason ?? "ended"})`, { assignmentEndedAt: ended_at }),
        );
      }
      return rows.length;
    },

    /**
     * Destroys, with their volumes, the workspaces of packages accepted more than the retention period
     * ago; each disposal is one `workspace.disposed` event naming what was deleted and when.
     */
    async disposeRetained(at: Date = now()): Promise<number> {
      const cutoff = new Date(at.getTime() - retentionDays * 86_400_000).toISOString();
      const rows = await db
        .selectFrom("workspace")
        .innerJoin("work_package", "work_package.id", "workspace.package_id")
        .select(["workspace.id", "work_package.updated_at as accepted_at"])
        .where("workspace.state", "in", ["running", "stopped", "failed"])
        .where("work_package.state", "=", "accepted")
        // accepted is final: the package's last update is its acceptance
        .where("work_package.updated_at", "<=", cutoff)
        .execute();
      for (const r of rows) {
        await each(r.id, "disposing of a workspace after retention", () =>
          service.destroy(
            { kind: "system", name: "retention" },
            r.id,
            `retention of ${retentionDays} days after acceptance on ${r.accepted_at} ended`,
          ),
        );
      }
      return rows.length;
    },

    /**
     * Moves a stopped workspace to another workspace host, its volume's files carried through Azusa; operators
     * only (others who may see it are refused, others still are told it does not exist). Audited as
     * `workspace.moved`; the workspace stays stopped, on the new host.
     */
    async move(actor: Actor, id: string, input: MoveInput): Promise<Workspace> {
      const row = await visible(actor, id);
      if (actor.kind === "user" && actor.role !== "operator") throw forbidden(text("workspaces.operatorsMove"));
      // one engine and no hosts: there is nowhere else
      if (!mover) throw invalidField("hostId", text("hosts.noSuchHost"));
      await mover.move(actor, row, input);
      // the old host has room for one more
      void service.placePending().catch(() => undefined);
      return toWorkspace(await visible(actor, id));
    },

    /** Removes the container and its volume; the audit event is the evidence of what was deleted and when. */
    async destroy(actor: Actor, id: string, reason: string): Promise<Workspace> {
      await checkoutDone(await visible(actor, id));
      const row = await visible(actor, id);
      if (actor.kind === "user" && actor.role !== "operator" && actor.role !== "lead")
        throw forbidden(text("workspaces.whoDestroys"));
      if (row.state === "provisioning" || row.state === "destroyed") {
        throw fail("INVALID_STATE", text("workspaces.state", { state: codeOf("workspace", row.state) }), {
          current: row.state,
        });
      }
      const ref = refOf(row);
      await egress?.close(row.id);
      if (ref) await driver.destroy(ref);
      // One event, in the same transaction as the state, is the evidence of what was deleted and when.
      await setState(
        row,
        actor,
        "destroyed",
        reason,
        { container: row.container_id, volume: row.volume, deletedAt: now().toISOString() },
        "workspace.disposed",
      );
      // its host has room for one more: a workspace waiting for one may fit now
      if (placement) void service.placePending().catch(() => undefined);
      return toWorkspace(await visible(actor, id));
    },
  };
  return service;
}

export type WorkspaceService = ReturnType<typeof createWorkspaceService>;
