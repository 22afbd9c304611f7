// Accounts: the first operator from the CLI, everyone else by invitation; roles change only by operators.
import { createHash, randomBytes, randomUUID } from "node:crypto";
import type { Kysely, Transaction } from "kysely";
import type { CredentialStore } from "../../auth/credentials.ts";
import { type Db, preparedFirst } from "../../db/db.ts";
import type { Database } from "../../db/schema.ts";
import { type Actor, type Role, tenantRoles } from "../../kernel/actor.ts";
import { fail, forbidden, invalidWith, notFound } from "../../kernel/errors.ts";
import { codeOf, isLang, type Lang, roleCode, say, text } from "../../kernel/messages.ts";
import type { AuditService } from "../audit/audit.service.ts";
import { endLeadership } from "../contracts/contracts.service.ts";
import type { Mailer } from "../notifications/mail.ts";
import { defaultPreferences, preferencesOf, setPreferences } from "./preferences.service.ts";

export interface User {
  id: string;
  email: string;
  name: string;
  role: Role;
  tenantId: string | null;
  createdAt: string;
}

export interface Invitation {
  id: string;
  email: string;
  role: Role;
  tenantId: string | null;
  invitedBy: string;
  createdAt: string;
  expiresAt: string;
  status: "pending" | "accepted" | "revoked" | "expired";
  /** The language of the invitation e-mail, and of the account once accepted (its notices, e-mail, SSH). */
  language: Lang;
}

/** Who may invite whom: operators bring in the office and contractors; contractors bring in their leads. */
const mayInvite: Record<Role, readonly Role[]> = {
  operator: ["operator", "engineer", "contractor"],
  contractor: ["lead"],
  lead: [],
  engineer: [],
};

const INVITATION_DAYS = 7;
const hashToken = (token: string) => createHash("sha256").update(token).digest("hex");
const canonicalIso = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
// SQLite hands back the ISO text that was stored (better-auth writes `toISOString()`): parsing it only to print
// it again costs more than the rest of turning a row into a user.
const iso = (d: Date | string) => (typeof d === "string" && canonicalIso.test(d) ? d : new Date(d).toISOString());

type UserRow = {
  id: string;
  email: string;
  name: string;
  role: string;
  tenantId: string | null;
  createdAt: Date | string;
};
const toUser = (r: UserRow): User => ({
  id: r.id,
  email: r.email,
  name: r.name,
  role: r.role as Role,
  tenantId: r.tenantId,
  createdAt: iso(r.createdAt),
});

type InvitationRow = Database["invitation"];
function toInvitation(r: InvitationRow, now: Date): Invitation {
  const status = r.accepted_at
    ? "accepted"
    : r.revoked_at
      ? "revoked"
      : new Date(r.expires_at) < now
        ? "expired"
        : "pending";
  return {
    id: r.id,
    email: r.email,
    role: r.role as Role,
    tenantId: r.tenant_id,
    invitedBy: r.invited_by,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    status,
    language: isLang(r.language) ? r.language : "ja",
  };
}

/**
 * The page where an invitation is accepted, its token in the query; an invitation written in English opens it in
 * English (Japanese is the pages' default).
 */
export const invitationLink = (baseUrl: string, token: string, language: Lang = "ja"): string =>
  `${baseUrl.replace(/\/$/, "")}/invite?${new URLSearchParams(language === "ja" ? { token } : { token, lang: language })}`;

/** An invitation as an e-mail: who invites, as what, the one-time link and until when it works. */
function invitationMail(lang: Lang, i: { to: string; inviter: string; role: Role; expiresAt: string; link: string }) {
  const role = text(`role.${i.role}`);
  return {
    to: i.to,
    kind: "invitation",
    subject: say(lang, text("mail.invitation.subject", { role })),
    body: `${say(lang, text("mail.invitation.body", { inviter: i.inviter, role, expires: { moment: i.expiresAt }, link: i.link }))}\n`,
  };
}

