// The one place that reads the environment: every setting is validated here, with its default.
import { readFileSync } from "node:fs";
import { relative, resolve } from "node:path";
import { z } from "zod";

/** The development default of AZUSA_AUDIT_KEY: public, so it protects nothing; production refuses to start without a key. */
export const DEVELOPMENT_AUDIT_KEY = "azusa-development-audit-key: not a secret, set AZUSA_AUDIT_KEY";

const port = z.coerce.number().int().min(0).max(65535);

const Env = z.object({
  AZUSA_PORT: port.default(8080).describe("HTTP port of the API and pages"),
  AZUSA_HOST: z.string().min(1).default("0.0.0.0").describe("address the HTTP server binds"),
  AZUSA_DATA_DIR: z
    .string()
    .min(1)
    .default("./data")
    .describe(
      "where Azusa keeps its files: the SQLite database, generated secret, instance id, process id and SSH host key, workspace disks; repositories and recordings too unless AZUSA_STORAGE_DIR is set",
    ),
  AZUSA_STORAGE_DIR: z
    .string()
    .min(1)
    .optional()
    .describe(
      "the storage folder several processes share: the built-in forge's repositories, recordings, workspace disks (a folder per engine host) and (when outside AZUSA_DATA_DIR) the audit checkpoints; AZUSA_DATA_DIR when unset",
    ),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL (leave unset for SQLite)")
    .optional()
    .describe("PostgreSQL connection URL; SQLite under the data directory when unset"),
  AZUSA_BASE_URL: z.string().url().optional().describe("public URL of Azusa, used in links and cookies"),
  AZUSA_SECRET: z
    .string()
    .min(32, "must be at least 32 characters")
    .optional()
    .describe(
      "signing secret for sessions and the key sealing stored secrets; generated once and kept in the data directory when unset",
    ),
  AZUSA_LOG_LEVEL: z
    .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"])
    .default("info")
    .describe("least severe log level written (JSON lines on standard output)"),
  AZUSA_BODY_LIMIT: z.coerce
    .number()
    .int()
    .positive()
    .default(1024 * 1024)
    .describe("largest request body in bytes"),
  AZUSA_WBS_LIMIT: z.coerce
    .number()
    .int()
    .positive()
    .default(10 * 1024 * 1024)
    .describe("largest WBS file in bytes"),
  AZUSA_OFFER_TTL_HOURS: z.coerce
    .number()
    .positive()
    .max(24 * 90)
    .default(72)
    .describe("hours an engineer has to answer an offer before it expires"),
  AZUSA_SCHEDULES: z
    .enum(["on", "off"])
    .default("on")
    .describe(
      "off stops every schedule (expiries, reminders, webhook retries, workspace reconcile and idle stop, pull refresh)",
    ),
  AZUSA_TEMPLATES_DIR: z
    .string()
    .min(1)
    .optional()
    .describe("folder of *.devcontainer.json workspace templates; the built-in ones when unset"),
  AZUSA_TRUST_PROXY: z
    .enum(["true", "false"])
    .default("false")
    .transform((v) => v === "true")
    .describe("take the client address from X-Forwarded-For (its last hop, the one the proxy adds)"),
  AZUSA_SIGNIN_LIMIT: z.coerce
    .number()
    .int()
    .positive()
    .default(10)
    .describe("sign-in attempts per address per minute, counted in the database, so every process shares them"),
  AZUSA_INTEREST_LIMIT: z.coerce
    .number()
    .int()
    .positive()
    .default(5)
    .describe("interest registrations per address per hour, through an office's public page, counted in the database"),
  AZUSA_INTEREST_RETENTION_DAYS: z.coerce
    .number()
    .int()
    .positive()
    .max(3650)
    .default(180)
    .describe("days an interest registration is kept; then it is deleted, and the registration form says so"),
  AZUSA_BRAND_LINE: z
    .string()
    .trim()
    .min(1)
    .max(200)
    .optional()
    .describe("the line shown under the name on the sign-in page; unset: a line that names no town"),
  AZUSA_METRICS_TOKEN: z
    .string()
    .min(16, "must be at least 16 characters")
    .optional()
    .describe("when set, /metrics asks for Authorization: Bearer <token>"),
  AZUSA_SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\/\S+$/, "must be smtp://… or smtps://…")
    .optional()
    .describe(
      "when set with AZUSA_MAIL_FROM, notices are e-mailed too: smtp:// or smtps://, with user:password@ if the server asks",
    ),
  AZUSA_MAIL_FROM: z
    .string()
    .regex(/^[^\s@]+@[^\s@]+$/, "must be an e-mail address")
    .optional()
    .describe("the sender of Azusa's e-mail"),
  AZUSA_WEBHOOK_RETRY_MS: z.coerce
    .number()
    .int()
    .positive()
    .default(30_000)
    .describe(
      "wait before a failed webhook delivery's first retry; each later one waits twice as long, 6 attempts in all",
    ),
  AZUSA_SSH_PORT: port.default(2222).describe("port of the SSH gateway (0 picks a free one)"),
  AZUSA_SSH_HOST: z.string().min(1).default("0.0.0.0").describe("address the SSH gateway binds"),
  AZUSA_SSH_MAX_SESSIONS: z.coerce
    .number()
    .int()
    .min(1)
    .max(100)
    .default(10)
    .describe("sessions (shells, commands) at once on one SSH connection"),
  AZUSA_TASK_HOLD_MINUTES: z.coerce
    .number()
    .positive()
    .max(24 * 60)
    .default(30)
    .describe("a task item taken and not sent for this long is given back for another keyer; a later send is refused"),
  AZUSA_SSH_IDLE_MINUTES: z.coerce
    .number()
    .positive()
    .max(24 * 60)
    .default(60)
    .describe("an SSH or terminal session with no input or output for this long ends"),
  AZUSA_SSH_MAX_SESSION_HOURS: z.coerce
    .number()
    .positive()
    .max(24 * 7)
    .default(12)
    .describe("no SSH or terminal session lasts longer than this, busy or not"),
  NODE_ENV: z.string().optional().describe("`production` refuses to start without an audit key of its own"),
  AZUSA_AUDIT_KEY: z
    .string()
    .min(32, "must be at least 32 characters")
    .optional()
    .describe(
      "the audit chain's HMAC key; keep it outside the database and the data directory (a public default in development)",
    ),
  AZUSA_AUDIT_KEY_FILE: z
    .string()
    .min(1)
    .optional()
    .describe("a file holding the audit chain's key, instead of AZUSA_AUDIT_KEY"),
  AZUSA_AUDIT_CHECKPOINT_FILE: z
    .string()
    .min(1)
    .optional()
    .describe("file outside the data directory that signed checkpoints of the audit chain are appended to"),
  AZUSA_AUDIT_CHECKPOINT_URL: z
    .string()
    .url()
    .optional()
    .describe("URL that signed checkpoints of the audit chain are POSTed to (JSON)"),
  AZUSA_AUDIT_CHECKPOINT_SECONDS: z.coerce
    .number()
    .positive()
    .max(24 * 3600)
    .default(60)
    .describe("how often a checkpoint of the audit chain is written, when the chain has moved"),
  AZUSA_RECORDING_MAX_MIB: z.coerce
    .number()
    .positive()
    .default(1024)
    .describe(
      "a session's recording takes at most this much disk (compressed); past it the session goes on unrecorded",
    ),
  AZUSA_RECORDING_WORKSPACE_MAX_MIB: z.coerce
    .number()
    .positive()
    .default(10240)
    .describe("the recordings of one workspace's sessions take at most this much disk together (compressed)"),
  AZUSA_SHUTDOWN_SECONDS: z.coerce
    .number()
    .positive()
    .max(600)
    .default(10)
    .describe("at SIGTERM, work still unfinished after this many seconds is abandoned and the process exits (code 1)"),
  AZUSA_TEST_PAUSE_AT: z
    .enum([
      "wbs.writing",
      "pulls.merge.advanced",
      "pulls.opening.bundled",
      "pulls.opening.inserted",
      "workspaces.provisioning",
      "workspaces.moving",
      "sessions.ending",
      "offers.accepted",
    ])
    .optional()
    .describe("test-only: the process stops at this named point for good, so that a test can kill it there; unset"),
  AZUSA_WEBHOOK_LOOPBACK: z
    .enum(["on", "off"])
    .default("off")
    .describe("on lets webhooks point at this machine (a local relay, tests); private addresses are always refused"),
  DOCKER_HOST: z.string().optional().describe("Docker engine address (unix:// or tcp://); the local socket when unset"),
  AZUSA_GIT_IMPORT_DIR: z
    .string()
    .min(1)
    .optional()
    .describe("folder whose repositories a contract may name as its source (local paths only); none when unset"),
  AZUSA_GITHUB_API_URL: z
    .string()
    .url()
    .default("https://api.github.com")
    .describe("GitHub's REST API, for tenants who keep code on GitHub (GitHub Enterprise Server: https://HOST/api/v3)"),
  AZUSA_EGRESS_PROXY_PORT: z.coerce
    .number()
    .int()
    .min(1)
    .max(65535)
    .default(3128)
    .describe("port of the egress proxy on each workspace's gateway"),
  AZUSA_EGRESS_SUBNETS: z
    .string()
    .regex(/^(\d{1,3}\.){3}\d{1,3}\/(1[6-9]|2[0-8])$/, "must be an IPv4 range from /16 to /28, e.g. 10.213.0.0/16")
    .default("10.213.0.0/16")
    .describe("IPv4 range cut into a /28 per workspace that may reach the network"),
  AZUSA_INSTANCE_ID: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_.-]{2,62}$/, "lower-case letters, digits, '_', '.' and '-', 3 to 63")
    .optional()
    .describe("this Azusa's name on the Docker objects it owns; generated once into the data directory when unset"),
  AZUSA_WARM_POOL: z.coerce
    .number()
    .int()
    .min(0)
    .max(50)
    .default(0)
    .describe("workspaces per template created and started ahead of assignments (0: none)"),
  AZUSA_RETENTION_DAYS: z.coerce
    .number()
    .int()
    .min(0)
    .max(3650)
    .default(30)
    .describe("days a workspace is kept after its package is accepted; then it and its volume are destroyed"),
  AZUSA_WORKSPACE_DISK_MIB: z.coerce
    .number()
    .int()
    .min(64)
    .max(16 * 1024 * 1024)
    .default(10240)
    .describe(
      "size in MiB of a workspace's volume when its template names none (customizations.azusa.resources.diskMiB)",
    ),
  AZUSA_IMAGE_BUILD: z
    .enum(["on", "off"])
    .default("on")
    .describe("build the default workspace image at start when it is missing (infra/image/build-base.sh)"),
  AZUSA_IDE_PORT: z
    .union([z.literal("off"), port])
    .default(8081)
    .describe(
      "port of the listener serving templates' own IDEs, each on an origin of its own (0 picks a free one; off: none)",
    ),
  AZUSA_IDE_URL: z
    .string()
    .url()
    .refine((u) => /^https?:\/\/\{package\}\.[^/]+$/.test(u.replace(/\/$/, "")), {
      message: 'must be http(s)://{package}.<domain>[:port], e.g. "https://{package}.ide.azusa.example"',
    })
    .optional()
    .describe(
      "public address of a package's IDE, {package} standing for its id; http://{package}.ide.localhost:<AZUSA_IDE_PORT> when unset",
    ),
});

