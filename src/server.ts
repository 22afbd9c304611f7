// The composition root: builds every part once from the configuration and wires them together.
import { randomBytes, randomUUID } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { IncomingMessage } from "node:http";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import { type ServerType, serve } from "@hono/node-server";
import type Docker from "dockerode";
import { WebSocketServer } from "ws";
import { createAuth } from "./auth/auth.ts";
import { createCredentialStore } from "./auth/credentials.ts";
import { createSealer } from "./auth/sealed.ts";
import { type Config, StartupError } from "./config.ts";
import { type Db, openDatabase } from "./db/db.ts";
import { migrate } from "./db/migrate.ts";
import { createNotices } from "./db/notices.ts";
import { claimSqliteFile, SqliteInUse } from "./db/sqlite-owner.ts";
import { createAccountService } from "./domain/accounts/accounts.service.ts";
import { createApiKeyService } from "./domain/accounts/api-keys.service.ts";
import { createPreferenceService } from "./domain/accounts/preferences.service.ts";
import { createSignInThrottle } from "./domain/accounts/sign-in-throttle.ts";
import { createAuditService } from "./domain/audit/audit.service.ts";
import { startCheckpoints } from "./domain/audit/checkpoints.ts";
import { createAvailabilityService } from "./domain/availability/availability.service.ts";
import { createContractService } from "./domain/contracts/contracts.service.ts";
import { createDeliveryService } from "./domain/delivery/delivery.service.ts";
import { type OrderOf, orderTerms, renderOrder } from "./domain/delivery/order-document.ts";
import { createEngineerService } from "./domain/engineers/engineers.service.ts";
import { createMailer } from "./domain/notifications/mail.ts";
import { createNotificationService } from "./domain/notifications/notifications.service.ts";
import { createReminderService } from "./domain/notifications/reminders.service.ts";
import { createStepNotices } from "./domain/notifications/step-notices.ts";
import { createOfferService } from "./domain/offers/offers.service.ts";
import { createGuideService } from "./domain/offices/guide.service.ts";
import { createInterestService } from "./domain/offices/interest.service.ts";
import { createOfficeService } from "./domain/offices/offices.service.ts";
import { createProgrammeReportService } from "./domain/offices/programme-report.ts";
import { createPackageService } from "./domain/packages/packages.service.ts";
import { createGithubService } from "./domain/pulls/github.service.ts";
import { createPullService } from "./domain/pulls/pulls.service.ts";
import { closeAbandonedSessions } from "./domain/sessions/abandoned.ts";
import { accessEndingActions, createSessionAccess } from "./domain/sessions/access.ts";
import type { RecordingOptions } from "./domain/sessions/recorder.ts";
import { createSessionLog } from "./domain/sessions/session-log.ts";
import { createSessionService } from "./domain/sessions/sessions.service.ts";
import { createTaskAdjudicatorService } from "./domain/tasks/adjudicators.service.ts";
import { createTaskDocumentService } from "./domain/tasks/documents.service.ts";
import { createTaskEntryService } from "./domain/tasks/entries.service.ts";
import { createTaskService } from "./domain/tasks/tasks.service.ts";
import { createTenantService } from "./domain/tenants/tenants.service.ts";
import { createSettlementService } from "./domain/timesheets/settlements.service.ts";
import { createTimesheetService } from "./domain/timesheets/timesheets.service.ts";
import { createWbsImportService } from "./domain/wbs/wbs-import.service.ts";
import { createHostRouter } from "./domain/workspace-hosts/host-router.ts";
import { createWorkspaceHostService, defaultHostId } from "./domain/workspace-hosts/workspace-hosts.service.ts";
import { createEgressService } from "./domain/workspaces/egress.service.ts";
import { createWarmPool } from "./domain/workspaces/warm-pool.ts";
import { createWorkspaceFiles } from "./domain/workspaces/workspace-files.ts";
import { createWorkspaceService } from "./domain/workspaces/workspaces.service.ts";
import { createBridge } from "./gateway/bridge.ts";
import { browserTerminals } from "./gateway/browser-terminal.ts";
import { createHostSideEgress } from "./gateway/egress-relay.ts";
import { hostKeyFingerprint, loadHostKey } from "./gateway/host-key.ts";
import { createIdeOrigin, createIdeTokens } from "./gateway/ide-origin.ts";
import { createIdeProxy } from "./gateway/ide-proxy.ts";
import { createSshGateway } from "./gateway/ssh-server.ts";
import { createBuiltinForge } from "./git/builtin-forge.ts";
import { sweepForkBundles } from "./git/fork.ts";
import { createApp } from "./http/app.ts";
import { createMetrics } from "./http/metrics.ts";
import { createJobLock, processOwner } from "./jobs/job-lock.ts";
import { schedules, startSchedules } from "./jobs/schedules.ts";
import type { Actor } from "./kernel/actor.ts";
import { pauseAt } from "./kernel/pause.ts";
import { createLogger, type Logger } from "./logger.ts";
import { createImageKeeper } from "./provisioner/base-image.ts";
import { createDockerDriver } from "./provisioner/docker-driver.ts";
import { createDockerClient, dockerProbe } from "./provisioner/docker-engine.ts";
import { withoutDiskLimit } from "./provisioner/driver.ts";
import { createHostSideEgressNetworks } from "./provisioner/egress-host-side.ts";
import { createEgressNetworks } from "./provisioner/egress-network.ts";
import type { EgressLookup } from "./provisioner/egress-proxy.ts";
import { createLoopDisks } from "./provisioner/loop-disks.ts";
import { defaultTemplateDir, TemplateError, templateCatalog } from "./templates/templates.ts";

