// Contracts: what a prime contractor won, who leads it, and who may see it (its tenant's staff only).
import { randomUUID } from "node:crypto";
import { type Kysely, type SelectQueryBuilder, sql, type Transaction } from "kysely";
import type { ContractTable, Database, Executor } from "../../db/schema.ts";
import { checkImportSource } from "../../git/import-source.ts";
import type { Actor } from "../../kernel/actor.ts";
import { forbidden, invalidField, notFound } from "../../kernel/errors.ts";
import { text } from "../../kernel/messages.ts";
import type { AuditService } from "../audit/audit.service.ts";
import { parseCidr } from "./networks.ts";

export const contractTypes = ["ukeoi", "juninin"] as const;
export const confidentialityLevels = ["internal", "confidential", "restricted"] as const;
export const officeRuleModes = ["preferred", "required"] as const;

/**
 * Whose engineers a contract wants (a client's rule, such as "work done in Nagano"): engineers of the named
 * offices or of offices in the named prefectures. `required` leaves everyone else out of suggestions and offers;
 * `preferred` ranks them first.
 */
export interface OfficeRule {
  mode: (typeof officeRuleModes)[number];
  officeIds: string[];
  prefectures: string[];
}

export type ContractType = (typeof contractTypes)[number];
export type Confidentiality = (typeof confidentialityLevels)[number];

/** The 準委任 terms: a monthly fee for hours within the band, and rates for hours above and below it. */
export interface HoursBand {
  monthlyFeeYen: number;
  minHours: number;
  maxHours: number;
  overRateYen: number;
  underRateYen: number;
}

export interface NewContract {
  client: string;
  title: string;
  type: ContractType;
  confidentiality: Confidentiality;
  budgetYen?: number | null;
  periodStart: string;
  periodEnd: string;
  band?: HoursBand | null;
  leadIds?: string[];
  sourceRepository?: string | null;
  maxPackageHours?: number;
  /** How reported hours are rounded for billing: `none` (default) or e.g. `15min-nearest`; raw time is kept. */
  hoursRounding?: string;
  /** Days from delivery to payment, 1–60 (the Subcontract Act's limit when unset). */
  paymentTermsDays?: number | null;
  /** 請負: yen per estimated hour, the basis of a package's price in its order. */
  hourlyRateYen?: number | null;
  /** Approvals a pull request needs before Azusa merges it (default 1). */
  requiredApprovals?: number;
  /** Whether the package's engineer may clone the canonical repository over HTTP (default false). */
  engineerCloneAllowed?: boolean;
  /** CIDR blocks SSH and browser sessions may come from; empty (the default) allows any address. */
  allowedNetworks?: string[];
  /** Whether session recordings keep what the engineer types too (default: output only). */
  recordInput?: boolean;
  /** The offices the contract prefers or requires its engineers from; null (the default): any office. */
  officeRule?: OfficeRule | null;
  /** Labels a workspace host must carry to take this contract's workspaces (with the template's); {}: any. */
  hostLabels?: HostLabelsAsked;
}

/** Workspace host labels asked for by a contract. */
export interface HostLabelsAsked {
  office?: string;
  zone?: string;
}

export type ContractChanges = Partial<Omit<NewContract, "type">>;

export interface Contract extends Required<Omit<NewContract, "band" | "leadIds" | "officeRule">> {
  id: string;
  officeRule: OfficeRule | null;
  tenantId: string;
  band: HoursBand | null;
  leadIds: string[];
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}

/** Visibility of a contract, in one place: its tenant's contractors, and the leads named on it. */
export function visibleContracts(db: Executor, actor: Actor) {
  const q = db.selectFrom("contract");
  if (actor.kind === "system") return q;
  if (actor.role === "contractor") return q.where("contract.tenant_id", "=", actor.tenantId ?? "");
  if (actor.role === "lead") {
    // Named on the contract, and still a lead of the contract's tenant.
    return q
      .where("contract.tenant_id", "=", actor.tenantId ?? "")
      .where((eb) =>
        eb.exists(
          eb
            .selectFrom("contract_lead")
            .select("contract_lead.user_id")
            .whereRef("contract_lead.contract_id", "=", "contract.id")
            .where("contract_lead.user_id", "=", actor.userId),
        ),
      );
  }
  // Operators and engineers see no contract (engineers see the packages offered to them).
  return q.where(sql<boolean>`1 = 0`);
}

const num = (v: number | string | null) => (v == null ? null : Number(v));