/** Settings whose values are never repeated in an error message: they hold credentials. */
const sensitive = new Set(["AZUSA_SECRET", "DATABASE_URL", "AZUSA_METRICS_TOKEN", "AZUSA_AUDIT_KEY"]);

/** Validated settings of one Azusa process. */
export interface Config {
  port: number;
  host: string;
  dataDir: string;
  /** The storage folder several processes share: repositories (`repos/`), recordings (`recordings/`), workspace disks (`disks/`). */
  storageDir: string;
  database: { dialect: "sqlite"; file: string } | { dialect: "postgres"; url: string };
  baseUrl: string;
  secret: string | undefined;
  logLevel: z.infer<typeof Env>["AZUSA_LOG_LEVEL"];
  bodyLimit: number;
  wbsLimit: number;
  offerTtlHours: number;
  schedules: boolean;
  templatesDir: string | undefined;
  trustProxy: boolean;
  signInLimit: number;
  /** Interest registrations per address per hour (AZUSA_INTEREST_LIMIT) and days kept (AZUSA_INTEREST_RETENTION_DAYS). */
  interest: { limit: number; retentionDays: number };
  metricsToken: string | undefined;
  /** The sign-in page's brand line (AZUSA_BRAND_LINE); undefined: the dictionary's own. */
  brandLine: string | undefined;
  webhookRetryMs: number;
  /** SMTP for notices by e-mail, when both AZUSA_SMTP_URL and AZUSA_MAIL_FROM are set. */
  mail: { smtpUrl: string; from: string } | undefined;
  webhookLoopback: boolean;
  docker: { socketPath: string } | { host: string; port: number; protocol: "http" | "https" };
  gitImportDir: string | undefined;
  githubApiUrl: string;
  egress: { proxyPort: number; pool: string };
  instanceId: string | undefined;
  warmPool: number;
  retentionDays: number;
  /** How long a keyer may hold a task item without sending it. */
  taskHoldMs: number;
  workspaceDiskMiB: number;
  imageBuild: boolean;
  ssh: { port: number; host: string; maxSessions: number; idleMs: number; maxSessionMs: number };
  /** The audit chain's key and where its checkpoints go. */
  audit: { key: string; checkpointFile: string | null; checkpointUrl: string | null; checkpointMs: number };
  /** Caps on recordings' size on disk, in bytes. */
  recordings: { sessionBytes: number; workspaceBytes: number };
  /** How long a graceful stop may take before it is abandoned. */
  shutdownMs: number;
  /** The IDE listener; null when off. `url` null: derived from the port it listens on. */
  ide: { port: number; url: string | null } | null;
  /** Test-only (AZUSA_TEST_PAUSE_AT): the named point where the process stops for good; undefined in use. */
  testPauseAt: string | undefined;
}

