// Satellite offices: where operators and engineers belong. An operator manages their own office; an office
// admin (or the first operator, who always is one) manages every office and decides who belongs where.
import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import type { Database, Executor } from "../../db/schema.ts";
import type { Actor } from "../../kernel/actor.ts";
import { fail, forbidden, invalidField, notFound } from "../../kernel/errors.ts";
import { type MessageId, roleCode, text } from "../../kernel/messages.ts";
import type { AuditService } from "../audit/audit.service.ts";

export interface Office {
  id: string;
  name: string;
  prefecture: string;
  town: string;
  address: string;
  timeZone: string;
  contact: string;
  description: string;
  createdAt: string;
  updatedAt: string;
}

export type OfficeInput = Pick<
  Office,
  "name" | "prefecture" | "town" | "address" | "timeZone" | "contact" | "description"
>;

export interface OfficeMember {
  userId: string;
  email: string;
  name: string;
  role: string;
  since: string;
}

/** What the caller may do with offices, for the pages to show only what works. */
export interface OfficeRights {
  /** Creates offices, places people in any office, grants the admin capability. */
  managesAll: boolean;
  /** The caller's own office, if they belong to one. */
  officeId: string | null;
}

const toOffice = (r: Database["office"]): Office => ({
  id: r.id,
  name: r.name,
  prefecture: r.prefecture,
  town: r.town,
  address: r.address,
  timeZone: r.time_zone,
  contact: r.contact,
  description: r.description,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/** The columns an office's details are kept in. */
const columnsOf = (input: OfficeInput) => ({
  name: input.name,
  prefecture: input.prefecture,
  town: input.town,
  address: input.address,
  time_zone: input.timeZone,
  contact: input.contact,
  description: input.description,
});

/** Only these roles belong to an office; contractors and leads belong to a tenant. */
const officeRoles = new Set(["operator", "engineer"]);

export function createOfficeService({
  db,
  audit,
  now = () => new Date(),
}: {
  db: Kysely<Database>;
  audit: AuditService;
  now?: () => Date;
}) {
  async function officeOf(userId: string, q: Executor = db): Promise<string | null> {
    const row = await q
      .selectFrom("office_member")
      .select("office_id")
      .where("user_id", "=", userId)
      .executeTakeFirst();
    return row?.office_id ?? null;
  }

  /** The first operator ever created, who manages every office whatever the admin table says. */
  async function firstOperatorId(): Promise<string | null> {
    const row = await db
      .selectFrom("user")
      .select("id")
      .where("role", "=", "operator")
      .orderBy("createdAt")
      .orderBy("id")
      .limit(1)
      .executeTakeFirst();
    return row?.id ?? null;
  }

  async function rights(actor: Actor): Promise<OfficeRights> {
    if (actor.kind === "system") return { managesAll: true, officeId: null };
    const officeId = await officeOf(actor.userId);
    if (actor.role !== "operator") return { managesAll: false, officeId };
    const admin = await db
      .selectFrom("office_admin")
      .select("user_id")
      .where("user_id", "=", actor.userId)
      .executeTakeFirst();
    return { managesAll: admin !== undefined || (await firstOperatorId()) === actor.userId, officeId };
  }

  async function requireAll(actor: Actor, what: MessageId): Promise<void> {
    if (actor.kind === "user" && actor.via === "api_key")
      throw forbidden(text("offices.notByApiKey", { what: text(what) }));
    if (!(await rights(actor)).managesAll) throw forbidden(text("offices.adminOnly", { what: text(what) }));
  }

  /** Operators of the office itself, or anyone who manages every office. */
  async function requireManager(actor: Actor, officeId: string): Promise<void> {
    if (actor.kind === "user" && actor.role !== "operator") throw forbidden(text("offices.operatorsOnly"));
    const r = await rights(actor);
    if (!r.managesAll && r.officeId !== officeId) throw forbidden(text("offices.ownOnly"));
  }

  async function load(id: string, q: Executor = db): Promise<Office> {
    const row = await q.selectFrom("office").selectAll().where("id", "=", id).executeTakeFirst();
    if (!row) throw notFound("office");
    return toOffice(row);
  }

  async function nameTaken(q: Executor, name: string, except = ""): Promise<void> {
    const other = await q
      .selectFrom("office")
      .select("id")
      .where("name", "=", name)
      .where("id", "<>", except)
      .executeTakeFirst();
    if (other) throw fail("CONFLICT", text("offices.nameTaken", { name }));
  }

  return {
    rights,

    /** Refuses anyone but the office's own operators and office admins; an unknown office is not found. */
    async requireManager(actor: Actor, officeId: string): Promise<void> {
      await load(officeId);
      await requireManager(actor, officeId);
    },

    /** Creates an office (office admins and the first operator). */
    async create(actor: Actor, input: OfficeInput): Promise<Office> {
      await requireAll(actor, "offices.toCreate");
      return db.transaction().execute(async (trx) => {
        await nameTaken(trx, input.name);
        const at = now().toISOString();
        const row: Database["office"] = {
          id: randomUUID(),
          ...columnsOf(input),
          created_at: at,
          updated_at: at,
        };
        await trx.insertInto("office").values(row).execute();
        await audit.record(actor, "office.created", `office:${row.id}`, { name: row.name }, { trx });
        return toOffice(row);
      });
    },

    /** Every office: what an office is and how to reach it is public, so any signed-in person may read it. */
    async list(_actor: Actor): Promise<Office[]> {
      return (await db.selectFrom("office").selectAll().orderBy("name").execute()).map(toOffice);
    },

    /** One office, public as the list is. */
    async get(_actor: Actor, id: string): Promise<Office> {
      return load(id);
    },

    /** Changes an office's details (its own operators, or an office admin). */
    async update(actor: Actor, id: string, input: OfficeInput): Promise<Office> {
      await load(id);
      await requireManager(actor, id);
      return db.transaction().execute(async (trx) => {
        await nameTaken(trx, input.name, id);
        await trx
          .updateTable("office")
          .set({ ...columnsOf(input), updated_at: now().toISOString() })
          .where("id", "=", id)
          .execute();
        await audit.record(actor, "office.updated", `office:${id}`, { name: input.name }, { trx });
        return load(id, trx);
      });
    },

    /** The operators and engineers of an office (its own operators, or an office admin). */
    async members(actor: Actor, id: string): Promise<OfficeMember[]> {
      await load(id);
      await requireManager(actor, id);
      const rows = await db
        .selectFrom("office_member")
        .innerJoin("user", "user.id", "office_member.user_id")
        .select(["user.id", "user.email", "user.name", "user.role", "office_member.since"])
        .where("office_member.office_id", "=", id)
        .orderBy("user.email")
        .execute();
      return rows.map((r) => ({ userId: r.id, email: r.email, name: r.name, role: r.role, since: r.since }));
    },

    /**
     * Places an operator or an engineer in an office. An office's operator may bring in someone who belongs
     * nowhere yet; moving someone from another office takes an office admin.
     */
    async addMember(actor: Actor, officeId: string, userId: string): Promise<OfficeMember> {
      await load(officeId);
      await requireManager(actor, officeId);
      const user = await db
        .selectFrom("user")
        .select(["id", "email", "name", "role"])
        .where("id", "=", userId)
        .executeTakeFirst();
      if (!user) throw notFound("user");
      if (!officeRoles.has(user.role)) {
        throw invalidField("userId", text("offices.tenantRole", { role: roleCode(user.role) }));
      }
      // Read before the transaction: SQLite has one connection, which the transaction holds.
      const { managesAll } = await rights(actor);
      return db.transaction().execute(async (trx) => {
        const from = await officeOf(userId, trx);
        if (from !== null && from !== officeId && !managesAll) {
          throw forbidden(text("offices.moveTakesAdmin"));
        }
        const since = now().toISOString();
        if (from === null) {
          await trx.insertInto("office_member").values({ user_id: userId, office_id: officeId, since }).execute();
        } else if (from !== officeId) {
          await trx
            .updateTable("office_member")
            .set({ office_id: officeId, since })
            .where("user_id", "=", userId)
            .execute();
        }
        if (from !== officeId) {
          await audit.record(actor, "office.member_added", `office:${officeId}`, { userId, from }, { trx });
        }
        const row = await trx
          .selectFrom("office_member")
          .select("since")
          .where("user_id", "=", userId)
          .executeTakeFirstOrThrow();
        return { userId, email: user.email, name: user.name, role: user.role, since: row.since };
      });
    },

    /** Takes someone out of an office (its own operators, or an office admin). */
    async removeMember(actor: Actor, officeId: string, userId: string): Promise<void> {
      await load(officeId);
      await requireManager(actor, officeId);
      await db.transaction().execute(async (trx) => {
        const gone = await trx
          .deleteFrom("office_member")
          .where("user_id", "=", userId)
          .where("office_id", "=", officeId)
          .executeTakeFirst();
        if (Number(gone.numDeletedRows) !== 1) throw notFound("member");
        await audit.record(actor, "office.member_removed", `office:${officeId}`, { userId }, { trx });
      });
    },

    /** Whom to tell about an office: its own operators, or every operator while it has none. */
    async operatorsToTell(officeId: string, q: Executor = db): Promise<string[]> {
      const operators = await q
        .selectFrom("user")
        .leftJoin("office_member", "office_member.user_id", "user.id")
        .select(["user.id", "office_member.office_id"])
        .where("user.role", "=", "operator")
        .execute();
      const own = operators.filter((o) => o.office_id === officeId).map((o) => o.id);
      return own.length > 0 ? own : operators.map((o) => o.id);
    },

    /** The office the caller belongs to, or null. */
    async mine(actor: Actor): Promise<Office | null> {
      if (actor.kind !== "user") return null;
      const id = await officeOf(actor.userId);
      return id ? load(id) : null;
    },

    /** Gives an operator the capability to manage every office (office admins only). */
    async grantAdmin(actor: Actor, userId: string): Promise<void> {
      await requireAll(actor, "offices.toGrant");
      const user = await db.selectFrom("user").select(["id", "role"]).where("id", "=", userId).executeTakeFirst();
      if (!user) throw notFound("user");
      if (user.role !== "operator") {
        throw invalidField("userId", text("offices.adminsAreOperators"));
      }
      await db.transaction().execute(async (trx) => {
        const had = await trx
          .selectFrom("office_admin")
          .select("user_id")
          .where("user_id", "=", userId)
          .executeTakeFirst();
        if (had) return;
        const by = actor.kind === "user" ? actor.userId : actor.name;
        await trx
          .insertInto("office_admin")
          .values({ user_id: userId, granted_by: by, granted_at: now().toISOString() })
          .execute();
        await audit.record(actor, "office.admin_granted", `user:${userId}`, {}, { trx });
      });
    },
  };
}

export type OfficeService = ReturnType<typeof createOfficeService>;
