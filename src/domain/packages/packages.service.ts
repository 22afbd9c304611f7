// Work packages: reading them with their plan, editing, splitting and merging while still in planning,
// and moving them through the lifecycle with an audit event for every move.

import { randomUUID } from "node:crypto";
import type { Kysely, Transaction } from "kysely";
import type { Database, Executor, WorkPackageTable } from "../../db/schema.ts";
import type { Actor } from "../../kernel/actor.ts";
import { fail, fieldProblem, forbidden, invalidField, invalidWith, notFound } from "../../kernel/errors.ts";
import { roleCode, stateCode, type Text, text } from "../../kernel/messages.ts";
import type { AuditService } from "../audit/audit.service.ts";
import { contractPackages, visibleContracts } from "../contracts/contracts.service.ts";
import { normalizeSkills } from "../skills.ts";
import { assertTransition, editableStates, type PackageState, requestableBy } from "./lifecycle.ts";
import { type ContractPlan, findCycle, type PlanNode, planOf } from "./plan.ts";
import type { PackageActuals } from "./timeline.ts";
import { compareWbs } from "./wbs-order.ts";

export interface Skill {
  skill: string;
  level: number;
}

export interface WorkPackage {
  id: string;
  contractId: string;
  wbsId: string;
  title: string;
  parentWbsId: string | null;
  skills: Skill[];
  estimateHours: number;
  acceptanceCriteria: string;
  template: string;
  state: PackageState;
  stateReason: string | null;
  dependsOn: string[];
  /** Above the contract's package size: the lead should split it. */
  oversized: boolean;
  sourceRow: number | null;
  createdAt: string;
  updatedAt: string;
}

export interface PackageChanges {
  title?: string;
  skills?: Skill[];
  estimateHours?: number;
  acceptanceCriteria?: string;
  template?: string;
  dependsOn?: string[];
}

export interface SplitPart {
  title: string;
  estimateHours: number;
  skills?: Skill[];
  acceptanceCriteria?: string;
}

type Row = WorkPackageTable & { max_package_hours: number };

/** Packages the actor may see: those of contracts they see; for engineers, those offered or assigned to them now. */
function visiblePackages(db: Executor, actor: Actor) {
  if (actor.kind === "user" && actor.role === "engineer") {
    const engineerId = actor.userId;
    return db
      .selectFrom("work_package")
      .innerJoin("contract", "contract.id", "work_package.contract_id")
      .selectAll("work_package")
      .select("contract.max_package_hours")
      .where((eb) =>
        eb.or([
          eb.exists(
            eb
              .selectFrom("offer")
              .select("offer.id")
              .whereRef("offer.package_id", "=", "work_package.id")
              .where("offer.engineer_id", "=", engineerId)
              .where("offer.state", "=", "pending"),
          ),
          eb.exists(
            eb
              .selectFrom("assignment")
              .select("assignment.id")
              .whereRef("assignment.package_id", "=", "work_package.id")
              .where("assignment.engineer_id", "=", engineerId)
              .where("assignment.ended_at", "is", null),
          ),
        ]),
      );
  }
  return contractPackages(db, actor).selectAll("work_package").select("contract.max_package_hours");
}

/** Lets the event loop run what is waiting (timers, sockets) before going on. */
const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * A contract's packages replaced whole by an imported WBS's (the import has checked that none has opened or had
 * an offer), with their dependencies, in the import's transaction. Batches keep each statement under the engines'
 * limits on bound parameters; between them the event loop gets a turn (SQLite runs each one synchronously).
 */
export async function replaceContractPackages(
  trx: Transaction<Database>,
  contractId: string,
  rows: WorkPackageTable[],
  edges: { package_id: string; depends_on_id: string }[],
  /** Runs between the packages and their dependencies (a fault test's pause point). */
  between: () => Promise<void> = async () => {},
): Promise<void> {
  await trx.deleteFrom("work_package").where("contract_id", "=", contractId).execute();
  for (let i = 0; i < rows.length; i += 500) {
    await trx
      .insertInto("work_package")
      .values(rows.slice(i, i + 500))
      .execute();
    await yieldToLoop();
  }
  await between();
  for (let i = 0; i < edges.length; i += 500) {
    await trx
      .insertInto("package_dependency")
      .values(edges.slice(i, i + 500))
      .execute();
    await yieldToLoop();
  }
}

