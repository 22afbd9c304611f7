// Secrets Azusa keeps on others' behalf (webhook signing secrets, GitHub tokens) are sealed at rest with
// AES-256-GCM under a key derived from Azusa's own secret: a copy of the database alone does not reveal them.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";
import type { Kysely } from "kysely";
import type { Database } from "../db/schema.ts";

const PREFIX = "sealed:v1:";

/** Seals and opens stored secrets; a value stored before sealing existed opens as itself. */
export interface Sealer {
  seal(plain: string): string;
  /** Throws when the value was sealed under another key (AZUSA_SECRET changed) or altered. */
  open(stored: string): string;
}

export const isSealed = (stored: string): boolean => stored.startsWith(PREFIX);

/** A sealer keyed by `secret` (AZUSA_SECRET, or the one kept in the data directory). */
export function createSealer(secret: string): Sealer {
  const key = Buffer.from(hkdfSync("sha256", secret, "azusa", "stored secrets v1", 32));
  return {
    seal(plain) {
      const iv = randomBytes(12);
      const cipher = createCipheriv("aes-256-gcm", key, iv);
      const body = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
      return `${PREFIX}${Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64url")}`;
    },
    open(stored) {
      if (!isSealed(stored)) return stored;
      const raw = Buffer.from(stored.slice(PREFIX.length), "base64url");
      try {
        const decipher = createDecipheriv("aes-256-gcm", key, raw.subarray(0, 12));
        decipher.setAuthTag(raw.subarray(12, 28));
        return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString("utf8");
      } catch {
        throw new Error("a stored secret cannot be opened: was AZUSA_SECRET changed since it was saved?");
      }
    },
  };
}

/** Seals every secret stored before sealing existed; returns how many. Idempotent. */
export async function sealStoredSecrets(db: Kysely<Database>, sealer: Sealer): Promise<number> {
  let count = 0;
  await db.transaction().execute(async (trx) => {
    for (const hook of await trx.selectFrom("webhook").select(["id", "secret"]).execute()) {
      if (isSealed(hook.secret)) continue;
      await trx
        .updateTable("webhook")
        .set({ secret: sealer.seal(hook.secret) })
        .where("id", "=", hook.id)
        .execute();
      count++;
    }
    for (const gh of await trx.selectFrom("tenant_github").select(["tenant_id", "token", "webhook_secret"]).execute()) {
      if (isSealed(gh.token) && isSealed(gh.webhook_secret)) continue;
      await trx
        .updateTable("tenant_github")
        .set({
          token: isSealed(gh.token) ? gh.token : sealer.seal(gh.token),
          webhook_secret: isSealed(gh.webhook_secret) ? gh.webhook_secret : sealer.seal(gh.webhook_secret),
        })
        .where("tenant_id", "=", gh.tenant_id)
        .execute();
      count++;
    }
  });
  return count;
}
