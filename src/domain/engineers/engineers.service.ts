// The roster of vetted engineers: profiles and skills kept by operators, vetting that expires, SSH keys
// kept by the engineers themselves, and the one access check every way into a workspace consults.
import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import type { Database, EngineerProfileTable, Executor, SshKeyTable, VettingRecordTable } from "../../db/schema.ts";
import type { Actor } from "../../kernel/actor.ts";
import { fail, forbidden, invalidField, notFound } from "../../kernel/errors.ts";
import { codeOf, english, type Text, text } from "../../kernel/messages.ts";
import type { AuditService } from "../audit/audit.service.ts";
import { tokyoDate } from "../dates.ts";
import { type Confidentiality, type MatchEngineer, requiredVetting, type VettingKind } from "../matching/matching.ts";
import { normalizeSkills } from "../skills.ts";
import { parseSshPublicKey } from "./ssh-keys.ts";

export interface EngineerSkill {
  skill: string;
  level: number;
}

export interface VettingRecord {
  id: string;
  kind: VettingKind;
  issuedOn: string;
  expiresOn: string;
  /** When the daily job found it expired; null while valid. */
  expiredAt: string | null;
}

export interface SshKey {
  id: string;
  type: string;
  bits: number;
  fingerprint: string;
  comment: string;
  publicKey: string;
  createdAt: string;
}

export interface Engineer {
  id: string;
  name: string;
  email: string;
  weeklyCapacityHours: number;
  committedWeeklyHours: number;
  timeZone: string;
  invoiceNumber: string | null;
  skills: EngineerSkill[];
  vetting: VettingRecord[];
  sshKeys: SshKey[];
  updatedAt: string;
}

export interface ProfileInput {
  weeklyCapacityHours: number;
  timeZone?: string;
  invoiceNumber?: string | null;
  skills: EngineerSkill[];
}

/** The answer of the access check: who may reach a package's workspace, repository and sessions. */
export type Access = { ok: true; assignmentId: string } | { ok: false; reason: string; text: Text };

const today = tokyoDate;

/** A refused access check: its English words (the evidence) and its message for the engineer. */
const refusal = (message: Text): Access => ({ ok: false, reason: english(message), text: message });

const toKey = (r: SshKeyTable): SshKey => ({
  id: r.id,
  type: r.type,
  bits: Number(r.bits),
  fingerprint: r.fingerprint,
  comment: r.comment,
  publicKey: r.public_key,
  createdAt: r.created_at,
});

const toVetting = (v: VettingRecordTable): VettingRecord => ({
  id: v.id,
  kind: v.kind as VettingKind,
  issuedOn: v.issued_on,
  expiresOn: v.expires_on,
  expiredAt: v.expired_at,
});

/**
 * Holds the engineer's profile row until commit (a row lock in PostgreSQL, the write lock in SQLite): what is
 * decided from the engineer's spare hours (an acceptance) happens one after the other.
 */
export async function lockEngineerProfile(trx: Executor, engineerId: string, at: string): Promise<void> {
  await trx.updateTable("engineer_profile").set({ updated_at: at }).where("user_id", "=", engineerId).execute();
}

