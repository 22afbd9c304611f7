// The composition root: builds every part once from the configuration and wires them together.
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type ServerType, serve } from "@hono/node-server";
import { createApp } from "./api/app.ts";
import { createMetrics } from "./api/system/metrics.ts";
import { createAuth } from "./auth/auth.ts";
import { createCredentialStore } from "./auth/credentials.ts";
import type { Config } from "./config.ts";
import { openDatabase } from "./db/db.ts";
import { migrate } from "./db/migrate.ts";
import { createAccountService } from "./domain/accounts/accounts.service.ts";
import { createApiKeyService } from "./domain/accounts/api-keys.service.ts";
import { createAuditService } from "./domain/audit/audit.service.ts";
import { createContractService } from "./domain/contracts/contracts.service.ts";
import { createDeliveryService } from "./domain/delivery/delivery.service.ts";
import { orderTerms, renderOrder } from "./domain/delivery/order-document.ts";
import { createEngineerService } from "./domain/engineers/engineers.service.ts";
import { createNotificationService } from "./domain/notifications/notifications.service.ts";
import { createReminderService } from "./domain/notifications/reminders.service.ts";
import { createOfferService } from "./domain/offers/offers.service.ts";
import { createPackageService } from "./domain/packages/packages.service.ts";
import { createTenantService } from "./domain/tenants/tenants.service.ts";
import { createSettlementService } from "./domain/timesheets/settlements.service.ts";
import { createTimesheetService } from "./domain/timesheets/timesheets.service.ts";
import { createWbsImportService } from "./domain/wbs/wbs-import.service.ts";
import { createWorkspaceService } from "./domain/workspaces/workspaces.service.ts";
import { createJobLock } from "./jobs/job-lock.ts";
import { schedules, startSchedules } from "./jobs/schedules.ts";
import { createLogger, type Logger } from "./logger.ts";
import { createDockerDriver } from "./provisioner/docker-driver.ts";
import { createDockerClient, dockerProbe } from "./provisioner/docker-engine.ts";
import { defaultTemplateDir } from "./templates/templates.ts";

/** The session-signing secret: from the configuration, or generated once and kept in the data directory. */
export function loadSecret(config: Config): string {
  if (config.secret) return config.secret;
  mkdirSync(config.dataDir, { recursive: true });
  const file = join(config.dataDir, "secret");
  try {
    return readFileSync(file, "utf8").trim();
  } catch {
    const secret = randomBytes(32).toString("base64url");
    writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: "wx" });
    return secret;
  }
}

/** Every service of one Azusa process, not yet listening. */
export function buildAzusa(
  config: Config,
  { logger = createLogger({ level: config.logLevel }) }: { logger?: Logger } = {},
) {
  const db = openDatabase(config.database);
  const { auth, migrate: migrateAuth } = createAuth({
    db,
    secret: loadSecret(config),
    baseUrl: config.baseUrl,
    signInLimit: config.signInLimit,
    logger,
  });
  const credentials = createCredentialStore(auth, db);
  const audit = createAuditService({ db: db.kysely });
  const accounts = createAccountService({ db: db.kysely, audit, credentials });
  const apiKeys = createApiKeyService({ credentials, audit });
  const tenants = createTenantService({ db: db.kysely, audit });
  const contracts = createContractService({ db: db.kysely, audit });
  const packages = createPackageService({ db: db.kysely, audit });
  const wbs = createWbsImportService({ db: db.kysely, audit });
  const engineers = createEngineerService({ db: db.kysely, audit });
  const docker = createDockerClient(config.docker);
  const workspaces = createWorkspaceService({
    db: db.kysely,
    audit,
    driver: createDockerDriver({ docker }),
    templatesDir: config.templatesDir ?? defaultTemplateDir,
    logger,
  });
  const offers = createOfferService({
    db: db.kysely,
    audit,
    engineers,
    packages,
    offerTtlHours: config.offerTtlHours,
    onAssigned: (assignmentId) => workspaces.provisionForAssignment(assignmentId),
  });
  const notifications = createNotificationService({
    db: db.kysely,
    audit,
    logger,
    retryBaseMs: config.webhookRetryMs,
    allowLoopbackReceivers: config.webhookLoopback,
  });
  const timesheets = createTimesheetService({ db: db.kysely, audit, notifications });
  const settlements = createSettlementService({ db: db.kysely, audit });
  // deliveryGate: the forge will pass a check that the package's pull request is merged.
  const deliveries = createDeliveryService({ db: db.kysely, audit, packages, notifications });
  const orders = { terms: orderTerms.bind(null, db.kysely), render: renderOrder };
  const reminders = createReminderService({ db: db.kysely, notifications });
  const jobLock = createJobLock({ db: db.kysely });
  const metrics = createMetrics();
  const app = createApp({
    auth,
    credentials,
    accounts,
    apiKeys,
    tenants,
    contracts,
    packages,
    wbs,
    engineers,
    offers,
    workspaces,
    audit,
    logger,
    metrics,
    probes: { database: () => db.ping(), docker: dockerProbe(docker) },
    baseUrl: config.baseUrl,
    bodyLimit: config.bodyLimit,
    wbsLimit: config.wbsLimit,
    trustProxy: config.trustProxy,
    metricsToken: config.metricsToken,
    timesheets,
    settlements,
    deliveries,
    orders,
    notifications,
  });
  return {
    app,
    db,
    audit,
    accounts,
    tenants,
    contracts,
    packages,
    wbs,
    engineers,
    offers,
    workspaces,
    timesheets,
    settlements,
    deliveries,
    notifications,
    reminders,
    jobLock,
    schedules: schedules({ offers, engineers, reminders, deliveries, notifications }),
    logger,
    migrate: () => migrate(db, { migrate: migrateAuth }),
    async close() {
      // better-auth checks the schema in the background at start; let it finish before the pool goes.
      await auth.$context.catch(() => {});
      await notifications.stop();
      await db.close();
    },
  };
}

export type Azusa = ReturnType<typeof buildAzusa>;

/** A running HTTP server and how to stop it gracefully. */
export interface Running {
  azusa: Azusa;
  server: ServerType;
  port: number;
  stop(): Promise<void>;
}

/** Migrates, then listens; resolves once the port is bound. */
export async function startAzusa(config: Config, opts: { logger?: Logger } = {}): Promise<Running> {
  const azusa = buildAzusa(config, opts);
  // A bad template stops start-up here, with every problem named, rather than at the first assignment.
  await azusa.workspaces.templates();
  const applied = await azusa.migrate();
  if (applied.length) azusa.logger.info({ applied }, "migrations applied");
  const { server, port } = await new Promise<{ server: ServerType; port: number }>((resolve, reject) => {
    const s = serve({ fetch: azusa.app.fetch, port: config.port, hostname: config.host }, (info) =>
      resolve({ server: s, port: info.port }),
    );
    s.once("error", reject);
  });
  const stopSchedules = config.schedules
    ? startSchedules(azusa.schedules, azusa.logger, azusa.jobLock)
    : async () => {};
  azusa.logger.info({ port, host: config.host, database: config.database.dialect }, "azusa listening");
  let stopping: Promise<void> | undefined;
  return {
    azusa,
    server,
    port,
    stop() {
      stopping ??= (async () => {
        // Stop the schedules and stop accepting, let requests in flight finish, then close the database.
        await stopSchedules();
        await azusa.workspaces.drain();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          if ("closeIdleConnections" in server) server.closeIdleConnections();
        });
        await azusa.close();
      })();
      return stopping;
    },
  };
}