/** The session-signing secret: from the configuration, or generated once and kept in the data directory. */
export function loadSecret(config: Config): string {
  if (config.secret) return config.secret;
  try {
    return keptInDataDir(config, "secret", () => randomBytes(32).toString("base64url"), 0o600);
  } catch (err) {
    throw new StartupError(
      `AZUSA_SECRET: unset, and the kept secret ${join(config.dataDir, "secret")} cannot be read (${reason(err)}); make it readable or set AZUSA_SECRET`,
    );
  }
}

/** The content of `name` in the data directory, written once from `make` when the file is missing. */
function keptInDataDir(config: Config, name: string, make: () => string, mode: number): string {
  mkdirSync(config.dataDir, { recursive: true });
  const file = join(config.dataDir, name);
  try {
    return readFileSync(file, "utf8").trim();
  } catch (err) {
    // Only a missing file is made; one that exists but cannot be read is an error, never replaced.
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    const value = make();
    writeFileSync(file, `${value}\n`, { mode, flag: "wx" });
    return value;
  }
}

/** Why a file or connection failed, on one line and without a stack: the error's code or message. */
function reason(err: unknown): string {
  const e = err as { code?: string; message?: string; details?: { reason?: string } };
  return (e.details?.reason || e.message || e.code || String(err)).replace(/\s+/g, " ").trim();
}

/** Fails start-up, naming the setting, unless the folder exists (or can be made) and takes a file. */
function checkDataDir(dir: string, setting = "AZUSA_DATA_DIR"): void {
  const probe = join(dir, `.write-check-${process.pid}`);
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(probe, "");
  } catch (err) {
    throw new StartupError(`${setting}: cannot write to ${dir} (${reason(err)})`);
  }
  rmSync(probe, { force: true });
}

/** The database a configuration names, without its credentials: `host:port/name`, or the SQLite file. */
function databaseName(database: Config["database"]): string {
  if (database.dialect === "sqlite") return database.file;
  try {
    const url = new URL(database.url);
    return `${url.hostname}:${url.port || "5432"}${url.pathname}`;
  } catch {
    return "the database";
  }
}

/**
 * This Azusa's instance id, the `io.azusa.instance` label of every Docker object it makes: from the
 * configuration, or generated once and kept in the data directory. Reconcile touches nothing else,
 * so Azusas sharing one engine (tests in parallel, other checkouts) leave each other's objects alone.
 */
export function loadInstanceId(config: Config): string {
  return (
    config.instanceId ?? keptInDataDir(config, "instance-id", () => `azusa-${randomBytes(6).toString("hex")}`, 0o644)
  );
}

/**
 * This process's own id, generated once and kept in its data directory (which no other live process uses):
 * the first part of the owner of its leases, so that the process started again on the same directory knows the
 * leases of its previous life for its own and takes them over at once.
 */
export function loadProcessId(config: Config): string {
  return keptInDataDir(config, "process-id", () => `process-${randomBytes(6).toString("hex")}`, 0o644);
}

/** The lines of the audit checkpoint file; none while it does not exist yet. */
function checkpointLines(file: string | null): string[] {
  if (!file) return [];
  try {
    return readFileSync(file, "utf8").split("\n");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw new StartupError(`AZUSA_AUDIT_CHECKPOINT_FILE: cannot read ${file} (${reason(err)})`);
  }
}