/** Raised when the environment holds invalid settings; `problems` lists every one of them. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/**
 * Raised at start-up when a setting is well formed but what it names does not work: a database that does
 * not answer, a data directory that cannot be written, a secret that cannot be read, a template refused.
 * The message names the setting or the path and holds no credential; the CLI prints it as one line.
 */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StartupError";
  }
}

/** The settings table, for the README and `azusa settings`: each variable, what it means, and its default when it has a fixed one. */
export const settings = Object.entries(Env.shape).map(([name, schema]) => {
  const fallback: unknown = schema.safeParse(undefined).data;
  return {
    name,
    description: schema.description ?? "",
    default: fallback === undefined ? undefined : String(fallback),
  };
});

/** Whether `file` lies inside the data directory, where a copy of the database would find it. */
const inDataDir = (e: z.infer<typeof Env>, file: string) =>
  !relative(resolve(e.AZUSA_DATA_DIR), resolve(file)).startsWith("..");

/**
 * The file checkpoints are appended to: AZUSA_AUDIT_CHECKPOINT_FILE, or else `audit-checkpoints.jsonl` in a storage
 * folder outside the data directory (shared by every process); none otherwise.
 */
function checkpointFile(e: z.infer<typeof Env>): string | null {
  if (e.AZUSA_AUDIT_CHECKPOINT_FILE) return resolve(e.AZUSA_AUDIT_CHECKPOINT_FILE);
  if (e.AZUSA_STORAGE_DIR && !inDataDir(e, e.AZUSA_STORAGE_DIR)) {
    return resolve(e.AZUSA_STORAGE_DIR, "audit-checkpoints.jsonl");
  }
  return null;
}

