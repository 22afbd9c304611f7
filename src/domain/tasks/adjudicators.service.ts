// Engineers who decide disputed task items besides the contract's leads: a lead named on the contract grants an
// engineer (a senior keyer, say) the right for one batch or for every batch of the contract, and revokes it. The
// grant is a row of its own, audited both ways; a revoked one keeps its row. What a granted engineer may then see
// and decide — never an item they keyed, a batch needing vetting only while they hold it — is checked where the
// decision is made (entries.service.ts).
import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import type { Database, TaskAdjudicatorTable, TaskBatchTable } from "../../db/schema.ts";
import type { Actor } from "../../kernel/actor.ts";
import { fail, forbidden, invalidField, notFound } from "../../kernel/errors.ts";
import { text } from "../../kernel/messages.ts";
import type { AuditService } from "../audit/audit.service.ts";
import { visibleContracts } from "../contracts/contracts.service.ts";
import { describeIneligibility, ineligibilityText } from "../matching/matching.ts";
import { taskVettingGaps } from "./tasks.service.ts";

/** A grant as the API shows it. */
export interface TaskAdjudicator {
  id: string;
  contractId: string;
  /** The batch it is for, or null for every batch of the contract (those made later too). */
  batchId: string | null;
  userId: string;
  name: string;
  grantedBy: string;
  grantedAt: string;
  revokedBy: string | null;
  revokedAt: string | null;
}

const toGrant = (r: TaskAdjudicatorTable & { name: string }): TaskAdjudicator => ({
  id: r.id,
  contractId: r.contract_id,
  batchId: r.batch_id,
  userId: r.user_id,
  name: r.name,
  grantedBy: r.granted_by,
  grantedAt: r.granted_at,
  revokedBy: r.revoked_by,
  revokedAt: r.revoked_at,
});

/** Whether the engineer holds a grant, not revoked, to decide the batch's disputed items. */
export async function holdsAdjudicatorGrant(
  db: Kysely<Database>,
  userId: string,
  batch: Pick<TaskBatchTable, "id" | "contract_id" | "tenant_id">,
): Promise<boolean> {
  const row = await db
    .selectFrom("task_adjudicator")
    .select("id")
    .where("user_id", "=", userId)
    .where("contract_id", "=", batch.contract_id)
    .where("tenant_id", "=", batch.tenant_id)
    .where("revoked_at", "is", null)
    .where((eb) => eb.or([eb("batch_id", "=", batch.id), eb("batch_id", "is", null)]))
    .executeTakeFirst();
  return row !== undefined;
}

/** The batches the engineer holds a grant, not revoked, to decide: named ones and every batch of granted contracts. */
export function adjudicatedBatches(db: Kysely<Database>, userId: string) {
  return db.selectFrom("task_batch").where((eb) =>
    eb.exists(
      eb
        .selectFrom("task_adjudicator")
        .select("task_adjudicator.id")
        .where("task_adjudicator.user_id", "=", userId)
        .where("task_adjudicator.revoked_at", "is", null)
        .whereRef("task_adjudicator.contract_id", "=", "task_batch.contract_id")
        .whereRef("task_adjudicator.tenant_id", "=", "task_batch.tenant_id")
        .where((e) =>
          e.or([
            e("task_adjudicator.batch_id", "is", null),
            e("task_adjudicator.batch_id", "=", e.ref("task_batch.id")),
          ]),
        ),
    ),
  );
}

