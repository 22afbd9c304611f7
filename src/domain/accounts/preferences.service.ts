// Each person's own settings: the language of their notices and e-mail, and whether notices that can wait are
// e-mailed. Only the person changes them; a user who set nothing has the defaults.
import type { Kysely } from "kysely";
import type { Database, Executor } from "../../db/schema.ts";
import type { Actor } from "../../kernel/actor.ts";
import { forbidden } from "../../kernel/errors.ts";
import { isLang, type Lang, text } from "../../kernel/messages.ts";
import type { AuditService } from "../audit/audit.service.ts";

/** What a person chose. */
export interface Preferences {
  /** The language of their notices and e-mail. */
  language: Lang;
  /** Whether notices that can wait are e-mailed; essential ones (invitations, security, payment) always are. */
  emailNotices: boolean;
}

export const defaultPreferences: Preferences = { language: "ja", emailNotices: true };

/** The preferences of each of `userIds` (the defaults for those who set none). */
export async function preferencesOf(ex: Executor, userIds: readonly string[]): Promise<Map<string, Preferences>> {
  const found = new Map<string, Preferences>(userIds.map((id) => [id, { ...defaultPreferences }]));
  if (!userIds.length) return found;
  const rows = await ex
    .selectFrom("user_preference")
    .selectAll()
    .where("user_id", "in", [...new Set(userIds)])
    .execute();
  for (const r of rows) {
    found.set(r.user_id, {
      language: isLang(r.language) ? r.language : defaultPreferences.language,
      emailNotices: Number(r.email_notices) === 1,
    });
  }
  return found;
}

/** Writes `userId`'s preferences as they are first set (an account made from an invitation in its language). */
export async function setPreferences(ex: Executor, userId: string, preferences: Preferences, at: Date): Promise<void> {
  const row = {
    language: preferences.language,
    email_notices: preferences.emailNotices ? 1 : 0,
    updated_at: at.toISOString(),
  };
  await ex
    .insertInto("user_preference")
    .values({ user_id: userId, ...row })
    .onConflict((oc) => oc.column("user_id").doUpdateSet(row))
    .execute();
}

export function createPreferenceService({
  db,
  audit,
  now = () => new Date(),
}: {
  db: Kysely<Database>;
  audit: AuditService;
  now?: () => Date;
}) {
  const self = (actor: Actor): string => {
    if (actor.kind !== "user") throw forbidden(text("preferences.ownOnly"));
    return actor.userId;
  };

  return {
    /** The caller's own preferences. */
    async get(actor: Actor): Promise<Preferences> {
      const userId = self(actor);
      return (await preferencesOf(db, [userId])).get(userId) ?? { ...defaultPreferences };
    },

    /** Changes the caller's own preferences; what is not given stays as it was. Audited. */
    async update(actor: Actor, change: Partial<Preferences>): Promise<Preferences> {
      const userId = self(actor);
      return db.transaction().execute(async (trx) => {
        const before = (await preferencesOf(trx, [userId])).get(userId) ?? { ...defaultPreferences };
        const after: Preferences = {
          language: change.language ?? before.language,
          emailNotices: change.emailNotices ?? before.emailNotices,
        };
        await setPreferences(trx, userId, after, now());
        await audit.record(actor, "user.preferences_changed", `user:${userId}`, { before, after }, { trx });
        return after;
      });
    },
  };
}

export type PreferenceService = ReturnType<typeof createPreferenceService>;