function toContract(r: ContractTable, leadIds: string[]): Contract {
  const band =
    r.type === "juninin" && r.band_min_hours != null
      ? {
          monthlyFeeYen: Number(r.monthly_fee_yen),
          minHours: Number(r.band_min_hours),
          maxHours: Number(r.band_max_hours),
          overRateYen: Number(r.over_rate_yen),
          underRateYen: Number(r.under_rate_yen),
        }
      : null;
  return {
    id: r.id,
    tenantId: r.tenant_id,
    client: r.client,
    title: r.title,
    type: r.type as ContractType,
    confidentiality: r.confidentiality as Confidentiality,
    budgetYen: num(r.budget_yen),
    periodStart: r.period_start,
    periodEnd: r.period_end,
    band,
    leadIds,
    sourceRepository: r.source_repository,
    maxPackageHours: Number(r.max_package_hours),
    hoursRounding: r.hours_rounding ?? "none",
    paymentTermsDays: r.payment_terms_days == null ? null : Number(r.payment_terms_days),
    hourlyRateYen: num(r.hourly_rate_yen ?? null),
    requiredApprovals: Number(r.required_approvals ?? 1),
    engineerCloneAllowed: Boolean(Number(r.engineer_clone_allowed ?? 0)),
    allowedNetworks: JSON.parse(r.allowed_networks ?? "[]") as string[],
    recordInput: Number(r.record_input) === 1,
    officeRule: r.office_rule ? (JSON.parse(r.office_rule) as OfficeRule) : null,
    hostLabels: {
      ...(r.host_office ? { office: r.host_office } : {}),
      ...(r.host_zone ? { zone: r.host_zone } : {}),
    },
    createdBy: r.created_by,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

const invalid = invalidField;

/** The CIDR list, normalized and de-duplicated; VALIDATION naming the first malformed entry. */
function checkNetworks(cidrs: string[]): string[] {
  cidrs.forEach((c, i) => {
    if (!parseCidr(c)) throw invalid(`allowedNetworks.${i}`, text("contracts.notCidr", { cidr: c }));
  });
  return [...new Set(cidrs.map((c) => c.trim()))];
}

/** The rule as stored: offices de-duplicated and known, prefectures trimmed; VALIDATION naming the wrong field. */
async function checkOfficeRule(q: Executor, rule: OfficeRule | null | undefined): Promise<string | null> {
  if (!rule) return null;
  const officeIds = [...new Set(rule.officeIds)];
  const prefectures = [...new Set(rule.prefectures.map((p) => p.trim()).filter(Boolean))];
  if (officeIds.length === 0 && prefectures.length === 0) {
    throw invalid("officeRule.officeIds", text("contracts.officeRuleEmpty"));
  }
  if (officeIds.length) {
    const found = new Set(
      (await q.selectFrom("office").select("id").where("id", "in", officeIds).execute()).map((o) => o.id),
    );
    const i = rule.officeIds.findIndex((id) => !found.has(id));
    if (i >= 0)
      throw invalid(`officeRule.officeIds.${i}`, text("contracts.officeUnknown", { id: rule.officeIds[i] as string }));
  }
  return JSON.stringify({ mode: rule.mode, officeIds, prefectures });
}

function checkTerms(c: { type: ContractType; band?: HoursBand | null; periodStart: string; periodEnd: string }) {
  if (c.periodEnd < c.periodStart) throw invalid("periodEnd", text("contracts.endBeforeStart"));
  if (c.type === "juninin" && !c.band) throw invalid("band", text("contracts.bandNeeded"));
  if (c.type === "ukeoi" && c.band) throw invalid("band", text("contracts.bandUkeoi"));
  if (c.band && c.band.minHours >= c.band.maxHours) throw invalid("band.maxHours", text("contracts.bandOrder"));
}

/**
 * Holds the contract's row until commit, so that closing its month and changing the month's hours happen
 * one after the other. The first statement of the transaction and a write: on PostgreSQL a row lock
 * (as SELECT … FOR UPDATE), on SQLite the write lock taken before anything is read.
 */
export async function lockContract(trx: Transaction<Database>, contractId: string): Promise<void> {
  await trx
    .updateTable("contract")
    .set((eb) => ({ id: eb.ref("id") }))
    .where("id", "=", contractId)
    .execute();
}

/** The user leads no contract any more (their role changed), in the caller's transaction; how many they led. */
export async function endLeadership(trx: Transaction<Database>, userId: string): Promise<number> {
  const led = await trx.deleteFrom("contract_lead").where("user_id", "=", userId).executeTakeFirst();
  return Number(led.numDeletedRows);
}

export function createContractService({
  db,
  audit,
  importDir,
}: {
  db: Kysely<Database>;
  audit: AuditService;
  /** `AZUSA_GIT_IMPORT_DIR`: a contract's source is a repository in `<importDir>/<tenant id>/`. */
  importDir?: string;
}) {
  /** A named source must be a repository in the tenant's own import folder; 400 naming `sourceRepository` otherwise. */
  const checkSource = async (tenantId: string, source: string | null | undefined) => {
    if (source) await checkImportSource(source, importDir, tenantId);
  };

  async function leadsOf(contractIds: string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    if (contractIds.length === 0) return out;
    const rows = await db
      .selectFrom("contract_lead")
      .select(["contract_id", "user_id"])
      .where("contract_id", "in", contractIds)
      .orderBy("user_id")
      .execute();
    for (const r of rows) out.set(r.contract_id, [...(out.get(r.contract_id) ?? []), r.user_id]);
    return out;
  }

  /** Leads named on a contract must be leads of the same tenant. */
  async function checkLeads(trx: Transaction<Database>, tenantId: string, leadIds: string[]) {
    if (leadIds.length === 0) return;
    const found = await trx
      .selectFrom("user")
      .select("id")
      .where("id", "in", leadIds)
      .where("role", "=", "lead")
      .where("tenantId", "=", tenantId)
      .execute();
    const ok = new Set(found.map((u) => u.id));
    const bad = leadIds.filter((id) => !ok.has(id));
    if (bad.length) throw invalid("leadIds", text("contracts.notLeads", { ids: bad.join(", ") }));
  }

  function requireContractor(actor: Actor): string {
    if (actor.kind !== "user" || actor.role !== "contractor" || !actor.tenantId) {
      throw forbidden(text("contracts.contractorOnly"));
    }
    return actor.tenantId;
  }

  /** Called after a contract's host labels changed: its pending workspaces may fit a host now. */
  const relabelled: (() => void)[] = [];

  const service = {
    /** Calls `listener` after a contract's host labels changed. */
    onHostLabels(listener: () => void): void {
      relabelled.push(listener);
    },

    async create(actor: Actor, input: NewContract): Promise<Contract> {
      const tenantId = requireContractor(actor);
      checkTerms(input);
      await checkSource(tenantId, input.sourceRepository);
      const now = new Date().toISOString();
      const leadIds = [...new Set(input.leadIds ?? [])];
      const row: ContractTable = {
        id: randomUUID(),
        tenant_id: tenantId,
        client: input.client,
        title: input.title,
        type: input.type,
        confidentiality: input.confidentiality,
        budget_yen: input.budgetYen ?? null,
        period_start: input.periodStart,
        period_end: input.periodEnd,
        monthly_fee_yen: input.band?.monthlyFeeYen ?? null,
        band_min_hours: input.band?.minHours ?? null,
        band_max_hours: input.band?.maxHours ?? null,
        over_rate_yen: input.band?.overRateYen ?? null,
        under_rate_yen: input.band?.underRateYen ?? null,
        source_repository: input.sourceRepository ?? null,
        max_package_hours: input.maxPackageHours ?? 80,
        hours_rounding: input.hoursRounding ?? "none",
        payment_terms_days: input.paymentTermsDays ?? null,
        hourly_rate_yen: input.hourlyRateYen ?? null,
        required_approvals: input.requiredApprovals ?? 1,
        engineer_clone_allowed: input.engineerCloneAllowed ? 1 : 0,
        allowed_networks: JSON.stringify(checkNetworks(input.allowedNetworks ?? [])),
        record_input: input.recordInput ? 1 : 0,
        office_rule: await checkOfficeRule(db, input.officeRule),
        host_office: input.hostLabels?.office ?? null,
        host_zone: input.hostLabels?.zone ?? null,
        created_by: (actor as { userId: string }).userId,
        created_at: now,
        updated_at: now,
      };
      await db.transaction().execute(async (trx) => {
        await checkLeads(trx, tenantId, leadIds);
        await trx.insertInto("contract").values(row).execute();
        if (leadIds.length) {
          await trx
            .insertInto("contract_lead")
            .values(leadIds.map((user_id) => ({ contract_id: row.id, user_id })))
            .execute();
        }
        await audit.record(
          actor,
          "contract.created",
          `contract:${row.id}`,
          { title: row.title, type: row.type, leadIds },
          { trx },
        );
      });
      return toContract(row, leadIds.sort());
    },

    async list(actor: Actor): Promise<Contract[]> {
      const rows = await visibleContracts(db, actor)
        .selectAll("contract")
        .orderBy("contract.created_at", "desc")
        .execute();
      const leads = await leadsOf(rows.map((r) => r.id));
      return rows.map((r) => toContract(r, leads.get(r.id) ?? []));
    },

    /** The contract if the actor may see it; otherwise NOT_FOUND, as if it did not exist. */
    async get(actor: Actor, id: string): Promise<Contract> {
      const row = await visibleContracts(db, actor)
        .selectAll("contract")
        .where("contract.id", "=", id)
        .executeTakeFirst();
      if (!row) throw notFound("contract");
      return toContract(row, (await leadsOf([id])).get(id) ?? []);
    },

    async update(actor: Actor, id: string, changes: ContractChanges): Promise<Contract> {
      const before = await service.get(actor, id);
      const tenantId = requireContractor(actor);
      const after = { ...before, ...changes, band: changes.band === undefined ? before.band : changes.band };
      checkTerms(after);
      if (changes.sourceRepository !== undefined && changes.sourceRepository !== before.sourceRepository) {
        await checkSource(tenantId, changes.sourceRepository);
      }
      const leadIds = changes.leadIds ? [...new Set(changes.leadIds)] : before.leadIds;
      const officeRule = await checkOfficeRule(db, after.officeRule);
      await db.transaction().execute(async (trx) => {
        await checkLeads(trx, tenantId, leadIds);
        await trx
          .updateTable("contract")
          .set({
            client: after.client,
            title: after.title,
            confidentiality: after.confidentiality,
            budget_yen: after.budgetYen,
            period_start: after.periodStart,
            period_end: after.periodEnd,
            monthly_fee_yen: after.band?.monthlyFeeYen ?? null,
            band_min_hours: after.band?.minHours ?? null,
            band_max_hours: after.band?.maxHours ?? null,
            over_rate_yen: after.band?.overRateYen ?? null,
            under_rate_yen: after.band?.underRateYen ?? null,
            source_repository: after.sourceRepository,
            max_package_hours: after.maxPackageHours,
            hours_rounding: after.hoursRounding,
            payment_terms_days: after.paymentTermsDays,
            hourly_rate_yen: after.hourlyRateYen,
            required_approvals: after.requiredApprovals,
            engineer_clone_allowed: after.engineerCloneAllowed ? 1 : 0,
            allowed_networks: JSON.stringify(checkNetworks(after.allowedNetworks)),
            record_input: after.recordInput ? 1 : 0,
            office_rule: officeRule,
            host_office: after.hostLabels.office ?? null,
            host_zone: after.hostLabels.zone ?? null,
            updated_at: new Date().toISOString(),
          })
          .where("id", "=", id)
          .execute();
        if (changes.leadIds) {
          await trx.deleteFrom("contract_lead").where("contract_id", "=", id).execute();
          if (leadIds.length) {
            await trx
              .insertInto("contract_lead")
              .values(leadIds.map((user_id) => ({ contract_id: id, user_id })))
              .execute();
          }
        }
        await audit.record(actor, "contract.updated", `contract:${id}`, { changed: Object.keys(changes) }, { trx });
      });
      if (changes.hostLabels) for (const listener of relabelled) listener();
      return service.get(actor, id);
    },
  };
  return service;
}

export type ContractService = ReturnType<typeof createContractService>;

/** True when the actor may see the contract (see `visibleContracts`). */
export async function seesContract(db: Executor, actor: Actor, contractId: string): Promise<boolean> {
  const row = await visibleContracts(db, actor)
    .select("contract.id")
    .where("contract.id", "=", contractId)
    .executeTakeFirst();
  return row !== undefined;
}

/** The packages of the contracts the actor sees (see `visibleContracts`), each joined with its contract. */
export function contractPackages(db: Executor, actor: Actor) {
  return visibleContracts(db, actor).innerJoin("work_package", "work_package.contract_id", "contract.id");
}

/**
 * A package the actor may see through its contract (its tenant's contractors, the leads named on it, the
 * system), with what `pick` selects of the package and its contract. Else NOT_FOUND, named `missing`: a
 * package that does not exist and one of another tenant look alike. Engineers and operators see no contract,
 * so a module that lets them in decides that before calling.
 */
export async function visiblePackage<O>(
  db: Executor,
  actor: Actor,
  packageId: string,
  pick: (q: ReturnType<typeof contractPackages>) => SelectQueryBuilder<Database, "contract" | "work_package", O>,
  missing = "package",
): Promise<O> {
  const row = await pick(contractPackages(db, actor)).where("work_package.id", "=", packageId).executeTakeFirst();
  if (!row) throw notFound(missing);
  return row;
}
