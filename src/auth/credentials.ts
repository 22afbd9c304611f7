// The narrow face of better-auth that Azusa's services use: accounts, sessions and API keys.
import { createHash } from "node:crypto";
import { defaultKeyHasher } from "@better-auth/api-key";
import { runWithAdapter } from "@better-auth/core/context";
import { generateRandomString } from "better-auth/crypto";
import { getAdapter } from "better-auth/db/adapter";
import type { Transaction } from "kysely";
import { type Db, databaseUnavailable } from "../db/db.ts";
import type { Database } from "../db/schema.ts";
import { isRole, type Role } from "../kernel/actor.ts";
import { AppError } from "../kernel/errors.ts";
import { API_KEY_PREFIX, type Auth } from "./auth.ts";
import { PrincipalCache } from "./principal-cache.ts";

/** A signed-in user as the session or API key reveals them: the user row read with the credential. */
export interface Principal {
  userId: string;
  email: string;
  name: string;
  role: Role;
  tenantId: string | null;
  createdAt: string;
}

export interface ApiKeySummary {
  id: string;
  name: string | null;
  start: string | null;
  createdAt: string;
  expiresAt: string | null;
}

const iso = (d: Date | string | null | undefined) => (d == null ? null : new Date(d).toISOString());

/**
 * What must land with a change or not at all (its audit event): run in the change's transaction, after it.
 * When it throws, the change is rolled back and the error goes to the caller.
 */
export type Alongside<T> = (trx: Transaction<Database>, made: T) => Promise<unknown>;

/** What the account and API key services need from the authentication library. */
export interface CredentialStore {
  /**
   * Creates the user and its password. With `within`, in one transaction: `before` (checks, a claim), the user,
   * then `after` (its audit event); any of them failing leaves nothing written.
   */
  createUser(
    input: { email: string; name: string; password: string; role: Role; tenantId: string | null },
    within?: { before?: (trx: Transaction<Database>) => Promise<unknown>; after?: Alongside<{ id: string }> },
  ): Promise<{ id: string }>;
  /** Ends every session of the user and forgets what was remembered of their credentials. */
  revokeSessions(userId: string): Promise<void>;
  createApiKey(
    userId: string,
    name: string,
    expiresInDays: number | null,
    alongside: Alongside<ApiKeySummary>,
  ): Promise<ApiKeySummary & { key: string }>;
  listApiKeys(userId: string): Promise<ApiKeySummary[]>;
  /** Deletes every key of the user in the caller's transaction (their role changed); how many there were. */
  deleteApiKeysOf(trx: Transaction<Database>, userId: string): Promise<number>;
  /** Deletes the user's key, and runs `alongside` in the same transaction; false when there is no such key. */
  deleteApiKey(userId: string, keyId: string, alongside: Alongside<{ id: string }>): Promise<boolean>;
  /** The principal behind a request's session cookie or API key, or null. */
  principal(headers: Headers): Promise<(Principal & { via: "session" | "api_key" }) | null>;
  /** The principal when this process checked the same credential moments ago; `principal` otherwise. */
  remembered(headers: Headers): (Principal & { via: "session" | "api_key" }) | undefined;
  /** Forgets what is remembered about the user behind these headers (after sign-out, say). */
  forget(headers: Headers): void;
  /**
   * Applies a revocation another process made (`tell`'s words: `user:<id>`, `credential:<sha-256>`), or forgets
   * everything for anything else (`resync`: notices may have been missed).
   */
  heard(revocation: string): void;
  /** The user whose email and password these are, without starting a session (Git over HTTP), or null. */
  verifyPassword(email: string, password: string): Promise<Principal | null>;
}

/** Reads an API key from `x-api-key` or `Authorization: Bearer azk_…`. */
export function apiKeyFrom(headers: Headers): string | null {
  const direct = headers.get("x-api-key");
  if (direct) return direct;
  const authz = headers.get("authorization");
  if (authz?.startsWith(`Bearer ${API_KEY_PREFIX}`)) return authz.slice("Bearer ".length);
  return null;
}

const SESSION_COOKIE = /(?:^|;\s*)(?:__Secure-)?better-auth\.session_token=([^;]*)/;

/** The signed session cookie's value, under either of the names better-auth gives it. */
export function sessionCookieFrom(headers: Headers): string | null {
  // A targeted match: a general cookie parser decodes every cookie on the hot path of each request.
  const value = SESSION_COOKIE.exec(headers.get("cookie") ?? "")?.[1];
  return value ? value : null;
}

/** The session cookie as the browser sent it, `name=value`, or null. */
export function sessionCookiePair(headers: Headers): string | null {
  return /(?:^|;\s*)((?:__Secure-)?better-auth\.session_token=[^;]+)/.exec(headers.get("cookie") ?? "")?.[1] ?? null;
}

type Resolved = Principal & { via: "session" | "api_key" };

/** A user as better-auth's session and Azusa's user table both give it. */
interface UserRow {
  id: string;
  email: string;
  name: string;
  role?: unknown;
  tenantId?: string | null;
  createdAt: Date | string;
}

