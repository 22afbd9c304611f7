// One workspace per assignment: provisioned from the package's template when the engineer accepts,
// started, stopped and destroyed through the workspace driver, every change with its reason, audited.
import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import type { Database, WorkspaceTable } from "../../db/schema.ts";
import type { Logger } from "../../logger.ts";
import type { WorkspaceDriver, WorkspaceRef } from "../../provisioner/driver.ts";
import { loadTemplates, type WorkspaceTemplate } from "../../templates/templates.ts";
import type { Actor } from "../actor.ts";
import type { AuditService } from "../audit/audit.service.ts";
import { visibleContracts } from "../contracts/contracts.service.ts";
import { AppError, forbidden, notFound } from "../errors.ts";
import type { EgressService } from "./egress.service.ts";

export type WorkspaceState = "provisioning" | "running" | "stopped" | "destroyed" | "failed";

export interface Workspace {
  id: string;
  packageId: string;
  engineerId: string;
  template: string;
  state: WorkspaceState;
  /** Why it is in this state: what the last change was, or what went wrong. */
  reason: string;
  /** When something last showed the workspace in use, and what (an SSH session, a save in the web IDE). */
  lastActivityAt: string | null;
  lastActivity: string | null;
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
  lastActivityAt: r.last_activity_at,
  lastActivity: r.last_activity,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const refOf = (r: WorkspaceTable): WorkspaceRef | null =>
  r.container_id && r.volume ? { id: r.id, containerId: r.container_id, volume: r.volume } : null;

export function createWorkspaceService({
  db,
  audit,
  driver,
  templatesDir,
  logger,
  egress,
  now = () => new Date(),
  prepare,
}: {
  db: Kysely<Database>;
  audit: AuditService;
  driver: WorkspaceDriver;
  templatesDir: string;
  logger: Logger;
  /** The proxy of workspaces whose template names destinations; without it they fail to provision. */
  egress?: EgressService;
  now?: () => Date;
  /** Runs in the started container before it counts as running: the forge checks out the package's fork. */
  prepare?: (workspace: Workspace, ref: WorkspaceRef, template: WorkspaceTemplate) => Promise<void>;
}) {
  let templates: Promise<Map<string, WorkspaceTemplate>> | undefined;
  const inFlight = new Map<string, Promise<void>>();
  const system: Actor = { kind: "system", name: "workspaces" };

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

  /** The workspace row, if the actor may see it: its engineer, the contract's people, or an operator. */
  async function visible(actor: Actor, id: string): Promise<WorkspaceTable> {
    const row = await db.selectFrom("workspace").selectAll().where("id", "=", id).executeTakeFirst();
    if (!row) throw notFound("workspace");
    if (actor.kind === "system" || actor.role === "operator") return row;
    if (actor.role === "engineer") {
      if (row.engineer_id !== actor.userId) throw notFound("workspace");
      return row;
    }
    const contract = await visibleContracts(db, actor)
      .innerJoin("work_package", "work_package.contract_id", "contract.id")
      .select("work_package.id")
      .where("work_package.id", "=", row.package_id)
      .executeTakeFirst();
    if (!contract) throw notFound("workspace");
    return row;
  }

  async function provision(row: WorkspaceTable, template: WorkspaceTemplate | undefined) {
    if (!template) {
      await setState(row, system, "failed", `no workspace template named "${row.template}"`);
      return;
    }
    try {
      const ref = await driver.create({
        id: row.id,
        tenantId: row.tenant_id,
        packageId: row.package_id,
        image: template.image,
        user: template.remoteUser,
        env: template.containerEnv,
        resources: template.azusa.resources,
        readOnlyRootFs: template.azusa.readOnlyRootFs,
        workspaceFolder: template.azusa.workspaceFolder,
        egress: template.azusa.network.allow.length > 0,
      });
      await db
        .updateTable("workspace")
        .set({ container_id: ref.containerId, volume: ref.volume })
        .where("id", "=", row.id)
        .execute();
      const allow = template.azusa.network.allow;
      if (allow.length > 0) {
        if (!egress) throw new Error("the template names destinations but no egress proxy is configured");
        await egress.open({ id: row.id, tenantId: row.tenant_id, allow });
      }
      await driver.start(ref);
      if (prepare) await prepare(toWorkspace(row), ref, template);
      await setState(row, system, "running", "provisioned for the assignment");
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      logger.warn({ workspace: row.id, err: message }, "workspace provisioning failed");
      await setState(row, system, "failed", `provisioning failed: ${message}`);
    }
  }

  const service = {
    /** Loads the templates once; a bad template stops start-up with every problem named. */
    templates(): Promise<Map<string, WorkspaceTemplate>> {
      templates ??= loadTemplates(templatesDir);
      return templates;
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
        created_at: at,
        updated_at: at,
        last_activity_at: null,
        last_activity: null,
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
      const work = service
        .templates()
        .then((all) => provision(row, all.get(row.template)))
        .catch((err) => logger.error({ workspace: row.id, err }, "workspace provisioning crashed"))
        .finally(() => inFlight.delete(row.id));
      inFlight.set(row.id, work);
      return toWorkspace(row);
    },

    /** Resolves once every provisioning in progress has finished (before shutting down). */
    async drain(): Promise<void> {
      await Promise.all(inFlight.values());
    },

    /** Resolves once the workspace's provisioning has finished, however it ended. */
    async settled(id: string): Promise<void> {
      await inFlight.get(id);
    },

    /** Every workspace with its package and engineer, newest first; operators only (others ask per package). */
    async list(actor: Actor): Promise<(Workspace & { wbsId: string; packageTitle: string; engineerName: string })[]> {
      if (actor.kind === "user" && actor.role !== "operator") throw forbidden("only operators list workspaces");
      const rows = await db
        .selectFrom("workspace")
        .innerJoin("work_package", "work_package.id", "workspace.package_id")
        .innerJoin("user", "user.id", "workspace.engineer_id")
        .selectAll("workspace")
        .select(["work_package.wbs_id as wbs_id", "work_package.title as package_title", "user.name as engineer_name"])
        .orderBy("workspace.created_at", "desc")
        .execute();
      return rows.map(({ wbs_id, package_title, engineer_name, ...r }) => ({
        ...toWorkspace(r),
        wbsId: wbs_id,
        packageTitle: package_title,
        engineerName: engineer_name,
      }));
    },

    /** The current workspace of a package. */
    async forPackage(actor: Actor, packageId: string): Promise<Workspace> {
      const row = await db
        .selectFrom("workspace")
        .select("id")
        .where("package_id", "=", packageId)
        .where("state", "!=", "destroyed")
        .orderBy("created_at", "desc")
        .executeTakeFirst();
      if (!row) throw notFound("workspace");
      return toWorkspace(await visible(actor, row.id));
    },

    async start(actor: Actor, id: string): Promise<Workspace> {
      const row = await visible(actor, id);
      const ref = refOf(row);
      if (!ref || (row.state !== "stopped" && row.state !== "running")) {
        throw new AppError("INVALID_STATE", `workspace is ${row.state}: only a stopped workspace starts`, {
          current: row.state,
        });
      }
      await driver.start(ref);
      if (row.state !== "running")
        await setState(row, actor, "running", actor.kind === "user" ? `started by ${actor.role}` : "started");
      return toWorkspace(await visible(actor, id));
    },

    async stop(actor: Actor, id: string): Promise<Workspace> {
      const row = await visible(actor, id);
      const ref = refOf(row);
      if (!ref || (row.state !== "running" && row.state !== "stopped")) {
        throw new AppError("INVALID_STATE", `workspace is ${row.state}: only a running workspace stops`, {
          current: row.state,
        });
      }
      await driver.stop(ref);
      if (row.state !== "stopped")
        await setState(row, actor, "stopped", actor.kind === "user" ? `stopped by ${actor.role}` : "stopped");
      return toWorkspace(await visible(actor, id));
    },

    /**
     * Notes that the workspace is in use (`what`: "ssh shell", "web IDE save", …) so that the idle timer
     * starts again; not audited, as sessions and saves have their own events.
     */
    async recordActivity(id: string, what: string, at: Date = now()): Promise<void> {
      await db
        .updateTable("workspace")
        .set({ last_activity_at: at.toISOString(), last_activity: what })
        .where("id", "=", id)
        .execute();
    },

    /** Removes the container and its volume; the audit event is the evidence of what was deleted and when. */
    async destroy(actor: Actor, id: string, reason: string): Promise<Workspace> {
      const row = await visible(actor, id);
      if (actor.kind === "user" && actor.role !== "operator" && actor.role !== "lead")
        throw forbidden("only operators and the contract's lead destroy workspaces");
      if (row.state === "provisioning" || row.state === "destroyed") {
        throw new AppError("INVALID_STATE", `workspace is ${row.state}`, { current: row.state });
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
        { container: row.container_id, volume: row.volume },
        "workspace.disposed",
      );
      return toWorkspace(await visible(actor, id));
    },
  };
  return service;
}

export type WorkspaceService = ReturnType<typeof createWorkspaceService>;