/**
 * Holds the user's row until commit (a row lock in PostgreSQL, the write lock in SQLite): an engineer's time
 * entries sent at once pass their overlap check one after the other.
 */
export async function lockUser(trx: Transaction<Database>, userId: string): Promise<void> {
  await trx
    .updateTable("user")
    .set((eb) => ({ id: eb.ref("id") }))
    .where("id", "=", userId)
    .execute();
}

export function createAccountService({
  db,
  audit,
  credentials,
  now = () => new Date(),
  prepare = (build) => preparedFirst(db, build),
  mail,
}: {
  /** Invitations e-mailed with their accept link under `baseUrl` (when SMTP is set). */
  mail?: { mailer: Pick<Mailer, "enqueue">; baseUrl: string };
  db: Kysely<Database>;
  audit: AuditService;
  credentials: CredentialStore;
  now?: () => Date;
  /** How hot reads are compiled once: `Db.preparedFirst` (synchronous on SQLite), or through `db`. */
  prepare?: Db["preparedFirst"];
}) {
  const userColumns = ["id", "email", "name", "role", "tenantId", "createdAt"] as const;
  // Every signed-in page and script asks for its own profile: that read is compiled once.
  const ownProfile = prepare((id) => db.selectFrom("user").select(userColumns).where("id", "=", id));

  async function emailTaken(email: string, trx: Kysely<Database> = db): Promise<boolean> {
    const u = await trx.selectFrom("user").select("id").where("email", "=", email).executeTakeFirst();
    return u !== undefined;
  }

  async function tenantExists(id: string): Promise<boolean> {
    return (await db.selectFrom("tenant").select("id").where("id", "=", id).executeTakeFirst()) !== undefined;
  }

  /** Operators see everyone; contractors and leads see their tenant's staff; engineers see no list. */
  function scopeUsers(actor: Actor) {
    let q = db.selectFrom("user").select(userColumns);
    if (actor.kind === "user" && actor.role !== "operator") {
      if (actor.role === "engineer") throw forbidden(text("accounts.engineersList"));
      q = q.where("tenantId", "=", actor.tenantId ?? "");
    }
    return q;
  }

  return {
    /** Creates an operator directly: how the first account comes to be (`azusa admin create`). */
    async createOperator(actor: Actor, input: { email: string; name: string; password: string }): Promise<User> {
      if (actor.kind === "user") throw forbidden(text("accounts.operatorsCreated"));
      const email = input.email.toLowerCase();
      if (await emailTaken(email)) throw fail("CONFLICT", text("accounts.emailTaken", { email }));
      const { id } = await credentials.createUser(
        { ...input, email, role: "operator", tenantId: null },
        {
          after: (trx, user) =>
            audit.record(actor, "user.created", `user:${user.id}`, { email, role: "operator" }, { trx }),
        },
      );
      return this.get(actor, id);
    },

    /** Invites `email` as `role`, written in `language` (by default the language the inviter chose for themselves). */
    async invite(actor: Actor, input: { email: string; role: Role; tenantId?: string | null; language?: Lang }) {
      if (actor.kind !== "user") throw forbidden();
      if (actor.via === "api_key") throw forbidden(text("accounts.apiKeyInvites"));
      if (!mayInvite[actor.role].includes(input.role)) {
        throw forbidden(text("accounts.cannotInvite", { role: roleCode(actor.role), invited: roleCode(input.role) }));
      }
      const email = input.email.toLowerCase();
      let tenantId: string | null = null;
      if (tenantRoles.includes(input.role)) {
        // A contractor invites into its own tenant only; naming another is refused as any foreign id is.
        if (actor.role !== "operator" && input.tenantId && input.tenantId !== actor.tenantId) throw notFound("tenant");
        tenantId = actor.role === "operator" ? (input.tenantId ?? null) : actor.tenantId;
        if (!tenantId) {
          throw invalidWith(
            text("accounts.tenantToInvite", { role: roleCode(input.role) }),
            "tenantId",
            text("accounts.tenantRequired", { role: roleCode(input.role) }),
          );
        }
        if (!(await tenantExists(tenantId))) throw notFound("tenant");
      } else if (input.tenantId) {
        throw invalidWith(
          text("accounts.officeRole", { role: roleCode(input.role) }),
          "tenantId",
          text("accounts.tenantEmpty", { role: roleCode(input.role) }),
        );
      }
      if (await emailTaken(email)) throw fail("CONFLICT", text("accounts.emailTaken", { email }));
      const language = input.language ?? (await preferencesOf(db, [actor.userId])).get(actor.userId)?.language ?? "ja";
      const token = randomBytes(32).toString("base64url");
      const at = now();
      const row: InvitationRow = {
        id: randomUUID(),
        token_hash: hashToken(token),
        email,
        role: input.role,
        tenant_id: tenantId,
        invited_by: actor.userId,
        created_at: at.toISOString(),
        expires_at: new Date(at.getTime() + INVITATION_DAYS * 86400_000).toISOString(),
        accepted_at: null,
        revoked_at: null,
        language,
      };
      await db.transaction().execute(async (trx) => {
        await trx.insertInto("invitation").values(row).execute();
        await audit.record(
          actor,
          "invitation.created",
          `invitation:${row.id}`,
          { email, role: input.role, language },
          { tenantId, trx },
        );
        // In the same transaction: an invitation that lands is always mailed, one that fails never is.
        if (mail) {
          const inviter = await trx.selectFrom("user").select("name").where("id", "=", actor.userId).executeTakeFirst();
          await mail.mailer.enqueue(trx, [
            invitationMail(language, {
              to: email,
              inviter: inviter?.name ?? actor.email,
              role: input.role,
              expiresAt: row.expires_at,
              link: invitationLink(mail.baseUrl, token, language),
            }),
          ]);
        }
      });
      return { ...toInvitation(row, at), token };
    },

    async listInvitations(actor: Actor): Promise<Invitation[]> {
      if (actor.kind !== "user" || (actor.role !== "operator" && actor.role !== "contractor")) {
        throw forbidden(text("accounts.manageInvitations"));
      }
      let q = db.selectFrom("invitation").selectAll().orderBy("created_at", "desc");
      if (actor.role === "contractor") q = q.where("tenant_id", "=", actor.tenantId ?? "");
      return (await q.execute()).map((r) => toInvitation(r, now()));
    },

    async revokeInvitation(actor: Actor, id: string): Promise<void> {
      const visible = await this.listInvitations(actor);
      const inv = visible.find((i) => i.id === id);
      if (!inv) throw notFound("invitation");
      if (inv.status !== "pending")
        throw fail("INVALID_STATE", text("accounts.invitationState", { state: codeOf("invitation", inv.status) }));
      await db.transaction().execute(async (trx) => {
        await trx.updateTable("invitation").set({ revoked_at: now().toISOString() }).where("id", "=", id).execute();
        await audit.record(actor, "invitation.revoked", `invitation:${id}`, {}, { tenantId: inv.tenantId, trx });
      });
    },

    /** The address and role an invitation is for, to whoever holds its token (the accept page shows them). */
    async invitationByToken(token: string): Promise<Pick<Invitation, "email" | "role" | "status"> | undefined> {
      if (!token) return undefined;
      const row = await db
        .selectFrom("invitation")
        .selectAll()
        .where("token_hash", "=", hashToken(token))
        .executeTakeFirst();
      if (!row) return undefined;
      const { email, role, status } = toInvitation(row, now());
      return { email, role, status };
    },

    /** Turns an invitation into an account; the token is the only credential, and it works once. */
    async acceptInvitation(input: { token: string; name: string; password: string }): Promise<User> {
      const row = await db
        .selectFrom("invitation")
        .selectAll()
        .where("token_hash", "=", hashToken(input.token))
        .executeTakeFirst();
      if (!row) throw notFound("invitation");
      const inv = toInvitation(row, now());
      if (inv.status !== "pending")
        throw fail("INVALID_STATE", text("accounts.invitationState", { state: codeOf("invitation", inv.status) }));
      const actorFor = (id: string): Actor => ({
        kind: "user",
        userId: id,
        email: row.email,
        role: inv.role,
        tenantId: row.tenant_id,
        via: "session",
      });
      // One transaction: the claim (two concurrent accepts cannot both create an account), the account and its
      // audit event land together, or nothing does.
      const { id } = await credentials.createUser(
        { email: row.email, name: input.name, password: input.password, role: inv.role, tenantId: row.tenant_id },
        {
          async before(trx) {
            const claimed = await trx
              .updateTable("invitation")
              .set({ accepted_at: now().toISOString() })
              .where("id", "=", row.id)
              .where("accepted_at", "is", null)
              .executeTakeFirst();
            if (Number(claimed.numUpdatedRows) !== 1)
              throw fail(
                "INVALID_STATE",
                text("accounts.invitationState", { state: codeOf("invitation", "accepted") }),
              );
            if (await emailTaken(row.email, trx)) {
              throw fail("CONFLICT", text("accounts.emailTaken", { email: row.email }));
            }
          },
          // The language the invitation was written in becomes the new account's own.
          async after(trx, user) {
            await setPreferences(trx, user.id, { ...defaultPreferences, language: inv.language }, now());
            await audit.record(
              actorFor(user.id),
              "invitation.accepted",
              `invitation:${row.id}`,
              { role: inv.role, language: inv.language },
              { trx },
            );
          },
        },
      );
      return this.get(actorFor(id), id);
    },

    async list(actor: Actor): Promise<User[]> {
      const rows = await scopeUsers(actor).orderBy("email").execute();
      return rows.map(toUser);
    },

    async get(actor: Actor, id: string): Promise<User> {
      if (actor.kind === "user" && actor.role === "engineer" && actor.userId !== id) throw notFound("user");
      const row =
        actor.kind === "user" && actor.userId === id
          ? await ownProfile(id)
          : await scopeUsers(actor).where("id", "=", id).executeTakeFirst();
      if (!row) throw notFound("user");
      return toUser(row);
    },

    /** Changes a user's role (operators only); the user's sessions end so the new role applies at once. */
    async changeRole(actor: Actor, id: string, input: { role: Role; tenantId?: string | null }): Promise<User> {
      if (actor.kind === "user" && actor.role !== "operator") throw forbidden(text("accounts.operatorsChangeRoles"));
      const before = await this.get(actor, id);
      const tenantId = tenantRoles.includes(input.role) ? (input.tenantId ?? before.tenantId) : null;
      if (tenantRoles.includes(input.role)) {
        if (!tenantId) {
          throw invalidWith(
            text("accounts.tenantForRole", { role: roleCode(input.role) }),
            "tenantId",
            text("accounts.tenantRequired", { role: roleCode(input.role) }),
          );
        }
        if (!(await tenantExists(tenantId))) throw notFound("tenant");
      }
      if (before.role === "operator" && input.role !== "operator") {
        const operators = await db.selectFrom("user").select("id").where("role", "=", "operator").execute();
        if (operators.length <= 1) throw fail("CONFLICT", text("accounts.lastOperator"));
      }
      // The new role and the end of what the old one granted (API keys, contracts led) land with
      // their audit event in one transaction; then the user's sessions end.
      await db.transaction().execute(async (trx) => {
        await trx
          .updateTable("user")
          .set({ role: input.role, tenantId, updatedAt: new Date().toISOString() })
          .where("id", "=", id)
          .execute();
        const keys = await credentials.deleteApiKeysOf(trx, id);
        const led = await endLeadership(trx, id);
        await audit.record(
          actor,
          "user.role_changed",
          `user:${id}`,
          {
            from: before.role,
            to: input.role,
            fromTenantId: before.tenantId,
            toTenantId: tenantId,
            apiKeysRevoked: keys,
            contractsNoLongerLed: led,
          },
          { tenantId, trx },
        );
      });
      await credentials.revokeSessions(id);
      return this.get(actor, id);
    },
  };
}

export type AccountService = ReturnType<typeof createAccountService>;