/**
 * The audit chain's key: AZUSA_AUDIT_KEY, or the file AZUSA_AUDIT_KEY_FILE names (outside the data
 * directory); the public development default unless NODE_ENV is production, where a missing key stops start-up.
 */
function readAuditKey(e: z.infer<typeof Env>, problems: string[]): string {
  let key = e.AZUSA_AUDIT_KEY;
  if (e.AZUSA_AUDIT_KEY_FILE) {
    if (key) problems.push("AZUSA_AUDIT_KEY_FILE: set either it or AZUSA_AUDIT_KEY, not both");
    else if (inDataDir(e, e.AZUSA_AUDIT_KEY_FILE)) {
      problems.push("AZUSA_AUDIT_KEY_FILE: must be outside AZUSA_DATA_DIR, where a copy of the database would find it");
    } else {
      try {
        key = readFileSync(e.AZUSA_AUDIT_KEY_FILE, "utf8").trim();
        if (key.length < 32) problems.push("AZUSA_AUDIT_KEY_FILE: the key in it must be at least 32 characters");
      } catch (err) {
        problems.push(`AZUSA_AUDIT_KEY_FILE: cannot be read (${(err as NodeJS.ErrnoException).code ?? "error"})`);
      }
    }
  }
  if (e.AZUSA_AUDIT_CHECKPOINT_FILE && inDataDir(e, e.AZUSA_AUDIT_CHECKPOINT_FILE)) {
    problems.push(
      "AZUSA_AUDIT_CHECKPOINT_FILE: must be outside AZUSA_DATA_DIR, beyond the reach of whoever can write the database",
    );
  }
  if (!key && e.NODE_ENV === "production") {
    problems.push(
      "AZUSA_AUDIT_KEY: required in production (NODE_ENV=production): the audit chain's key, kept outside the database and the data directory (or AZUSA_AUDIT_KEY_FILE)",
    );
  }
  return key ?? DEVELOPMENT_AUDIT_KEY;
}