/** The principal a user row makes, or null for a row without one of Azusa's roles. */
const toPrincipal = (u: UserRow): Principal | null =>
  isRole(u.role)
    ? {
        userId: u.id,
        email: u.email,
        name: u.name,
        role: u.role,
        tenantId: u.tenantId ?? null,
        createdAt: iso(u.createdAt) ?? "",
      }
    : null;

/** A credential as other processes are told of it: its SHA-256, never the credential itself. */
const digest = (credential: string) => createHash("sha256").update(credential).digest("hex");

/**
 * `cacheMs`: how long a resolved credential is remembered. Revocations made through this store end at once here,
 * and `tell` passes each on (`user:<id>`, `credential:<sha-256>`) to the other processes on the database, whose
 * stores apply it (`heard`); one they never hear of (no notices: a lost connection) ends within `cacheMs`.
 */
export function createCredentialStore(
  auth: Auth,
  db: Db,
  { cacheMs = 5_000, tell = () => {} }: { cacheMs?: number; tell?: (revocation: string) => void } = {},
): CredentialStore {
  const cache = new PrincipalCache<Resolved>(cacheMs);

  async function userById(id: string): Promise<Principal | null> {
    const u = await db.kysely
      .selectFrom("user")
      .select(["id", "email", "name", "role", "tenantId", "createdAt"])
      .where("id", "=", id)
      .executeTakeFirst();
    return u ? toPrincipal(u) : null;
  }

  /** Lookups under way, by credential. */
  const resolving = new Map<string, Promise<Resolved | null>>();

  /** Forgets the user's credentials; a lookup under way is not joined any more (it may predate a revocation). */
  function forgetUser(userId: string, told = true): void {
    cache.forgetUser(userId);
    resolving.clear();
    if (told) tell(`user:${userId}`);
  }

  async function resolveApiKey(key: string): Promise<Resolved | null> {
    const since = cache.generation;
    const result = await auth.api.verifyApiKey({ body: { key } });
    if (!result.valid || !result.key) return null;
    const p = await userById(result.key.referenceId);
    // Keys are for a contractor's scripts: a user who is no longer a contractor loses them.
    if (p?.role !== "contractor") return null;
    const resolved: Resolved = { ...p, via: "api_key" };
    const expires = result.key.expiresAt ? new Date(result.key.expiresAt).getTime() : undefined;
    cache.set(key, p.userId, resolved, expires, since);
    return resolved;
  }

  async function resolveSession(cookie: string, headers: Headers): Promise<Resolved | null> {
    const since = cache.generation;
    const session = await auth.api.getSession({ headers });
    if (!session) return null;
    const p = toPrincipal(session.user as UserRow);
    if (!p) return null;
    const resolved: Resolved = { ...p, via: "session" };
    cache.set(cookie, p.userId, resolved, new Date(session.session.expiresAt).getTime(), since);
    return resolved;
  }

  /**
   * better-auth answers "no such key" (or fails its own way) when the database does not answer: a refusal or a
   * failure is believed only if the database answers now. Otherwise the caller gets UNAVAILABLE (503), never
   * 401, so that a script does not throw away a working key.
   */
  async function believed(lookup: Promise<Resolved | null>): Promise<Resolved | null> {
    let outcome: { resolved: Resolved | null } | { err: unknown };
    try {
      outcome = { resolved: await lookup };
    } catch (err) {
      outcome = { err };
    }
    if (!("resolved" in outcome) || outcome.resolved === null) {
      try {
        await db.ping();
      } catch (err) {
        throw err instanceof AppError ? err : databaseUnavailable(err);
      }
    }
    if ("err" in outcome) throw outcome.err;
    return outcome.resolved;
  }

  /** better-auth's adapter writing through `trx`: its rows commit or roll back with the caller's. */
  async function adapterOn(trx: Transaction<Database>) {
    const ctx = await auth.$context;
    return getAdapter({ ...ctx.options, database: { db: trx, type: db.dialect } });
  }

  return {
    async createUser({ email, name, password, role, tenantId }, within) {
      const ctx = await auth.$context;
      // hashed before any transaction opens: it takes a while, and holds no lock meanwhile
      const hash = await ctx.password.hash(password);
      const create = async () => {
        const user = await ctx.internalAdapter.createUser(
          {
            email: email.toLowerCase(),
            name,
            emailVerified: true,
            role,
            tenantId,
          },
          { method: "admin" },
        );
        await ctx.internalAdapter.linkAccount({
          userId: user.id,
          providerId: "credential",
          accountId: user.id,
          password: hash,
        });
        return { id: user.id };
      };
      if (!within) return create();
      return db.kysely.transaction().execute(async (trx) => {
        await within.before?.(trx);
        // better-auth's internal adapter writes through the adapter current in this async context
        const user = await runWithAdapter(await adapterOn(trx), create);
        await within.after?.(trx, user);
        return user;
      });
    },

    async revokeSessions(userId) {
      forgetUser(userId);
      const ctx = await auth.$context;
      await ctx.internalAdapter.deleteUserSessions(userId);
      // Again: a lookup that read a session before it was deleted must not have left it remembered.
      forgetUser(userId);
    },

    async createApiKey(userId, name, expiresInDays, alongside) {
      // The row better-auth's API key plugin writes (its key format, hash and defaults, see auth.ts), written here
      // through the caller's transaction: the plugin's own endpoint cannot join one.
      const key = `${API_KEY_PREFIX}${generateRandomString(64, "a-z", "A-Z")}`;
      const at = new Date();
      const data = {
        configId: "default",
        createdAt: at,
        updatedAt: at,
        name,
        prefix: API_KEY_PREFIX,
        start: key.slice(0, 6),
        key: await defaultKeyHasher(key),
        enabled: true,
        expiresAt: expiresInDays == null ? null : new Date(at.getTime() + expiresInDays * 86400_000),
        referenceId: userId,
        lastRefillAt: null,
        lastRequest: null,
        metadata: null,
        rateLimitMax: 10,
        rateLimitTimeWindow: 86400_000,
        remaining: null,
        refillAmount: null,
        refillInterval: null,
        rateLimitEnabled: false,
        requestCount: 0,
      };
      return db.kysely.transaction().execute(async (trx) => {
        const k = await (await adapterOn(trx)).create<typeof data, typeof data & { id: string }>({
          model: "apikey",
          data,
        });
        const summary = {
          id: k.id,
          name: k.name,
          start: k.start,
          createdAt: iso(k.createdAt) ?? "",
          expiresAt: iso(k.expiresAt),
        };
        await alongside(trx, summary);
        return { ...summary, key };
      });
    },

    async listApiKeys(userId) {
      const rows = await db.kysely
        .selectFrom("apikey" as never)
        .select(["id", "name", "start", "createdAt", "expiresAt"] as never[])
        .where("referenceId" as never, "=", userId as never)
        .orderBy("createdAt" as never, "asc")
        .execute();
      return (
        rows as unknown as {
          id: string;
          name: string | null;
          start: string | null;
          createdAt: Date | string;
          expiresAt: Date | string | null;
        }[]
      ).map((r) => ({
        id: r.id,
        name: r.name,
        start: r.start,
        createdAt: iso(r.createdAt) ?? "",
        expiresAt: iso(r.expiresAt),
      }));
    },

    async deleteApiKeysOf(trx, userId) {
      const res = await trx
        .deleteFrom("apikey" as never)
        .where("referenceId" as never, "=", userId as never)
        .executeTakeFirst();
      return Number(res.numDeletedRows);
    },

    async deleteApiKey(userId, keyId, alongside) {
      const deleted = await db.kysely.transaction().execute(async (trx) => {
        const res = await trx
          .deleteFrom("apikey" as never)
          .where("id" as never, "=", keyId as never)
          .where("referenceId" as never, "=", userId as never)
          .executeTakeFirst();
        if (Number(res.numDeletedRows) === 0) return false;
        await alongside(trx, { id: keyId });
        return true;
      });
      // after the commit, so that no lookup can remember the key from before it
      forgetUser(userId);
      return deleted;
    },

    principal(headers) {
      const key = apiKeyFrom(headers);
      const credential = key ?? sessionCookieFrom(headers);
      if (!credential) return Promise.resolve(null);
      const cached = cache.get(credential);
      if (cached) return Promise.resolve(cached);
      // Requests that arrive together with one credential (a page's assets, a script's burst, everyone after the
      // memory of it expired) share one lookup.
      let pending = resolving.get(credential);
      if (!pending) {
        const lookup: Promise<Resolved | null> = believed(
          key ? resolveApiKey(key) : resolveSession(credential, headers),
        ).finally(() => {
          // a forget may have replaced it with a newer lookup meanwhile
          if (resolving.get(credential) === lookup) resolving.delete(credential);
        });
        pending = lookup;
        resolving.set(credential, lookup);
      }
      return pending;
    },

    remembered(headers) {
      const credential = apiKeyFrom(headers) ?? sessionCookieFrom(headers);
      return credential ? cache.get(credential) : undefined;
    },

    async verifyPassword(email, password) {
      const ctx = await auth.$context;
      const found = await ctx.internalAdapter.findUserByEmail(email.toLowerCase(), { includeAccounts: true });
      const hash = found?.accounts.find((a) => a.providerId === "credential")?.password;
      if (!found || !hash) {
        // Spend the same time as a real check, so that timing does not tell which emails exist.
        await ctx.password.hash(password);
        return null;
      }
      if (!(await ctx.password.verify({ hash, password }))) return null;
      return userById(found.user.id);
    },

    forget(headers) {
      const cookie = sessionCookieFrom(headers);
      const known = cookie ? cache.get(cookie) : undefined;
      if (known) forgetUser(known.userId);
      else if (cookie) {
        cache.forgetCredential(cookie);
        resolving.clear();
        tell(`credential:${digest(cookie)}`);
      }
    },

    heard(revocation) {
      const [kind, value = ""] = revocation.split(":", 2);
      if (kind === "user") return forgetUser(value, false);
      cache.forgetWhere(kind === "credential" ? (credential) => digest(credential) === value : undefined);
      resolving.clear();
    },
  };
}
