// API keys for a contractor's scripts: created and revoked by the contractor, never shown twice.
import type { ApiKeySummary, CredentialStore } from "../../auth/credentials.ts";
import type { Actor } from "../../kernel/actor.ts";
import { forbidden, notFound } from "../../kernel/errors.ts";
import { text } from "../../kernel/messages.ts";
import type { AuditService } from "../audit/audit.service.ts";

function keyOwner(actor: Actor): string {
  if (actor.kind !== "user" || actor.role !== "contractor") throw forbidden(text("apiKeys.contractorsOnly"));
  if (actor.via === "api_key") throw forbidden(text("apiKeys.signIn"));
  return actor.userId;
}

export function createApiKeyService({ credentials, audit }: { credentials: CredentialStore; audit: AuditService }) {
  return {
    async create(actor: Actor, input: { name: string; expiresInDays?: number | null }) {
      const userId = keyOwner(actor);
      // The key and its audit event land together, or neither does.
      return credentials.createApiKey(userId, input.name, input.expiresInDays ?? null, (trx, key) =>
        audit.record(actor, "api_key.created", `api_key:${key.id}`, { name: input.name, start: key.start }, { trx }),
      );
    },
    async list(actor: Actor): Promise<ApiKeySummary[]> {
      return credentials.listApiKeys(keyOwner(actor));
    },
    async revoke(actor: Actor, id: string): Promise<void> {
      const deleted = await credentials.deleteApiKey(keyOwner(actor), id, (trx) =>
        audit.record(actor, "api_key.revoked", `api_key:${id}`, {}, { trx }),
      );
      if (!deleted) throw notFound("apiKey");
    },
  };
}

export type ApiKeyService = ReturnType<typeof createApiKeyService>;