export function createEngineerService({
  db,
  audit,
  now = () => new Date(),
}: {
  db: Kysely<Database>;
  audit: AuditService;
  now?: () => Date;
}) {
  async function engineerUser(id: string) {
    const user = await db
      .selectFrom("user")
      .select(["id", "name", "email", "role"])
      .where("id", "=", id)
      .executeTakeFirst();
    if (user?.role !== "engineer") throw notFound("engineer");
    return user;
  }

  async function profileRow(id: string): Promise<EngineerProfileTable> {
    const row = await db.selectFrom("engineer_profile").selectAll().where("user_id", "=", id).executeTakeFirst();
    if (!row) throw fail("NOT_FOUND", text("engineers.noProfile"));
    return row;
  }

  /** Writes one vetting record of a user (engineer or lead) with its audit event. */
  async function recordVetting(
    actor: Actor,
    id: string,
    input: { kind: VettingKind; issuedOn: string; expiresOn: string },
    lead = false,
  ): Promise<void> {
    if (input.expiresOn < input.issuedOn) {
      throw invalidField("expiresOn", text("engineers.expiresBeforeIssued"));
    }
    const record = {
      id: randomUUID(),
      user_id: id,
      kind: input.kind,
      issued_on: input.issuedOn,
      expires_on: input.expiresOn,
      expired_at: input.expiresOn < today(now()) ? now().toISOString() : null,
      recorded_by: actor.kind === "user" ? actor.userId : `system:${actor.name}`,
      created_at: now().toISOString(),
    };
    await db.transaction().execute(async (trx) => {
      await trx
        .insertInto(lead ? "lead_vetting" : "vetting_record")
        .values(record)
        .execute();
      await audit.record(
        actor,
        lead ? "lead.vetting_recorded" : "engineer.vetting_recorded",
        lead ? `user:${id}` : `engineer:${id}`,
        { ...input },
        { trx, tenantId: null },
      );
    });
  }

  /** Operators see every engineer; an engineer sees themself; tenant staff see engineers through suggestions only. */
  function mayRead(actor: Actor, id: string) {
    if (actor.kind === "system" || actor.role === "operator") return;
    if (actor.role === "engineer" && actor.userId === id) return;
    throw notFound("engineer");
  }

  const service = {
    async get(actor: Actor, id: string): Promise<Engineer> {
      mayRead(actor, id);
      const user = await engineerUser(id);
      const profile = await profileRow(id);
      const [skills, vetting, keys, committed] = await Promise.all([
        db.selectFrom("engineer_skill").select(["skill", "level"]).where("user_id", "=", id).orderBy("skill").execute(),
        db
          .selectFrom("vetting_record")
          .selectAll()
          .where("user_id", "=", id)
          .orderBy("kind")
          .orderBy("expires_on")
          .execute(),
        db.selectFrom("ssh_key").selectAll().where("user_id", "=", id).orderBy("created_at").execute(),
        service.committedHours(id),
      ]);
      return {
        id,
        name: user.name,
        email: user.email,
        weeklyCapacityHours: Number(profile.weekly_capacity_hours),
        committedWeeklyHours: committed,
        timeZone: profile.time_zone,
        invoiceNumber: profile.invoice_number,
        skills: skills.map((s) => ({ skill: s.skill, level: Number(s.level) })),
        vetting: vetting.map(toVetting),
        sshKeys: keys.map(toKey),
        updatedAt: profile.updated_at,
      };
    },

    async list(actor: Actor): Promise<Engineer[]> {
      if (actor.kind === "user" && actor.role !== "operator") throw forbidden(text("engineers.operatorsList"));
      const rows = await db.selectFrom("engineer_profile").select("user_id").execute();
      return Promise.all(rows.map((r) => service.get(actor, r.user_id)));
    },

    /** Operators record an engineer's profile and skills (the whole set, replacing what was there). */
    async putProfile(actor: Actor, id: string, input: ProfileInput): Promise<Engineer> {
      if (actor.kind === "user" && actor.role !== "operator") throw forbidden(text("engineers.operatorsKeep"));
      await engineerUser(id);
      const at = now().toISOString();
      await db.transaction().execute(async (trx) => {
        const existing = await trx
          .selectFrom("engineer_profile")
          .select("user_id")
          .where("user_id", "=", id)
          .executeTakeFirst();
        const values = {
          weekly_capacity_hours: input.weeklyCapacityHours,
          time_zone: input.timeZone ?? "Asia/Tokyo",
          invoice_number: input.invoiceNumber ?? null,
          updated_at: at,
        };
        if (existing) await trx.updateTable("engineer_profile").set(values).where("user_id", "=", id).execute();
        else
          await trx
            .insertInto("engineer_profile")
            .values({ user_id: id, created_at: at, ...values })
            .execute();
        await trx.deleteFrom("engineer_skill").where("user_id", "=", id).execute();
        const skills = normalizeSkills(input.skills);
        if (skills.length) {
          await trx
            .insertInto("engineer_skill")
            .values(skills.map((s) => ({ user_id: id, skill: s.skill, level: s.level })))
            .execute();
        }
        await audit.record(
          actor,
          existing ? "engineer.profile_updated" : "engineer.profile_created",
          `engineer:${id}`,
          { weeklyCapacityHours: input.weeklyCapacityHours, skills: input.skills },
          { trx, tenantId: null },
        );
      });
      return service.get(actor, id);
    },

    /** An engineer sets their own weekly capacity (and nothing else of the profile). */
    async setCapacity(actor: Actor, id: string, weeklyCapacityHours: number): Promise<Engineer> {
      if (actor.kind === "user" && !(actor.role === "engineer" && actor.userId === id) && actor.role !== "operator") {
        throw notFound("engineer");
      }
      const profile = await profileRow(id);
      await db.transaction().execute(async (trx) => {
        await trx
          .updateTable("engineer_profile")
          .set({ weekly_capacity_hours: weeklyCapacityHours, updated_at: now().toISOString() })
          .where("user_id", "=", id)
          .execute();
        await audit.record(
          actor,
          "engineer.capacity_changed",
          `engineer:${id}`,
          { from: Number(profile.weekly_capacity_hours), to: weeklyCapacityHours },
          { trx, tenantId: null },
        );
      });
      return service.get(actor, id);
    },

    async addVetting(actor: Actor, id: string, input: { kind: VettingKind; issuedOn: string; expiresOn: string }) {
      if (actor.kind === "user" && actor.role !== "operator") throw forbidden(text("engineers.operatorsVet"));
      await profileRow(id);
      await recordVetting(actor, id, input);
      return service.get(actor, id);
    },

    /**
     * Records a lead's `my_number` vetting (operators): a lead deciding disputes of a task batch with individual
     * numbers sees them in full, so holds it like the keyers. Answers the lead's vetting records.
     */
    async addLeadVetting(
      actor: Actor,
      id: string,
      input: { kind: VettingKind; issuedOn: string; expiresOn: string },
    ): Promise<VettingRecord[]> {
      if (actor.kind === "user" && actor.role !== "operator") throw forbidden(text("engineers.operatorsVet"));
      const lead = await db
        .selectFrom("user")
        .select("id")
        .where("id", "=", id)
        .where("role", "=", "lead")
        .executeTakeFirst();
      if (!lead) throw notFound("lead");
      if (input.kind !== "my_number") throw invalidField("kind", text("engineers.leadVettingKind"));
      await recordVetting(actor, id, input, true);
      const rows = await db
        .selectFrom("lead_vetting")
        .selectAll()
        .where("user_id", "=", id)
        .orderBy("kind")
        .orderBy("expires_on")
        .execute();
      return rows.map(toVetting);
    },

    /** The daily job: marks vetting whose last valid day has passed. Returns the engineers affected. */
    async expireVetting(actor: Actor): Promise<string[]> {
      const day = today(now());
      const due = await db
        .selectFrom("vetting_record")
        .select(["id", "user_id", "kind", "expires_on"])
        .where("expires_on", "<", day)
        .where("expired_at", "is", null)
        .execute();
      for (const r of due) {
        await db.transaction().execute(async (trx) => {
          await trx
            .updateTable("vetting_record")
            .set({ expired_at: now().toISOString() })
            .where("id", "=", r.id)
            .execute();
          await audit.record(
            actor,
            "engineer.vetting_expired",
            `engineer:${r.user_id}`,
            { kind: r.kind, expiresOn: r.expires_on },
            {
              trx,
              tenantId: null,
            },
          );
        });
      }
      return [...new Set(due.map((r) => r.user_id))];
    },

    /** An engineer adds a key of their own (operators may too); a weak or reused key is refused. */
    async addKey(actor: Actor, id: string, publicKey: string): Promise<SshKey> {
      if (actor.kind === "user" && !(actor.role === "engineer" && actor.userId === id) && actor.role !== "operator") {
        throw notFound("engineer");
      }
      await profileRow(id);
      const parsed = parseSshPublicKey(publicKey);
      if (!parsed.ok) {
        throw invalidField("publicKey", parsed.text);
      }
      const { key } = parsed;
      const taken = await db
        .selectFrom("ssh_key")
        .select("user_id")
        .where("fingerprint", "=", key.fingerprint)
        .executeTakeFirst();
      if (taken) {
        const whose = taken.user_id === id ? "keys.yours" : "keys.another";
        throw fail("CONFLICT", text(whose, { fingerprint: key.fingerprint }));
      }
      const row: SshKeyTable = {
        id: randomUUID(),
        user_id: id,
        type: key.type,
        bits: key.bits,
        fingerprint: key.fingerprint,
        comment: key.comment,
        public_key: key.openssh,
        created_at: now().toISOString(),
      };
      await db.transaction().execute(async (trx) => {
        await trx.insertInto("ssh_key").values(row).execute();
        await audit.record(
          actor,
          "engineer.ssh_key_added",
          `engineer:${id}`,
          { fingerprint: key.fingerprint, type: key.type },
          {
            trx,
            tenantId: null,
          },
        );
      });
      return toKey(row);
    },

    async removeKey(actor: Actor, id: string, keyId: string): Promise<void> {
      if (actor.kind === "user" && !(actor.role === "engineer" && actor.userId === id) && actor.role !== "operator") {
        throw notFound("engineer");
      }
      await db.transaction().execute(async (trx) => {
        const key = await trx
          .selectFrom("ssh_key")
          .select("fingerprint")
          .where("id", "=", keyId)
          .where("user_id", "=", id)
          .executeTakeFirst();
        if (!key) throw notFound("sshKey");
        await trx.deleteFrom("ssh_key").where("id", "=", keyId).execute();
        await audit.record(
          actor,
          "engineer.ssh_key_removed",
          `engineer:${id}`,
          { fingerprint: key.fingerprint },
          { trx, tenantId: null },
        );
      });
    },

    /** Weekly hours taken by the engineer's current assignments. */
    async committedHours(id: string): Promise<number> {
      const row = await db
        .selectFrom("assignment")
        .select((eb) => eb.fn.sum<number | string>("weekly_hours").as("hours"))
        .where("engineer_id", "=", id)
        .where("ended_at", "is", null)
        .executeTakeFirst();
      return Number(row?.hours ?? 0);
    },

    /** Engineers as the matching engine sees them; `ids` narrows to some. */
    async forMatching(ids?: string[], ex: Executor = db): Promise<MatchEngineer[]> {
      let q = ex
        .selectFrom("engineer_profile")
        .innerJoin("user", "user.id", "engineer_profile.user_id")
        .leftJoin("office_member", "office_member.user_id", "engineer_profile.user_id")
        .leftJoin("office", "office.id", "office_member.office_id")
        .leftJoin("availability", "availability.user_id", "engineer_profile.user_id")
        .select([
          "engineer_profile.user_id as id",
          "user.name",
          "engineer_profile.weekly_capacity_hours",
          "office.id as office_id",
          "office.name as office_name",
          "availability.largest_package_hours",
        ])
        .where("user.role", "=", "engineer");
      if (ids) q = q.where("engineer_profile.user_id", "in", ids.length ? ids : [""]);
      const rows = await q.execute();
      const idList = rows.map((r) => r.id);
      if (idList.length === 0) return [];
      const [skills, vetting, assignments, windows, away] = await Promise.all([
        ex.selectFrom("engineer_skill").selectAll().where("user_id", "in", idList).execute(),
        ex
          .selectFrom("vetting_record")
          .selectAll()
          .where("user_id", "in", idList)
          .where("expired_at", "is", null)
          .where("issued_on", "<=", today(now()))
          .execute(),
        ex
          .selectFrom("assignment")
          .select(["engineer_id", "package_id", "weekly_hours", "ended_at", "end_reason"])
          .where("engineer_id", "in", idList)
          .execute(),
        // Where an engineer has stated weekly windows, the hours they add up to are their capacity.
        ex
          .selectFrom("availability_window")
          .select((eb) => [
            "user_id",
            "weekday",
            eb.fn.sum<number | string>(eb("end_minute", "-", eb.ref("start_minute"))).as("minutes"),
          ])
          .where("user_id", "in", idList)
          .groupBy(["user_id", "weekday"])
          .execute(),
        // Days away, counted against each package's span where the engineer has windows.
        ex
          .selectFrom("availability_exception")
          .select(["user_id", "from_day", "to_day"])
          .where("user_id", "in", idList)
          .where("to_day", ">=", today(now()))
          .execute(),
      ]);
      const weekdayMinutes = new Map<string, number[]>();
      for (const w of windows) {
        const days = weekdayMinutes.get(w.user_id) ?? [0, 0, 0, 0, 0, 0, 0];
        days[Number(w.weekday) - 1] = Number(w.minutes);
        weekdayMinutes.set(w.user_id, days);
      }
      const awayOf = new Map<string, { from: string; to: string }[]>();
      for (const x of away) {
        const list = awayOf.get(x.user_id) ?? [];
        list.push({ from: x.from_day, to: x.to_day });
        awayOf.set(x.user_id, list);
      }
      const windowHours = new Map(
        [...weekdayMinutes].map(([id, days]) => [id, days.reduce((sum, m) => sum + m, 0) / 60]),
      );
      const byId = new Map<
        string,
        MatchEngineer & {
          skills: Map<string, number>;
          vettingValidUntil: Map<VettingKind, string>;
          history: Set<string>;
        }
      >();
      for (const r of rows) {
        byId.set(r.id, {
          id: r.id,
          name: r.name,
          skills: new Map(),
          vettingValidUntil: new Map(),
          weeklyCapacityHours: windowHours.get(r.id) ?? Number(r.weekly_capacity_hours),
          committedWeeklyHours: 0,
          history: new Set(),
          office: r.office_id ? { id: r.office_id, name: r.office_name ?? "" } : null,
          largestPackageHours: r.largest_package_hours == null ? null : Number(r.largest_package_hours),
          ...(weekdayMinutes.has(r.id)
            ? { availability: { weekdayMinutes: weekdayMinutes.get(r.id) as number[], away: awayOf.get(r.id) ?? [] } }
            : {}),
        });
      }
      for (const s of skills) byId.get(s.user_id)?.skills.set(s.skill, Number(s.level));
      for (const v of vetting) {
        const e = byId.get(v.user_id);
        const kind = v.kind as VettingKind;
        if (e && (e.vettingValidUntil.get(kind) ?? "") < v.expires_on) e.vettingValidUntil.set(kind, v.expires_on);
      }
      for (const a of assignments) {
        const e = byId.get(a.engineer_id);
        if (!e) continue;
        if (a.ended_at == null) e.committedWeeklyHours += Number(a.weekly_hours);
        if (a.end_reason !== "withdrawn" && a.end_reason !== "cancelled") e.history.add(a.package_id);
      }
      return [...byId.values()];
    },

    /**
     * The one access check for a package's workspace, repository and sessions: the engineer holds a
     * current assignment of it and every vetting its contract needs is valid today.
     */
    async access(engineerId: string, packageId: string): Promise<Access> {
      const assignment = await db
        .selectFrom("assignment")
        .innerJoin("work_package", "work_package.id", "assignment.package_id")
        .innerJoin("contract", "contract.id", "work_package.contract_id")
        .select(["assignment.id", "contract.confidentiality", "work_package.state"])
        .where("assignment.engineer_id", "=", engineerId)
        .where("assignment.package_id", "=", packageId)
        .where("assignment.ended_at", "is", null)
        .executeTakeFirst();
      if (!assignment) return refusal(text("access.notAssigned"));
      if (assignment.state === "cancelled") return refusal(text("access.cancelled"));
      // 検収 ends the engineer's work on the package: no session, terminal, IDE or fork read after it
      if (assignment.state === "accepted") return refusal(text("access.accepted"));
      const day = today(now());
      const valid = await db
        .selectFrom("vetting_record")
        .select("kind")
        .where("user_id", "=", engineerId)
        .where("expired_at", "is", null)
        .where("expires_on", ">=", day)
        .where("issued_on", "<=", day)
        .execute();
      const have = new Set(valid.map((v) => v.kind));
      const missing = requiredVetting(assignment.confidentiality as Confidentiality).filter((k) => !have.has(k));
      if (missing.length) return refusal(text("access.vetting", { kinds: missing.map((k) => codeOf("vetting", k)) }));
      return { ok: true, assignmentId: assignment.id };
    },
  };
  return service;
}

export type EngineerService = ReturnType<typeof createEngineerService>;
