// better-auth set up for Azusa: email and password with sessions, no open sign-up, API keys for scripts.
import { apiKey } from "@better-auth/api-key";
import { type BetterAuthOptions, betterAuth } from "better-auth";
import { getMigrations } from "better-auth/db/migration";
import type { Db } from "../db/db.ts";
import type { Logger } from "../logger.ts";
import { quietAuthStorages } from "./quiet-storage.ts";

/** Header that carries the client address Azusa saw on the socket; any copy sent by a client is dropped. */
export const CLIENT_IP_HEADER = "x-azusa-client-ip";

/** Prefix of every API key, so that a leaked key is easy to spot in a scan. */
export const API_KEY_PREFIX = "azk_";

export interface AuthOptions {
  db: Db;
  secret: string;
  baseUrl: string;
  logger: Logger;
}

function options({ db, secret, baseUrl, logger }: AuthOptions) {
  return {
    appName: "Azusa",
    baseURL: baseUrl,
    basePath: "/api/auth",
    secret,
    database: { db: db.kysely, type: db.dialect },
    telemetry: { enabled: false },
    logger: {
      log: (level: "debug" | "info" | "warn" | "error" | "success", message: string) =>
        logger[level === "success" ? "info" : level]({ component: "auth" }, message),
    },
    emailAndPassword: {
      enabled: true,
      // Accounts come from invitations or the CLI only.
      disableSignUp: true,
      minPasswordLength: 12,
      maxPasswordLength: 256,
    },
    user: {
      additionalFields: {
        role: { type: "string", required: true, input: false, defaultValue: "engineer" },
        tenantId: { type: "string", required: false, input: false },
      },
    },
    session: { expiresIn: 60 * 60 * 12, updateAge: 60 * 60 },
    rateLimit: {
      enabled: true,
      storage: "memory",
      window: 60,
      max: 600,
      // Sign-in attempts are counted by Azusa itself, in the database (AZUSA_SIGNIN_LIMIT), shared by every process.
      customRules: { "/sign-in/email": false },
    },
    // The origin check stays on everywhere, tests included (better-auth turns it off under NODE_ENV=test).
    // Azusa migrates better-auth's tables itself before serving, so its background schema check is not needed.
    advanced: {
      ipAddress: { ipAddressHeaders: [CLIENT_IP_HEADER] },
      disableOriginCheck: false,
      database: { validateSchema: false },
    },
    plugins: [
      apiKey({
        defaultPrefix: API_KEY_PREFIX,
        requireName: true,
        maximumNameLength: 64,
        rateLimit: { enabled: false },
        keyExpiration: { defaultExpiresIn: null, maxExpiresIn: 366 },
      }),
    ],
  } satisfies BetterAuthOptions;
}

/** Builds the better-auth instance and a way to migrate its tables programmatically. */
export function createAuth(opts: AuthOptions) {
  const config = options(opts);
  const auth = betterAuth(config);
  // Started before anything can call better-auth, so that its storages are the quiet ones from their first run.
  const quieted = quietAuthStorages();
  quieted.catch(() => {});
  return {
    auth,
    async migrate() {
      await quieted;
      const { runMigrations } = await getMigrations(config);
      await runMigrations();
    },
  };
}

export type Auth = ReturnType<typeof createAuth>["auth"];