/** Where files in flight are kept (fork bundles): under the data directory, never the host's /tmp. */
export const scratchDir = (config: Config) => join(config.dataDir, "scratch");

/** A listener that cannot start is a bad setting: named in one line, as the command line reports it. */
async function listening<T>(setting: string, host: string, port: number, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE") throw new StartupError(`${setting}: ${host}:${port} is already in use`);
    if (code === "EACCES") throw new StartupError(`${setting}: not allowed to listen on ${host}:${port}`);
    if (code === "EADDRNOTAVAIL") throw new StartupError(`${setting}: ${host} is not an address of this machine`);
    throw err;
  }
}

/** A database that does not answer is named (a StartupError) before anything else needs it. */
export async function reachDatabase(db: Db, config: Config): Promise<void> {
  try {
    await db.ping();
  } catch (err) {
    const setting = config.database.dialect === "postgres" ? "DATABASE_URL" : "AZUSA_DATA_DIR";
    throw new StartupError(
      `${setting}: the database ${databaseName(config.database)} does not answer (${reason(err)})`,
    );
  }
}

/**
 * An SQLite file serves one `azusa serve`: a second process on it is refused at start-up (a StartupError),
 * since schedules, reconcile and the gateway of two processes would contend over one file. Returns the
 * release. PostgreSQL takes any number of processes.
 */
function claimDatabase(config: Config): () => void {
  const { database } = config;
  if (database.dialect !== "sqlite" || database.file === ":memory:") return () => {};
  try {
    return claimSqliteFile(database.file);
  } catch (err) {
    if (!(err instanceof SqliteInUse)) throw err;
    throw new StartupError(
      `AZUSA_DATA_DIR: ${err.message}; SQLite serves one process: stop that one, or use PostgreSQL (DATABASE_URL) to run several`,
    );
  }
}

/** What a caller may set beside the configuration: the logger, and the fallbacks of revocation across processes. */
export interface BuildOptions {
  logger?: Logger;
  /** How long a credential is remembered (5 s): a revocation no notice told of ends within it. */
  credentialCacheMs?: number;
  /** How often live sessions are checked again (1 s), notice or not. */
  sessionRecheckMs?: number;
  /** Test-only: what session recordings pass through on their way to their file (a disk slower than any real one). */
  recordingSink?: RecordingOptions["sink"];
  /**
   * Test-only: how the egress proxy resolves names on this machine (default: the system's resolver), so that a test
   * can make an allowed name lead to this machine's own addresses; what is resolved is checked and dialled as ever.
   */
  egressLookup?: EgressLookup;
}