export function createTaskAdjudicatorService({ db, audit }: { db: Kysely<Database>; audit: AuditService }) {
  /** The contract if the actor sees it (its tenant's contractors, the leads named on it); NOT_FOUND otherwise. */
  async function contractOf(actor: Actor, contractId: string) {
    const row = await visibleContracts(db, actor)
      .select(["contract.id", "contract.tenant_id"])
      .where("contract.id", "=", contractId)
      .executeTakeFirst();
    if (!row) throw notFound("contract");
    return row;
  }

  function requireLead(actor: Actor) {
    if (actor.kind !== "user" || actor.role !== "lead") throw forbidden(text("tasks.leadGrants"));
    return actor;
  }

  async function list(where: { contractId?: string; id?: string }): Promise<TaskAdjudicator[]> {
    let q = db
      .selectFrom("task_adjudicator")
      .innerJoin("user", "user.id", "task_adjudicator.user_id")
      .selectAll("task_adjudicator")
      .select("user.name");
    if (where.contractId) q = q.where("task_adjudicator.contract_id", "=", where.contractId);
    if (where.id) q = q.where("task_adjudicator.id", "=", where.id);
    return (await q.orderBy("task_adjudicator.granted_at").orderBy("task_adjudicator.id").execute()).map(toGrant);
  }

  return {
    /**
     * A lead named on the contract lets an engineer decide the disputed items of one batch (`batchId`) or of every
     * batch of the contract. A batch needing vetting (`my_number` among them) is granted only to an engineer
     * holding it today (409 with the reasons otherwise); a grant for the whole contract is checked at each use.
     */
    async grant(actor: Actor, contractId: string, input: { engineerId: string; batchId?: string | undefined }) {
      const contract = await contractOf(actor, contractId);
      const lead = requireLead(actor);
      const engineer = await db
        .selectFrom("user")
        .select(["id", "name"])
        .where("id", "=", input.engineerId)
        .where("role", "=", "engineer")
        .executeTakeFirst();
      if (!engineer) throw invalidField("engineerId", text("tasks.noEngineer"));
      if (input.batchId !== undefined) {
        const batch = await db
          .selectFrom("task_batch")
          .select(["id", "fields", "vetting"])
          .where("id", "=", input.batchId)
          .where("contract_id", "=", contract.id)
          .executeTakeFirst();
        if (!batch) throw invalidField("batchId", text("tasks.noBatchOnContract"));
        const gaps = await taskVettingGaps(db, batch, engineer.id);
        if (gaps.length) {
          throw fail(
            "CONFLICT",
            text("tasks.adjudicatorNotVetted", { name: engineer.name, why: gaps.map(ineligibilityText) }),
            { why: gaps.map(describeIneligibility) },
          );
        }
      }
      const id = randomUUID();
      await db.transaction().execute(async (trx) => {
        const inserted = await trx
          .insertInto("task_adjudicator")
          .values({
            id,
            tenant_id: contract.tenant_id,
            contract_id: contract.id,
            batch_id: input.batchId ?? null,
            user_id: engineer.id,
            granted_by: lead.userId,
            granted_at: new Date().toISOString(),
            revoked_by: null,
            revoked_at: null,
          })
          // The same grant already in force (the index of one per engineer and scope) makes nothing.
          .onConflict((oc) => oc.doNothing())
          .executeTakeFirst();
        if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 0) {
          throw fail("CONFLICT", text("tasks.alreadyAdjudicator", { name: engineer.name }));
        }
        await audit.record(
          actor,
          "task_adjudicator.granted",
          `task_adjudicator:${id}`,
          { contractId: contract.id, batchId: input.batchId ?? null, engineerId: engineer.id },
          { trx, tenantId: contract.tenant_id },
        );
      });
      return (await list({ id }))[0] as TaskAdjudicator;
    },

    /** The contract's grants, revoked ones too, to its contractors and leads. */
    async list(actor: Actor, contractId: string): Promise<TaskAdjudicator[]> {
      await contractOf(actor, contractId);
      return list({ contractId });
    },

    /** A lead named on the contract takes a grant back; from then on the engineer sees no dispute of it (404). */
    async revoke(actor: Actor, grantId: string): Promise<TaskAdjudicator> {
      const grant = await db
        .selectFrom("task_adjudicator")
        .select(["id", "contract_id", "revoked_at"])
        .where("id", "=", grantId)
        .executeTakeFirst();
      if (!grant) throw notFound("taskAdjudicator");
      const contract = await contractOf(actor, grant.contract_id).catch(() => {
        throw notFound("taskAdjudicator");
      });
      const lead = requireLead(actor);
      await db.transaction().execute(async (trx) => {
        const revoked = await trx
          .updateTable("task_adjudicator")
          .set({ revoked_by: lead.userId, revoked_at: new Date().toISOString() })
          .where("id", "=", grantId)
          .where("revoked_at", "is", null)
          .executeTakeFirst();
        if (Number(revoked.numUpdatedRows) === 0) throw fail("INVALID_STATE", text("tasks.adjudicatorRevoked"));
        await audit.record(
          actor,
          "task_adjudicator.revoked",
          `task_adjudicator:${grantId}`,
          { contractId: contract.id },
          { trx, tenantId: contract.tenant_id },
        );
      });
      return (await list({ id: grantId }))[0] as TaskAdjudicator;
    },
  };
}

export type TaskAdjudicatorService = ReturnType<typeof createTaskAdjudicatorService>;
