// Interest registrations: people thinking of moving to an office leave their details on its public page. They
// reach the office's operators (a notification each), who may turn one into an engineer invitation. A
// registration is kept only for the retention period, or until an operator deletes it on the person's request;
// the audit log records each step by the registration's id, never the person's details.
import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import type { Database } from "../../db/schema.ts";
import { type Actor, system } from "../../kernel/actor.ts";
import { fail, notFound } from "../../kernel/errors.ts";
import { text } from "../../kernel/messages.ts";
import type { AccountService } from "../accounts/accounts.service.ts";
import type { AuditService } from "../audit/audit.service.ts";
import type { NotificationService } from "../notifications/notifications.service.ts";
import { normalizeSkills } from "../skills.ts";
import type { InterestInputValue } from "./interest-input.ts";
import type { OfficeService } from "./offices.service.ts";

export interface InterestRegistration {
  id: string;
  officeId: string;
  name: string;
  email: string;
  skills: { skill: string; level: number }[];
  movingWhen: string;
  consentText: string;
  createdAt: string;
  /** When it will be deleted unless deleted sooner. */
  deleteAfter: string;
  invitationId: string | null;
  invitedAt: string | null;
}

export function createInterestService({
  db,
  audit,
  offices,
  accounts,
  notifications,
  retentionDays,
  now = () => new Date(),
}: {
  db: Kysely<Database>;
  audit: AuditService;
  offices: OfficeService;
  accounts: AccountService;
  notifications: NotificationService;
  retentionDays: number;
  now?: () => Date;
}) {
  const keepMs = retentionDays * 86_400_000;
  const toRegistration = (r: Database["interest_registration"]): InterestRegistration => ({
    id: r.id,
    officeId: r.office_id,
    name: r.name,
    email: r.email,
    skills: JSON.parse(r.skills),
    movingWhen: r.moving_when,
    consentText: r.consent_text,
    createdAt: r.created_at,
    deleteAfter: new Date(Date.parse(r.created_at) + keepMs).toISOString(),
    invitationId: r.invitation_id,
    invitedAt: r.invited_at,
  });

  /** A registration and a check that the caller manages its office; unknown and foreign alike are 404 to others. */
  async function managed(actor: Actor, id: string): Promise<Database["interest_registration"]> {
    const row = await db.selectFrom("interest_registration").selectAll().where("id", "=", id).executeTakeFirst();
    if (!row) throw notFound("interest");
    await offices.requireManager(actor, row.office_id);
    return row;
  }

  return {
    retentionDays,

    /**
     * Keeps a registration from the office's public page and tells the office's operators (every operator when
     * the office has none yet). `consentText` is the text the person agreed to, as the page showed it.
     */
    async register(officeId: string, input: InterestInputValue, consentText: string): Promise<{ id: string }> {
      const office = await offices.get(system("public"), officeId);
      const id = randomUUID();
      const at = now().toISOString();
      const operators = await offices.operatorsToTell(officeId);
      await db.transaction().execute(async (trx) => {
        await trx
          .insertInto("interest_registration")
          .values({
            id,
            office_id: officeId,
            name: input.name,
            email: input.email.toLowerCase(),
            skills: JSON.stringify(normalizeSkills(input.skills)),
            moving_when: input.movingWhen,
            consent_text: consentText,
            created_at: at,
            invitation_id: null,
            invited_at: null,
          })
          .execute();
        await audit.record(system("public"), "interest.registered", `interest:${id}`, { officeId }, { trx });
        await notifications.notify(trx, {
          userIds: operators,
          tenantId: null,
          kind: "interest.registered",
          title: text("notice.interest.registered", { office: office.name }),
          body: text("notice.interest.registeredBody"),
          subject: `office:${officeId}`,
          dedupeKey: `interest.registered:${id}`,
        });
      });
      return { id };
    },

    /** The registrations of an office, newest first (its operators, office admins). */
    async list(actor: Actor, officeId: string): Promise<InterestRegistration[]> {
      await offices.requireManager(actor, officeId);
      const rows = await db
        .selectFrom("interest_registration")
        .selectAll()
        .where("office_id", "=", officeId)
        .orderBy("created_at", "desc")
        .orderBy("id")
        .execute();
      return rows.map(toRegistration);
    },

    /**
     * Turns a registration into an engineer invitation in one step (its office's operators, office admins);
     * resolves to the invitation with its token, to hand to the person, and the registration's office. A
     * registration is invited once.
     */
    async invite(actor: Actor, id: string) {
      const row = await managed(actor, id);
      if (row.invitation_id) throw fail("CONFLICT", text("interest.invitedAlready"));
      const invitation = await accounts.invite(actor, { email: row.email, role: "engineer", tenantId: null });
      await db.transaction().execute(async (trx) => {
        await trx
          .updateTable("interest_registration")
          .set({ invitation_id: invitation.id, invited_at: now().toISOString() })
          .where("id", "=", id)
          .execute();
        await audit.record(actor, "interest.invited", `interest:${id}`, { invitationId: invitation.id }, { trx });
      });
      return { ...invitation, officeId: row.office_id };
    },

    /**
     * Deletes a registration at the person's request (its office's operators, office admins); audited by id.
     * Resolves to the office it belonged to.
     */
    async remove(actor: Actor, id: string): Promise<string> {
      const row = await managed(actor, id);
      await db.transaction().execute(async (trx) => {
        await trx.deleteFrom("interest_registration").where("id", "=", id).execute();
        await audit.record(
          actor,
          "interest.deleted",
          `interest:${id}`,
          { officeId: row.office_id, reason: "request" },
          { trx },
        );
      });
      return row.office_id;
    },

    /** Deletes every registration older than the retention period; resolves to how many went. */
    async disposeExpired(): Promise<number> {
      const before = new Date(now().getTime() - keepMs).toISOString();
      return db.transaction().execute(async (trx) => {
        const gone = await trx
          .deleteFrom("interest_registration")
          .where("created_at", "<", before)
          .returning(["id", "office_id"])
          .execute();
        for (const g of gone) {
          await audit.record(
            system("schedule"),
            "interest.deleted",
            `interest:${g.id}`,
            { officeId: g.office_id, reason: "retention" },
            { trx },
          );
        }
        return gone.length;
      });
    },
  };
}

export type InterestService = ReturnType<typeof createInterestService>;
