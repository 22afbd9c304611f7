// Secrets Azusa keeps on others' behalf (webhook signing secrets, GitHub tokens) are sealed at rest with
// AES-256-GCM under a key derived from Azusa's own secret: a copy of the database alone does not reveal them.
// Each value is bound to its place (the row and column it is stored in) as associated data, so a sealed
// value copied into another row does not open there.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";

const PREFIX = "sealed:v1:";

/**
 * Seals and opens stored secrets; a value stored before sealing existed opens as itself. `context` names
 * the value's place (`webhook:<id>`, `tenant_github:<tenant>:token`): opening takes the same context.
 */
export interface Sealer {
  seal(plain: string, context: string): string;
  /** Throws when the value was sealed under another key (AZUSA_SECRET changed), for another place, or altered. */
  open(stored: string, context: string): string;
}

/** The places secrets are stored in, as the context their sealing is bound to. */
export const sealContext = {
  webhook: (webhookId: string) => `webhook:${webhookId}`,
  githubToken: (tenantId: string) => `tenant_github:${tenantId}:token`,
  githubWebhookSecret: (tenantId: string) => `tenant_github:${tenantId}:webhook_secret`,
  workspaceHostKey: (hostId: string) => `workspace_host:${hostId}:key`,
};

/** The opened value, or undefined when it cannot be opened (AZUSA_SECRET changed, or it was moved or altered). */
export function tryOpen(sealer: Sealer, stored: string, context: string): string | undefined {
  try {
    return sealer.open(stored, context);
  } catch {
    return undefined;
  }
}

export const isSealed = (stored: string): boolean => stored.startsWith(PREFIX);

/** A sealer keyed by `secret` (AZUSA_SECRET, or the one kept in the data directory). */
export function createSealer(secret: string): Sealer {
  const key = Buffer.from(hkdfSync("sha256", secret, "azusa", "stored secrets v1", 32));
  return {
    seal(plain, context) {
      const iv = randomBytes(12);
      const cipher = createCipheriv("aes-256-gcm", key, iv);
      cipher.setAAD(Buffer.from(context, "utf8"));
      const body = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
      return `${PREFIX}${Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64url")}`;
    },
    open(stored, context) {
      if (!isSealed(stored)) return stored;
      const raw = Buffer.from(stored.slice(PREFIX.length), "base64url");
      try {
        const decipher = createDecipheriv("aes-256-gcm", key, raw.subarray(0, 12));
        decipher.setAuthTag(raw.subarray(12, 28));
        decipher.setAAD(Buffer.from(context, "utf8"));
        return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString("utf8");
      } catch {
        throw new Error(
          `a stored secret (${context}) cannot be opened: was AZUSA_SECRET changed since it was saved, or the value moved?`,
        );
      }
    },
  };
}
