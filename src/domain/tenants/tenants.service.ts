// Tenants (prime contractors): created by operators, visible in full only to operators and their own staff.
import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import type { Database } from "../../db/schema.ts";
import type { Actor } from "../../kernel/actor.ts";
import { fail, forbidden, notFound } from "../../kernel/errors.ts";
import { text } from "../../kernel/messages.ts";
import type { AuditService } from "../audit/audit.service.ts";

export interface Tenant {
  id: string;
  name: string;
  createdAt: string;
}

const toTenant = (r: { id: string; name: string; created_at: string }): Tenant => ({
  id: r.id,
  name: r.name,
  createdAt: r.created_at,
});

export function createTenantService({ db, audit }: { db: Kysely<Database>; audit: AuditService }) {
  return {
    async create(actor: Actor, input: { name: string }): Promise<Tenant> {
      if (actor.kind === "user" && actor.role !== "operator") throw forbidden(text("tenants.operatorsOnly"));
      const name = input.name.trim();
      return db.transaction().execute(async (trx) => {
        const existing = await trx.selectFrom("tenant").select("id").where("name", "=", name).executeTakeFirst();
        if (existing) throw fail("CONFLICT", text("tenants.nameTaken", { name }));
        const row = { id: randomUUID(), name, created_at: new Date().toISOString() };
        await trx.insertInto("tenant").values(row).execute();
        await audit.record(actor, "tenant.created", `tenant:${row.id}`, { name }, { tenantId: row.id, trx });
        return toTenant(row);
      });
    },

    /** Operators see every tenant; tenant staff see their own; engineers are refused. */
    async list(actor: Actor): Promise<Tenant[]> {
      let q = db.selectFrom("tenant").selectAll().orderBy("name");
      if (actor.kind === "user" && actor.role !== "operator") {
        if (actor.role === "engineer") throw forbidden(text("tenants.notForEngineers"));
        q = q.where("id", "=", actor.tenantId ?? "");
      }
      return (await q.execute()).map(toTenant);
    },

    /** One tenant; anyone outside it (but operators) is told it does not exist. */
    async get(actor: Actor, id: string): Promise<Tenant> {
      const visible = actor.kind === "system" || actor.role === "operator" || actor.tenantId === id;
      const row = visible
        ? await db.selectFrom("tenant").selectAll().where("id", "=", id).executeTakeFirst()
        : undefined;
      if (!row) throw notFound("tenant");
      return toTenant(row);
    },
  };
}

export type TenantService = ReturnType<typeof createTenantService>;