/** Every service of one Azusa process, not yet listening. */
export function buildAzusa(
  config: Config,
  {
    logger = createLogger({ level: config.logLevel }),
    credentialCacheMs,
    sessionRecheckMs,
    recordingSink,
    egressLookup,
  }: BuildOptions = {},
) {
  checkDataDir(config.dataDir);
  if (config.storageDir !== config.dataDir) checkDataDir(config.storageDir, "AZUSA_STORAGE_DIR");
  let db: Db;
  try {
    db = openDatabase(config.database, (err) =>
      logger.warn({ err }, "SQLite checkpoint failed; the next one tries again"),
    );
  } catch (err) {
    throw new StartupError(
      `AZUSA_DATA_DIR: cannot open the database ${databaseName(config.database)} (${reason(err)})`,
    );
  }
  const secret = loadSecret(config);
  const sealer = createSealer(secret);
  const { auth, migrate: migrateAuth } = createAuth({
    db,
    secret,
    baseUrl: config.baseUrl,
    logger,
  });
  // Revocations reach every process on one PostgreSQL at once (LISTEN/NOTIFY); SQLite serves one process.
  const notices = createNotices({ database: config.database, db: db.kysely, logger });
  const credentials = createCredentialStore(auth, db, {
    ...(credentialCacheMs === undefined ? {} : { cacheMs: credentialCacheMs }),
    tell: (revocation) =>
      void notices.publish(revocation).catch((err) => logger.warn({ err: reason(err) }, "a revocation notice failed")),
  });
  const audit = createAuditService({
    db: db.kysely,
    key: config.audit.key,
    onRecorded: async (action, trx) => {
      if (accessEndingActions.has(action)) await notices.publish("access", trx);
    },
  });
  // Invitations and notices by e-mail when SMTP is set: the outbox is written with each and sent after it commits.
  const mailer = config.mail && createMailer({ db: db.kysely, logger, sealer, audit, ...config.mail });
  const accounts = createAccountService({
    db: db.kysely,
    audit,
    credentials,
    prepare: db.preparedFirst,
    ...(mailer ? { mail: { mailer, baseUrl: config.baseUrl } } : {}),
  });
  const preferences = createPreferenceService({ db: db.kysely, audit });
  const apiKeys = createApiKeyService({ credentials, audit });
  // Counted in the database: every process on it shares the limits and lockouts.
  const throttle = createSignInThrottle({ db: db.kysely });
  const tenants = createTenantService({ db: db.kysely, audit });
  const offices = createOfficeService({ db: db.kysely, audit });
  const guides = createGuideService({ db: db.kysely, audit, offices });
  const availability = createAvailabilityService({ db: db.kysely, audit });
  const tasks = createTaskService({ db: db.kysely, audit });
  const taskEntries = createTaskEntryService({ db: db.kysely, audit, sealer, holdMs: config.taskHoldMs });
  const taskDocuments = createTaskDocumentService({ db: db.kysely, audit, sealer });
  const taskAdjudicators = createTaskAdjudicatorService({ db: db.kysely, audit });
  const contracts = createContractService({ db: db.kysely, audit, importDir: config.gitImportDir });
  const packages = createPackageService({ db: db.kysely, audit });
  // Test-only: a named point where the process stops for good (AZUSA_TEST_PAUSE_AT), so that a test can kill it there.
  const pause = pauseAt(config.testPauseAt, (point) => logger.warn({ point }, "paused for a test"));
  const wbs = createWbsImportService({
    db: db.kysely,
    audit,
    pause,
    // The import thread writes on a connection of its own; a memory database has one connection.
    writeOnThread:
      config.database.dialect === "sqlite" && config.database.file === ":memory:"
        ? undefined
        : { database: config.database, auditKey: config.audit.key },
  });
  const engineers = createEngineerService({ db: db.kysely, audit });
  const docker = createDockerClient(config.docker);
  const instance = loadInstanceId(config);
  const egressNetworks = createEgressNetworks({ docker, instance, ...config.egress });
  // Another host's workspace networks are fenced by its engine, its proxy's end a container there.
  const hostSideEgress = (engine: Docker) =>
    createHostSideEgressNetworks({ docker: engine, instance, ...config.egress });
  // One catalogue of workspace templates, read by the proxies, the pool, the forge and the workspaces.
  const templates = templateCatalog(config.templatesDir ?? defaultTemplateDir, { diskMiB: config.workspaceDiskMiB });
  const localEngine = "socketPath" in config.docker;
  // Leases of work in flight (workspace operations, merges, loop disks): another process's is free again a minute after its
  // last renewal; this process's previous life's (kill -9), at once.
  const leases = createJobLock({ db: db.kysely, logger, ttlMs: 60_000, owner: processOwner(loadProcessId(config)) });
  // A loop device is made on this host, so only an engine here can mount it. Each engine host's disks live in a
  // folder of their own under the shared storage folder, so that any process releases a disk another made; one
  // kept in the data directory (before) is still found there.
  const disksOf = (hostId: string) =>
    createLoopDisks({
      dir: join(config.storageDir, "disks", hostId),
      legacyDir: join(config.dataDir, "disks"),
      lease: (name, work) => leases.run(`disk:${hostId}/${name}`, randomUUID(), work),
    });
  const disks = disksOf(defaultHostId);
  const localDriver = createDockerDriver({
    docker,
    instance,
    egress: egressNetworks,
    localEngine,
    ...(localEngine ? { disks } : {}),
  });
  const workspaceHosts = createWorkspaceHostService({
    db: db.kysely,
    audit,
    sealer,
    instance,
    defaultEngine: docker,
    defaultDriver: localDriver,
    exclusive: db.exclusive,
    makeDriver: (engine, kind, hostId) =>
      kind === "socket"
        ? createDockerDriver({ docker: engine, instance, disks: disksOf(hostId), egress: hostSideEgress(engine) })
        : withoutDiskLimit(
            createDockerDriver({ docker: engine, instance, localEngine: false, egress: hostSideEgress(engine) }),
          ),
  });
  // Every operation on a workspace reaches the engine of the host it was placed on.
  const driver = createHostRouter({ db: db.kysely, hosts: workspaceHosts });
  // Egress proxies: on this machine's gateways for the default host, at their end on another host's side for it.
  const egress = createEgressService({
    db: db.kysely,
    audit,
    networks: egressNetworks,
    logger,
    templates,
    hostSide: createHostSideEgress({
      proxyOf: async (id) => driver.egressProxy?.(id),
      pool: egressNetworks.pool,
      logger,
    }),
    ...(egressLookup ? { lookup: egressLookup } : {}),
  });
  const forge = createBuiltinForge({ root: join(config.storageDir, "repos"), importDir: config.gitImportDir });
  const images = createImageKeeper({ docker, logger, build: config.imageBuild });
  const pool = createWarmPool({
    driver: localDriver,
    // a template's pooled workspaces wait on every host placement could choose for it
    hosts: (template) =>
      workspaceHosts.poolHosts({ labels: template.azusa.hostLabels, diskLimit: template.azusa.diskLimitRequired }),
    size: config.warmPool,
    templates,
    logger,
    imageReady: images.ready,
  });
  const notifications = createNotificationService({
    db: db.kysely,
    audit,
    logger,
    retryBaseMs: config.webhookRetryMs,
    allowLoopbackReceivers: config.webhookLoopback,
    sealer,
    ...(mailer ? { mail: { mailer, baseUrl: config.baseUrl } } : {}),
  });
  const stepNotices = createStepNotices(notifications);
  const pulls = createPullService({
    notices: stepNotices,
    db: db.kysely,
    leases,
    audit,
    packages,
    engineers,
    forge,
    driver,
    workspaceFolder: async (name) => (await templates()).get(name)?.azusa.workspaceFolder ?? "/workspace",
    logger,
    scratchDir: scratchDir(config),
    pause,
  });
  const workspaces = createWorkspaceService({
    db: db.kysely,
    audit,
    driver,
    templates,
    logger,
    egress,
    pool,
    retentionDays: config.retentionDays,
    imageReady: images.ready,
    prepare: (ws, ref, template) => pulls.prepareWorkspace(ws, ref, template.azusa.workspaceFolder),
    prepareEarly: (ws) => pulls.prepareRepository(ws.packageId),
    prepareCreated: (ws, ref) => pulls.fillStore(ws, ref),
    leases,
    onStarted: (ws) => pulls.syncPackageForks(ws.packageId, ws.id),
    placement: workspaceHosts,
    pin: driver.pin,
    pause,
  });
  // a host registered, activated or given more room, or a contract asking for other labels, may let the
  // workspaces waiting for a host be placed
  const placePending = () => {
    workspaces
      .placePending()
      .catch((err) => logger.warn({ err: (err as Error).message }, "placing pending workspaces failed"));
  };
  workspaceHosts.onChange(placePending);
  contracts.onHostLabels(placePending);
  const github = createGithubService({
    db: db.kysely,
    sealer,
    audit,
    packages,
    notices: stepNotices,
    baseUrl: config.baseUrl,
    apiUrl: config.githubApiUrl,
  });
  const offers = createOfferService({
    notices: stepNotices,
    db: db.kysely,
    audit,
    engineers,
    packages,
    offerTtlHours: config.offerTtlHours,
    onAssigned: async (assignmentId) => {
      // The acceptance committed, its workspace not yet made: a crash here leaves an assignment for reconcile.
      await pause("offers.accepted");
      return workspaces.provisionForAssignment(assignmentId);
    },
    // the work of an ended assignment is not the package's any more: its pull requests here close with it
    onAssignmentEnding: (trx, actor, packageId, why) => pulls.closeOpen(trx, actor, packageId, why),
    onAssignmentEnded: async (actor, packageId, why) => {
      // the schedule stops it within a minute if the engine does not answer now
      await workspaces
        .stopEnded()
        .catch((err) => logger.warn({ err: (err as Error).message }, "stopping ended workspaces"));
      await github
        .closeOpen(actor, packageId, why)
        .catch((err) => logger.warn({ err: (err as Error).message, packageId }, "closing pull requests on GitHub"));
    },
    onOffered: (packageId) => pulls.prepareAhead(packageId),
  });
  const timesheets = createTimesheetService({ db: db.kysely, audit, notifications });
  const settlements = createSettlementService({ db: db.kysely, audit });
  const deliveries = createDeliveryService({
    db: db.kysely,
    audit,
    packages,
    notifications,
    deliveryGate: (packageId) => pulls.deliveryGate(packageId),
  });
  const orders = {
    terms: (actor: Actor, of: OrderOf) => orderTerms(db.kysely, actor, of),
    render: renderOrder,
  };
  const reminders = createReminderService({ db: db.kysely, notifications, guides });
  const interests = createInterestService({
    db: db.kysely,
    audit,
    offices,
    accounts,
    notifications,
    retentionDays: config.interest.retentionDays,
  });
  const programme = createProgrammeReportService({ db: db.kysely, offices });
  const jobLock = createJobLock({ db: db.kysely, logger });
  const sessionAccess = createSessionAccess({ db: db.kysely, engineers, workspaces });
  const sessionLog = createSessionLog({
    db: db.kysely,
    audit,
    packages,
    logger,
    instance,
    recordingCaps: config.recordings,
  });
  const bridge = createBridge({
    access: sessionAccess,
    log: sessionLog,
    workspaces,
    driver,
    logger,
    // recordings live in the storage folder that every process shares
    dataDir: config.storageDir,
    idleMs: config.ssh.idleMs,
    maxSessionMs: config.ssh.maxSessionMs,
    ...(sessionRecheckMs === undefined ? {} : { recheckMs: sessionRecheckMs }),
    pause,
    recordingSink,
  });
  // An ended assignment's sessions end, their clients told why, before its workspace stops under them.
  workspaces.whenEndedStopping(() => bridge.settle());
  const sshGateway = createSshGateway({
    access: sessionAccess,
    log: sessionLog,
    bridge,
    lockout: { addresses: throttle.lockout("ssh-addr", { maxFailures: 20 }), accounts: throttle.lockout("ssh-pkg") },
    hostKey: loadHostKey(config.dataDir),
    logger,
    maxSessions: config.ssh.maxSessions,
  });
  const sshAccess = {
    host: new URL(config.baseUrl).hostname,
    port: config.ssh.port,
    hostPublicKey: sshGateway.hostPublicKey,
    fingerprint: hostKeyFingerprint(sshGateway.hostPublicKey),
  };
  const metrics = createMetrics();
  const ideProxy = createIdeProxy({ bridge, workspaces, driver, logger, baseUrl: config.baseUrl });
  const ideOrigin = config.ide
    ? createIdeOrigin({
        ideProxy,
        credentials,
        tokens: createIdeTokens(sealer),
        baseUrl: config.baseUrl,
        url: config.ide.url,
        trustProxy: config.trustProxy,
        logger,
      })
    : null;
  const app = createApp({
    auth,
    credentials,
    accounts,
    apiKeys,
    tenants,
    offices,
    guides,
    interests,
    programme,
    workspaceHosts,
    availability,
    tasks,
    taskEntries,
    taskDocuments,
    taskAdjudicators,
    contracts,
    packages,
    wbs,
    engineers,
    offers,
    workspaces,
    sessions: createSessionService({ db: db.kysely, audit, dataDir: config.storageDir }),
    audit,
    logger,
    metrics,
    pulls,
    forge,
    github,
    signIns: throttle.attempts("web", { limit: config.signInLimit }),
    // The public interest form: per address and hour, counted in the database like sign-ins.
    interestAttempts: throttle.attempts("interest", { limit: config.interest.limit, windowMs: 60 * 60_000 }),
    gitFailures: throttle.lockout("git", { maxFailures: config.signInLimit, windowMs: 60_000, lockMs: 60_000 }),
    probes: { database: () => db.ping(), docker: dockerProbe(docker) },
    baseUrl: config.baseUrl,
    bodyLimit: config.bodyLimit,
    wbsLimit: config.wbsLimit,
    trustProxy: config.trustProxy,
    metricsToken: config.metricsToken,
    brandLine: config.brandLine,
    timesheets,
    settlements,
    deliveries,
    orders,
    notifications,
    mailer: mailer || undefined,
    preferences,
    terminals: browserTerminals(bridge),
    workspaceFiles: createWorkspaceFiles({ access: sessionAccess, driver, workspaces, audit }),
    ideProxy,
    ideOrigin,
    sshAccess,
  });
  return {
    app,
    notices,
    credentials,
    sshAccess,
    sealer,
    ideProxy,
    ideOrigin,
    db,
    audit,
    accounts,
    tenants,
    offices,
    guides,
    interests,
    workspaceHosts,
    availability,
    tasks,
    taskEntries,
    taskDocuments,
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
    pulls,
    forge,
    github,
    egress,
    pool,
    images,
    driver,
    schedules: schedules({
      offers,
      engineers,
      reminders,
      deliveries,
      notifications,
      pulls,
      workspaces,
      pool: config.warmPool > 0 ? pool : undefined,
      tasks: taskEntries,
      interests,
    }),
    bridge,
    sshGateway,
    logger,
    async migrate() {
      const applied = await migrate(db, { migrate: migrateAuth });
      // A chain written before it had a key is keyed now, once its plain links check, unless the checkpoints
      // written outside the database show it was keyed already.
      const { adopted } = await audit.adoptKey(checkpointLines(config.audit.checkpointFile));
      if (adopted) logger.info({ events: adopted }, "audit chain keyed");
      return applied;
    },
    async close() {
      // better-auth checks the schema in the background at start; let it finish before the pool goes.
      await auth.$context.catch(() => {});
      await notifications.stop();
      await mailer?.stop();
      await wbs.close();
      await notices.close();
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
  /** The port the SSH gateway listens on. */
  sshPort: number;
  /** The port of the IDE listener, or null when it is off. */
  idePort: number | null;
  stop(): Promise<void>;
}

/** Migrates, then listens; resolves once the port is bound. */
export async function startAzusa(config: Config, opts: BuildOptions = {}): Promise<Running> {
  const azusa = buildAzusa(config, opts);
  let release = () => {};
  try {
    release = claimDatabase(config);
    // A bad template stops start-up here, with every problem named, rather than at the first assignment.
    await azusa.workspaces.templates();
    await reachDatabase(azusa.db, config);
  } catch (err) {
    await azusa.close().catch(() => {});
    release();
    if (err instanceof TemplateError) {
      const problems = err.problems.map((p) => `${p.file}: ${p.path ? `${p.path}: ` : ""}${p.message}`);
      throw new StartupError(`AZUSA_TEMPLATES_DIR: invalid workspace templates in ${err.dir}: ${problems.join("; ")}`);
    }
    throw err;
  }
  const applied = await azusa.migrate();
  if (applied.length) azusa.logger.info({ applied }, "migrations applied");
  // Secrets saved before they were sealed at rest are sealed now.
  const sealed = (await azusa.notifications.sealStoredSecrets()) + (await azusa.github.sealStoredSecrets());
  if (sealed) azusa.logger.info({ sealed }, "stored secrets sealed");
  // Sessions a crash left open are closed, ended at their recording's last event.
  const abandoned = await closeAbandonedSessions({
    db: azusa.db.kysely,
    audit: azusa.audit,
    dataDir: config.storageDir,
    instance: loadInstanceId(config),
    logger: azusa.logger,
  });
  if (abandoned) azusa.logger.warn({ sessions: abandoned }, "sessions left open by a crash closed");
  // Workspaces made before a restart get their egress proxies back before anyone can reach them.
  await azusa.egress.resume();
  // Before serving: the rows and the engine agree again after a crash (an engine that does not
  // answer is logged; the schedule tries again). The image build and the pool go on in the background.
  try {
    const result = await azusa.workspaces.reconcile();
    azusa.logger.info({ result }, "workspaces reconciled");
  } catch (err) {
    azusa.logger.error({ err: (err as Error).message }, "reconcile at start failed");
  }
  // What sessions left running when Azusa was killed outright (no reaper ran) ends, the templates' services spared.
  try {
    const ended = await azusa.workspaces.endLeftoverProcesses();
    if (ended) azusa.logger.warn({ processes: ended }, "processes left by sessions a crash could not end ended");
  } catch (err) {
    azusa.logger.error({ err: (err as Error).message }, "ending leftover session processes failed");
  }
  // Fork bundles (engineers' commits) a crashed process left behind.
  const swept = sweepForkBundles(scratchDir(config));
  if (swept) azusa.logger.info({ swept }, "leftover fork bundles removed");
  // A merge a crash interrupted: the canonical branch and the pull request agree again.
  const settled = await azusa.pulls.settleMerges();
  if (settled) azusa.logger.info({ settled }, "interrupted merges settled");
  const images = [...(await azusa.workspaces.templates()).values()].map((t) => t.image);
  azusa.images
    .ensure(images)
    .catch((err: Error) => azusa.logger.error({ err: err.message }, "checking the workspace image failed"))
    .then(() => azusa.pool.fill());
  const { server, port } = await listening(
    "AZUSA_PORT",
    config.host,
    config.port,
    () =>
      new Promise<{ server: ServerType; port: number }>((resolve, reject) => {
        // The browser terminal's WebSockets are upgraded by node-server and answered by the app's routes.
        const websocket = { server: new WebSocketServer({ noServer: true, maxPayload: 1 << 20 }) };
        const s = serve({ fetch: azusa.app.fetch, port: config.port, hostname: config.host, websocket }, (info) =>
          resolve({ server: s, port: info.port }),
        );
        s.once("error", reject);
      }),
  );
  // node-server answers WebSocket upgrades and leaves any other kind hanging: those are refused here, by
  // one listener in its place (node-server refuses failed handshakes only while it is the only listener).
  const [upgradeWebSockets] = server.listeners("upgrade") as ((req: IncomingMessage, ...rest: unknown[]) => void)[];
  if (upgradeWebSockets) {
    server.removeAllListeners("upgrade");
    server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (req.headers.upgrade?.toLowerCase() === "websocket") return upgradeWebSockets(req, socket, head);
      socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    });
  }
  const ide = config.ide;
  const ideOrigin = azusa.ideOrigin;
  const idePort =
    ide && ideOrigin
      ? await listening("AZUSA_IDE_PORT", config.host, ide.port, () => ideOrigin.listen(ide.port, config.host))
      : null;
  const sshPort = await listening("AZUSA_SSH_PORT", config.ssh.host, config.ssh.port, () =>
    azusa.sshGateway.listen(config.ssh.port, config.ssh.host),
  );
  azusa.sshAccess.port = sshPort;
  // Signed checkpoints of the audit chain leave the database (a file outside it, a webhook), as configured.
  const checkpoints = startCheckpoints({
    audit: azusa.audit,
    file: config.audit.checkpointFile,
    url: config.audit.checkpointUrl,
    intervalMs: config.audit.checkpointMs,
    logger: azusa.logger,
  });
  // A revocation heard from any process (this one too): credentials forgotten, live sessions checked again.
  await azusa.notices.listen((notice) => {
    if (notice !== "access") azusa.credentials.heard(notice);
    azusa.bridge.recheck();
  });
  const stopSchedules = config.schedules
    ? startSchedules(azusa.schedules, azusa.logger, azusa.jobLock)
    : async () => {};
  azusa.logger.info({ port, host: config.host, database: config.database.dialect }, "azusa listening");
  azusa.logger.info({ port: sshPort, host: config.ssh.host }, "ssh gateway listening");
  if (idePort !== null) azusa.logger.info({ port: idePort, host: config.host }, "ide listener listening");
  let stopping: Promise<void> | undefined;
  return {
    azusa,
    server,
    port,
    sshPort,
    idePort,
    stop() {
      stopping ??= (async () => {
        let step = "schedules";
        const work = (async () => {
          // Stop the schedules and stop accepting, let requests in flight finish, then close the database.
          await stopSchedules();
          // Live SSH sessions end (their evidence written) before the database goes; clients are told why.
          step = "ssh sessions";
          await azusa.sshGateway.close();
          step = "ide sessions";
          await azusa.ideOrigin?.close();
          azusa.ideProxy.close();
          await azusa.bridge.close();
          azusa.images.stop();
          step = "workspace operations";
          await azusa.workspaces.drain();
          await azusa.pulls.drain();
          await azusa.egress.shutdown();
          await azusa.pool.empty();
          step = "audit checkpoint";
          await checkpoints.stop();
          step = "requests in flight";
          await new Promise<void>((resolve) => {
            server.close(() => resolve());
            if ("closeIdleConnections" in server) server.closeIdleConnections();
          });
          step = "database";
          await azusa.close();
          release();
        })();
        // A stop is bounded (AZUSA_SHUTDOWN_SECONDS): what is unfinished then is left to reconcile at the next start.
        let timer: NodeJS.Timeout | undefined;
        const late = await Promise.race([
          work.then(() => false),
          new Promise<boolean>((resolve) => {
            timer = setTimeout(() => resolve(true), config.shutdownMs);
          }),
        ]).finally(() => clearTimeout(timer));
        if (late) {
          azusa.logger.warn(
            { pending: step, seconds: config.shutdownMs / 1000 },
            "shutdown took longer than AZUSA_SHUTDOWN_SECONDS; stopping with work unfinished",
          );
          if ("closeAllConnections" in server) server.closeAllConnections();
          throw new Error(`shutdown took longer than ${config.shutdownMs / 1000} s (waiting for ${step})`);
        }
      })();
      return stopping;
    },
  };
}