function parseDocker(value: string | undefined, problems: string[]): Config["docker"] {
  if (!value) return { socketPath: "/var/run/docker.sock" };
  if (value.startsWith("unix://")) return { socketPath: value.slice("unix://".length) };
  const m = /^tcp:\/\/([^:/]+):(\d+)\/?$/.exec(value);
  if (m?.[1] && m[2]) return { host: m[1], port: Number(m[2]), protocol: "http" };
  problems.push(`DOCKER_HOST: must be unix:///path or tcp://host:port, got "${value}"`);
  return { socketPath: "/var/run/docker.sock" };
}

/**
 * Reads and validates the settings. Throws a ConfigError naming every bad value, so that an
 * operator fixes them all in one go.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = Env.safeParse(env);
  const problems: string[] = [];
  const docker = parseDocker(env.DOCKER_HOST, problems);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const name = issue.path.join(".");
      const got = sensitive.has(name) ? undefined : env[name];
      problems.unshift(`${name}: ${issue.message}${got === undefined ? "" : ` (got "${got}")`}`);
    }
    throw new ConfigError(problems);
  }
  const e = parsed.data;
  const auditKey = readAuditKey(e, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    port: e.AZUSA_PORT,
    host: e.AZUSA_HOST,
    dataDir: e.AZUSA_DATA_DIR,
    storageDir: e.AZUSA_STORAGE_DIR ?? e.AZUSA_DATA_DIR,
    database: e.DATABASE_URL
      ? { dialect: "postgres", url: e.DATABASE_URL }
      : { dialect: "sqlite", file: `${e.AZUSA_DATA_DIR}/azusa.sqlite` },
    baseUrl: e.AZUSA_BASE_URL ?? `http://localhost:${e.AZUSA_PORT}`,
    secret: e.AZUSA_SECRET,
    logLevel: e.AZUSA_LOG_LEVEL,
    bodyLimit: e.AZUSA_BODY_LIMIT,
    wbsLimit: e.AZUSA_WBS_LIMIT,
    offerTtlHours: e.AZUSA_OFFER_TTL_HOURS,
    schedules: e.AZUSA_SCHEDULES === "on",
    templatesDir: e.AZUSA_TEMPLATES_DIR,
    trustProxy: e.AZUSA_TRUST_PROXY,
    signInLimit: e.AZUSA_SIGNIN_LIMIT,
    interest: { limit: e.AZUSA_INTEREST_LIMIT, retentionDays: e.AZUSA_INTEREST_RETENTION_DAYS },
    metricsToken: e.AZUSA_METRICS_TOKEN,
    brandLine: e.AZUSA_BRAND_LINE,
    webhookRetryMs: e.AZUSA_WEBHOOK_RETRY_MS,
    mail: e.AZUSA_SMTP_URL && e.AZUSA_MAIL_FROM ? { smtpUrl: e.AZUSA_SMTP_URL, from: e.AZUSA_MAIL_FROM } : undefined,
    webhookLoopback: e.AZUSA_WEBHOOK_LOOPBACK === "on",
    docker,
    gitImportDir: e.AZUSA_GIT_IMPORT_DIR,
    githubApiUrl: e.AZUSA_GITHUB_API_URL,
    egress: { proxyPort: e.AZUSA_EGRESS_PROXY_PORT, pool: e.AZUSA_EGRESS_SUBNETS },
    instanceId: e.AZUSA_INSTANCE_ID,
    warmPool: e.AZUSA_WARM_POOL,
    retentionDays: e.AZUSA_RETENTION_DAYS,
    taskHoldMs: Math.round(e.AZUSA_TASK_HOLD_MINUTES * 60_000),
    workspaceDiskMiB: e.AZUSA_WORKSPACE_DISK_MIB,
    imageBuild: e.AZUSA_IMAGE_BUILD === "on",
    audit: {
      key: auditKey,
      checkpointFile: checkpointFile(e),
      checkpointUrl: e.AZUSA_AUDIT_CHECKPOINT_URL ?? null,
      checkpointMs: Math.round(e.AZUSA_AUDIT_CHECKPOINT_SECONDS * 1000),
    },
    recordings: {
      sessionBytes: Math.round(e.AZUSA_RECORDING_MAX_MIB * 1024 * 1024),
      workspaceBytes: Math.round(e.AZUSA_RECORDING_WORKSPACE_MAX_MIB * 1024 * 1024),
    },
    ssh: {
      port: e.AZUSA_SSH_PORT,
      host: e.AZUSA_SSH_HOST,
      maxSessions: e.AZUSA_SSH_MAX_SESSIONS,
      idleMs: e.AZUSA_SSH_IDLE_MINUTES * 60_000,
      maxSessionMs: e.AZUSA_SSH_MAX_SESSION_HOURS * 3_600_000,
    },
    shutdownMs: e.AZUSA_SHUTDOWN_SECONDS * 1000,
    ide:
      e.AZUSA_IDE_PORT === "off" ? null : { port: e.AZUSA_IDE_PORT, url: e.AZUSA_IDE_URL?.replace(/\/$/, "") ?? null },
    testPauseAt: e.AZUSA_TEST_PAUSE_AT,
  };
}
