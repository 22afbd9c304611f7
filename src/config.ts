// The one place that reads the environment: every setting is validated here, with its default.
import { z } from "zod";

const port = z.coerce.number().int().min(0).max(65535);

const Env = z.object({
  AZUSA_PORT: port.default(8080).describe("HTTP port of the API and pages"),
  AZUSA_HOST: z.string().min(1).default("0.0.0.0").describe("address the HTTP server binds"),
  AZUSA_DATA_DIR: z.string().min(1).default("./data").describe("where SQLite and the session secret live"),
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
    .describe("signing secret for sessions; generated once and kept in the data directory when unset"),
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
    .describe("run the schedules (offer expiry every minute, vetting expiry daily at 00:05 Asia/Tokyo)"),
  AZUSA_TEMPLATES_DIR: z
    .string()
    .min(1)
    .optional()
    .describe("folder of *.devcontainer.json workspace templates; the built-in ones when unset"),
  AZUSA_TRUST_PROXY: z
    .enum(["true", "false"])
    .default("false")
    .transform((v) => v === "true")
    .describe("take the client address from X-Forwarded-For"),
  AZUSA_SIGNIN_LIMIT: z.coerce
    .number()
    .int()
    .positive()
    .default(10)
    .describe("sign-in attempts per address per minute"),
  AZUSA_METRICS_TOKEN: z
    .string()
    .min(16, "must be at least 16 characters")
    .optional()
    .describe("when set, /metrics asks for Authorization: Bearer <token>"),
  AZUSA_WEBHOOK_RETRY_MS: z.coerce
    .number()
    .int()
    .positive()
    .default(30_000)
    .describe(
      "wait before a failed webhook delivery's first retry; each later one waits twice as long, 6 attempts in all",
    ),
  AZUSA_WEBHOOK_LOOPBACK: z
    .enum(["on", "off"])
    .default("off")
    .describe("on lets webhooks point at this machine (a local relay, tests); private addresses are always refused"),
  DOCKER_HOST: z.string().optional().describe("Docker engine address (unix:// or tcp://); the local socket when unset"),
});

/** Settings whose values are never repeated in an error message: they hold credentials. */
const sensitive = new Set(["AZUSA_SECRET", "DATABASE_URL", "AZUSA_METRICS_TOKEN"]);

/** Validated settings of one Azusa process. */
export interface Config {
  port: number;
  host: string;
  dataDir: string;
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
  metricsToken: string | undefined;
  webhookRetryMs: number;
  webhookLoopback: boolean;
  docker: { socketPath: string } | { host: string; port: number; protocol: "http" | "https" };
}

/** Raised when the environment holds invalid settings; `problems` lists every one of them. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** The settings table, for the README and `azusa config`. */
export const settings = Object.entries(Env.shape).map(([name, schema]) => ({
  name,
  description: schema.description ?? "",
}));

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
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    port: e.AZUSA_PORT,
    host: e.AZUSA_HOST,
    dataDir: e.AZUSA_DATA_DIR,
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
    metricsToken: e.AZUSA_METRICS_TOKEN,
    webhookRetryMs: e.AZUSA_WEBHOOK_RETRY_MS,
    webhookLoopback: e.AZUSA_WEBHOOK_LOOPBACK === "on",
    docker,
  };
}