/**
 * What another module does when a package is cancelled: `during`, in the cancelling transaction (a failure
 * undoes the cancellation); `after`, once it has committed, with the reason given (must not throw).
 */
export interface CancelHook {
  during?: (
    trx: Transaction<Database>,
    actor: Actor,
    pkg: { id: string; tenantId: string },
    reason: string | null,
  ) => Promise<unknown>;
  after?: (actor: Actor, packageId: string, reason: string | null) => Promise<unknown>;
}

export function createPackageService({ db, audit }: { db: Kysely<Database>; audit: AuditService }) {
  const cancelHooks: CancelHook[] = [];
  async function dependenciesOf(ex: Executor, ids: string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const rows = await ex
        .selectFrom("package_dependency")
        .select(["package_id", "depends_on_id"])
        .where("package_id", "in", chunk)
        .execute();
      for (const r of rows) out.set(r.package_id, [...(out.get(r.package_id) ?? []), r.depends_on_id]);
    }
    return out;
  }

  function toPackage(r: Row, dependsOn: string[]): WorkPackage {
    return {
      id: r.id,
      contractId: r.contract_id,
      wbsId: r.wbs_id,
      title: r.title,
      parentWbsId: r.parent_wbs_id,
      skills: JSON.parse(r.skills) as Skill[],
      estimateHours: Number(r.estimate_hours),
      acceptanceCriteria: r.acceptance_criteria,
      template: r.template,
      state: r.state as PackageState,
      stateReason: r.state_reason,
      dependsOn: dependsOn.sort(),
      oversized: Number(r.estimate_hours) > Number(r.max_package_hours),
      sourceRow: r.source_row == null ? null : Number(r.source_row),
      createdAt: r.created_at,
      updatedAt: r.updated_at,
    };
  }

  async function rowFor(ex: Executor, actor: Actor, id: string): Promise<Row> {
    const row = await visiblePackages(ex, actor).where("work_package.id", "=", id).executeTakeFirst();
    if (!row) throw notFound("package");
    return row;
  }

  /** A package a lead of its contract may change: visible, led by the actor, still in planning. */
  async function editable(ex: Executor, actor: Actor, id: string): Promise<Row> {
    const row = await rowFor(ex, actor, id);
    if (actor.kind === "user" && actor.role !== "lead") throw forbidden(text("packages.leadOnly"));
    if (!editableStates.includes(row.state as PackageState)) {
      throw fail("INVALID_STATE", text("packages.notEditable", { state: stateCode(row.state) }), {
        current: row.state,
      });
    }
    return row;
  }

  /** The contract's live dependency graph, for cycle checks after an edit. */
  async function graph(ex: Executor, contractId: string): Promise<Map<string, PlanNode>> {
    const rows = await ex
      .selectFrom("work_package")
      .select(["id", "wbs_id", "estimate_hours"])
      .where("contract_id", "=", contractId)
      .where("state", "!=", "cancelled")
      .execute();
    const deps = await dependenciesOf(
      ex,
      rows.map((r) => r.id),
    );
    return new Map(
      rows.map((r) => [
        r.id,
        { id: r.id, label: r.wbs_id, hours: Number(r.estimate_hours), dependsOn: deps.get(r.id) ?? [] },
      ]),
    );
  }

  function refuseCycle(nodes: Map<string, PlanNode>) {
    const cycle = findCycle([...nodes.values()]);
    if (cycle) {
      const shown = cycle.join(" → ");
      throw fail("CONFLICT", text("wbs.cycle", { cycle: shown }), {
        fields: [fieldProblem("dependsOn", text("wbs.cycleField", { cycle: shown }))],
      });
    }
  }

  async function checkDependencies(ex: Executor, contractId: string, selfId: string, ids: string[]) {
    if (ids.includes(selfId)) throw invalidDeps(text("packages.ownDependency"));
    if (ids.length === 0) return;
    const found = await ex
      .selectFrom("work_package")
      .select("id")
      .where("id", "in", ids)
      .where("contract_id", "=", contractId)
      .execute();
    const known = new Set(found.map((r) => r.id));
    const unknown = ids.filter((id) => !known.has(id));
    if (unknown.length) throw invalidDeps(text("packages.foreignDependencies", { ids: unknown.join(", ") }));
  }

  async function setDependencies(ex: Executor, packageId: string, ids: string[]) {
    await ex.deleteFrom("package_dependency").where("package_id", "=", packageId).execute();
    if (ids.length) {
      await ex
        .insertInto("package_dependency")
        .values([...new Set(ids)].map((depends_on_id) => ({ package_id: packageId, depends_on_id })))
        .execute();
    }
  }

  /** Packages that depend on any of `ids`, and on which of them. */
  async function dependentsOf(ex: Executor, ids: string[]) {
    return ex
      .selectFrom("package_dependency")
      .select(["package_id", "depends_on_id"])
      .where("depends_on_id", "in", ids)
      .execute();
  }

  async function insertPackage(ex: Executor, row: WorkPackageTable, dependsOn: string[]) {
    await ex.insertInto("work_package").values(row).execute();
    await setDependencies(ex, row.id, dependsOn);
  }

  /** Moves a package, checked against the lifecycle table, and records the move. */
  async function move(
    ex: Transaction<Database>,
    actor: Actor,
    row: Pick<WorkPackageTable, "id" | "state" | "tenant_id">,
    to: PackageState,
    reason: string | null,
  ) {
    assertTransition(row.state as PackageState, to);
    const updated = await ex
      .updateTable("work_package")
      .set({ state: to, state_reason: reason, updated_at: new Date().toISOString() })
      .where("id", "=", row.id)
      .where("state", "=", row.state) // lost a race with another move: refuse rather than skip a state
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) !== 1) {
      throw fail("CONFLICT", text("packages.movedMeanwhile"));
    }
    // What ends with a cancelled package (its offer, its assignment) ends in the same transaction, written by
    // the modules that own it.
    if (to === "cancelled") {
      for (const hook of cancelHooks) await hook.during?.(ex, actor, { id: row.id, tenantId: row.tenant_id }, reason);
    }
    await audit.record(
      actor,
      "package.transitioned",
      `package:${row.id}`,
      { from: row.state, to, reason },
      {
        tenantId: row.tenant_id,
        trx: ex,
      },
    );
  }

  /** Throws "not found" unless the actor sees the contract. */
  async function visibleContract(actor: Actor, contractId: string): Promise<void> {
    const contract = await visibleContracts(db, actor)
      .select("contract.id")
      .where("contract.id", "=", contractId)
      .executeTakeFirst();
    if (!contract) throw notFound("contract");
  }

  const service = {
    async listByContract(actor: Actor, contractId: string): Promise<WorkPackage[]> {
      const rows = await visiblePackages(db, actor).where("work_package.contract_id", "=", contractId).execute();
      rows.sort((a, b) => compareWbs(a.wbs_id, b.wbs_id));
      if (rows.length === 0) {
        // An empty list and an invisible contract must not look alike to a stranger.
        const contract = await visibleContracts(db, actor)
          .select("contract.id")
          .where("contract.id", "=", contractId)
          .executeTakeFirst();
        if (!contract) throw notFound("contract");
      }
      const deps = await dependenciesOf(
        db,
        rows.map((r) => r.id),
      );
      return rows.map((r) => toPackage(r, deps.get(r.id) ?? []));
    },

    async get(actor: Actor, id: string): Promise<WorkPackage> {
      const row = await rowFor(db, actor, id);
      return toPackage(row, (await dependenciesOf(db, [id])).get(id) ?? []);
    },

    /** Earliest starts, slack and the critical path of the contract's packages that are not cancelled. */
    async plan(actor: Actor, contractId: string): Promise<ContractPlan> {
      await visibleContract(actor, contractId);
      return planOf(await graph(db, contractId));
    },

    /** Who took each of the contract's packages and when, and when it was delivered and accepted (the 線表's actual bars). */
    async actuals(actor: Actor, contractId: string): Promise<PackageActuals[]> {
      await visibleContract(actor, contractId);
      const assignments = await db
        .selectFrom("assignment")
        .innerJoin("work_package", "work_package.id", "assignment.package_id")
        .innerJoin("user", "user.id", "assignment.engineer_id")
        .select(["assignment.package_id", "assignment.started_at", "assignment.ended_at", "user.name"])
        .where("work_package.contract_id", "=", contractId)
        .execute();
      const deliveries = await db
        .selectFrom("delivery")
        .select(["package_id", "delivered_at", "decision", "decided_at"])
        .where("contract_id", "=", contractId)
        .execute();
      const out = new Map<string, PackageActuals>();
      // The assignment that holds the package now, else the last one that ended.
      const rank = (a: { ended_at: string | null; started_at: string }) => `${a.ended_at ? 0 : 1}${a.started_at}`;
      const chosen = new Map<string, (typeof assignments)[number]>();
      for (const a of assignments) {
        const held = chosen.get(a.package_id);
        if (!held || rank(a) > rank(held)) chosen.set(a.package_id, a);
      }
      for (const [packageId, a] of chosen) {
        out.set(packageId, {
          packageId,
          engineerName: a.name,
          startedAt: a.started_at,
          deliveredAt: null,
          acceptedAt: null,
        });
      }
      for (const d of deliveries.sort((x, y) => x.delivered_at.localeCompare(y.delivered_at))) {
        const row = out.get(d.package_id);
        if (!row || d.delivered_at < (row.startedAt ?? "")) continue;
        // A rejected delivery sends the work back: the package is not delivered until the next one.
        row.deliveredAt = d.decision === "rejected" ? null : d.delivered_at;
        row.acceptedAt = d.decision === "accepted" ? d.decided_at : null;
      }
      return [...out.values()];
    },

    async update(actor: Actor, id: string, changes: PackageChanges): Promise<WorkPackage> {
      await db.transaction().execute(async (trx) => {
        const row = await editable(trx, actor, id);
        const set: Partial<WorkPackageTable> = { updated_at: new Date().toISOString() };
        if (changes.title !== undefined) set.title = changes.title;
        if (changes.skills !== undefined) set.skills = JSON.stringify(normalizeSkills(changes.skills));
        if (changes.estimateHours !== undefined) set.estimate_hours = changes.estimateHours;
        if (changes.acceptanceCriteria !== undefined) set.acceptance_criteria = changes.acceptanceCriteria;
        if (changes.template !== undefined) set.template = changes.template;
        await trx.updateTable("work_package").set(set).where("id", "=", id).execute();
        if (changes.dependsOn) {
          await checkDependencies(trx, row.contract_id, id, changes.dependsOn);
          await setDependencies(trx, id, changes.dependsOn);
          refuseCycle(await graph(trx, row.contract_id));
        }
        await audit.record(
          actor,
          "package.updated",
          `package:${id}`,
          { changed: Object.keys(changes) },
          {
            tenantId: row.tenant_id,
            trx,
          },
        );
      });
      return service.get(actor, id);
    },

    /** Replaces one package by parts that together do its work; the original is cancelled. */
    async split(actor: Actor, id: string, parts: SplitPart[]): Promise<WorkPackage[]> {
      if (parts.length < 2) throw invalidWith(text("packages.splitTwo"), "parts", text("packages.atLeastTwo"));
      const ids = await db.transaction().execute(async (trx) => {
        const row = await editable(trx, actor, id);
        const deps = (await dependenciesOf(trx, [id])).get(id) ?? [];
        const taken = new Set(
          (
            await trx.selectFrom("work_package").select("wbs_id").where("contract_id", "=", row.contract_id).execute()
          ).map((r) => r.wbs_id),
        );
        const now = new Date().toISOString();
        const created: { id: string; wbsId: string }[] = [];
        for (const [i, part] of parts.entries()) {
          let wbsId = `${row.wbs_id}-${i + 1}`;
          while (taken.has(wbsId)) wbsId = `${wbsId}'`;
          taken.add(wbsId);
          const newRow: WorkPackageTable = {
            ...withoutMax(row),
            id: randomUUID(),
            wbs_id: wbsId,
            title: part.title,
            estimate_hours: part.estimateHours,
            skills: part.skills ? JSON.stringify(normalizeSkills(part.skills)) : row.skills,
            acceptance_criteria: part.acceptanceCriteria ?? row.acceptance_criteria,
            state_reason: null,
            created_at: now,
            updated_at: now,
          };
          await insertPackage(trx, newRow, deps);
          created.push({ id: newRow.id, wbsId });
        }
        // Whatever waited for the whole now waits for every part.
        for (const d of await dependentsOf(trx, [id])) {
          await trx
            .deleteFrom("package_dependency")
            .where("package_id", "=", d.package_id)
            .where("depends_on_id", "=", id)
            .execute();
          await trx
            .insertInto("package_dependency")
            .values(created.map((c) => ({ package_id: d.package_id, depends_on_id: c.id })))
            .execute();
        }
        await move(trx, actor, row, "cancelled", `split into ${created.map((c) => c.wbsId).join(", ")}`);
        await audit.record(
          actor,
          "package.split",
          `package:${id}`,
          { into: created },
          { tenantId: row.tenant_id, trx },
        );
        return created.map((c) => c.id);
      });
      return Promise.all(ids.map((pid) => service.get(actor, pid)));
    },

    /** Joins packages of one contract into one; the originals are cancelled. */
    async merge(actor: Actor, ids: string[], opts: { title?: string } = {}): Promise<WorkPackage> {
      const unique = [...new Set(ids)];
      if (unique.length < 2) throw invalidWith(text("packages.mergeTwo"), "packageIds", text("packages.atLeastTwo"));
      const newId = await db.transaction().execute(async (trx) => {
        const rows: Row[] = [];
        for (const id of unique) rows.push(await editable(trx, actor, id));
        const first = rows[0] as Row;
        if (rows.some((r) => r.contract_id !== first.contract_id)) {
          throw invalidWith(text("packages.mergeContracts"), "packageIds", text("packages.oneContract"));
        }
        const merged = new Set(unique);
        const deps = await dependenciesOf(trx, unique);
        const outer = [...new Set(unique.flatMap((id) => deps.get(id) ?? []))].filter((d) => !merged.has(d));
        const skills = new Map<string, number>();
        for (const r of rows)
          for (const s of JSON.parse(r.skills) as Skill[])
            skills.set(s.skill, Math.max(s.level, skills.get(s.skill) ?? 0));
        const now = new Date().toISOString();
        const newRow: WorkPackageTable = {
          ...withoutMax(first),
          id: randomUUID(),
          wbs_id: await freeWbsId(trx, first.contract_id, rows.map((r) => r.wbs_id).join("+")),
          title: opts.title ?? rows.map((r) => r.title).join(" / "),
          estimate_hours: rows.reduce((sum, r) => sum + Number(r.estimate_hours), 0),
          skills: JSON.stringify([...skills].map(([skill, level]) => ({ skill, level }))),
          acceptance_criteria: rows
            .map((r) => r.acceptance_criteria)
            .filter(Boolean)
            .join("\n"),
          state: rows.every((r) => r.state === "open") ? "open" : "draft",
          state_reason: null,
          created_at: now,
          updated_at: now,
        };
        await insertPackage(trx, newRow, outer);
        for (const d of await dependentsOf(trx, unique)) {
          if (merged.has(d.package_id)) continue;
          await trx
            .deleteFrom("package_dependency")
            .where("package_id", "=", d.package_id)
            .where("depends_on_id", "=", d.depends_on_id)
            .execute();
          await trx
            .insertInto("package_dependency")
            .values({ package_id: d.package_id, depends_on_id: newRow.id })
            .onConflict((oc) => oc.doNothing())
            .execute();
        }
        for (const r of rows) await move(trx, actor, r, "cancelled", `merged into ${newRow.wbs_id}`);
        refuseCycle(await graph(trx, first.contract_id));
        await audit.record(
          actor,
          "package.merged",
          `package:${newRow.id}`,
          { from: rows.map((r) => r.wbs_id) },
          { tenantId: first.tenant_id, trx },
        );
        return newRow.id;
      });
      return service.get(actor, newId);
    },

    /** A move asked for over the API: only those the actor's role may ask for (see lifecycle.ts). */
    async request(actor: Actor, id: string, to: PackageState, reason: string | null = null): Promise<WorkPackage> {
      await db.transaction().execute(async (trx) => {
        const row = await rowFor(trx, actor, id);
        if (actor.kind === "user" && !requestableBy[actor.role]?.includes(to)) {
          throw forbidden(text("packages.roleCannotMove", { role: roleCode(actor.role), state: stateCode(to) }));
        }
        // Back to open from an offer or an assignment is a withdrawal, which ends them too (offers.withdraw).
        if (to === "open" && row.state !== "draft") {
          throw fail("INVALID_STATE", text("packages.onlyDraftOpens", { state: stateCode(row.state) }), {
            current: row.state,
          });
        }
        if (to === "open") {
          const deps = (await dependenciesOf(trx, [id])).get(id) ?? [];
          const cancelled = deps.length
            ? await trx
                .selectFrom("work_package")
                .select("wbs_id")
                .where("id", "in", deps)
                .where("state", "=", "cancelled")
                .execute()
            : [];
          if (cancelled.length) {
            throw fail(
              "INVALID_STATE",
              text("packages.dependsOnCancelled", { ids: cancelled.map((c) => c.wbs_id).join(", ") }),
              {
                current: row.state,
              },
            );
          }
        }
        await move(trx, actor, row, to, reason);
      });
      if (to === "cancelled") for (const hook of cancelHooks) await hook.after?.(actor, id, reason);
      return service.get(actor, id);
    },

    /** Registers what another module does when a package is cancelled (see CancelHook). */
    whenCancelled(hook: CancelHook): void {
      cancelHooks.push(hook);
    },

    /** Any legal move, for Azusa's own services (offers, sessions, reviews, delivery). */
    async transition(
      actor: Actor,
      id: string,
      to: PackageState,
      opts: { reason?: string; trx?: Transaction<Database>; from?: string } = {},
    ) {
      const run = async (trx: Transaction<Database>) => {
        const row = await trx
          .selectFrom("work_package")
          .select(["id", "state", "tenant_id"])
          .where("id", "=", id)
          .executeTakeFirst();
        if (!row) throw notFound("package");
        // A caller that decided from a state it read must not move a package that has left it.
        if (opts.from && row.state !== opts.from) {
          throw fail(
            "CONFLICT",
            text("packages.stateNow", { state: stateCode(row.state), from: stateCode(opts.from) }),
          );
        }
        await move(trx, actor, row, to, opts.reason ?? null);
      };
      if (opts.trx) await run(opts.trx);
      else await db.transaction().execute(run);
    },
  };
  return service;
}

/** `wanted`, or it with primes added until no package of the contract has it. */
async function freeWbsId(ex: Executor, contractId: string, wanted: string): Promise<string> {
  const taken = new Set(
    (await ex.selectFrom("work_package").select("wbs_id").where("contract_id", "=", contractId).execute()).map(
      (r) => r.wbs_id,
    ),
  );
  let id = wanted;
  while (taken.has(id)) id = `${id}'`;
  return id;
}

function withoutMax(row: Row): WorkPackageTable {
  const { max_package_hours: _, ...rest } = row;
  return rest;
}

function invalidDeps(message: Text) {
  return invalidField("dependsOn", message);
}

export type PackageService = ReturnType<typeof createPackageService>;
