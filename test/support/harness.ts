// Starts a real Azusa on port 0 with a throwaway database and drives it over HTTP like a client would.
import { type AddressInfo, createServer } from "node:net";
import { Writable } from "node:stream";
import { loadConfig } from "../../src/config.ts";
import type { Role } from "../../src/kernel/actor.ts";
import { system } from "../../src/kernel/actor.ts";
import { createLogger } from "../../src/logger.ts";
import { type BuildOptions, loadInstanceId, type Running, startAzusa } from "../../src/server.ts";
import { createTestDatabase, type TestDialect } from "./databases.ts";
import { sweepAfterTest } from "./docker.ts";

export const PASSWORD = "matsumoto-castle-1594";

/** A response whose JSON body tests read freely. */
// biome-ignore lint/suspicious/noExplicitAny: tests assert on the shape of bodies they read.
export type ApiResponse = Omit<Response, "json"> & { json(): Promise<any> };

/** A caller with a cookie jar (or an API key), speaking JSON. */
export class Client {
  cookie = "";
  readonly headers: Record<string, string>;
  /** `headers` are sent with every request; like a browser, the client names its origin (the base URL). */
  constructor(
    readonly base: string,
    headers: Record<string, string> = {},
  ) {
    this.headers = { origin: new URL(base).origin, ...headers };
  }

  async request(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<ApiResponse> {
    const init: RequestInit = {
      method,
      headers: {
        ...this.headers,
        ...(this.cookie ? { cookie: this.cookie } : {}),
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        ...headers,
      },
      body:
        body === undefined
          ? undefined
          : typeof body === "string" || body instanceof Uint8Array
            ? body
            : JSON.stringify(body),
    };
    const res = await fetch(`${this.base}${path}`, init);
    const set = res.headers.getSetCookie();
    if (set.length) {
      const jar = new Map(this.cookie ? this.cookie.split("; ").map((kv) => kv.split("=", 2) as [string, string]) : []);
      for (const line of set) {
        const [kv] = line.split(";");
        const [k, v] = (kv ?? "").split("=", 2);
        if (k) jar.set(k, v ?? "");
      }
      this.cookie = [...jar]
        .filter(([, v]) => v)
        .map(([k, v]) => `${k}=${v}`)
        .join("; ");
    }
    return res as unknown as ApiResponse;
  }
  get = (path: string) => this.request("GET", path);
  post = (path: string, body?: unknown) => this.request("POST", path, body ?? {});
  put = (path: string, body?: unknown) => this.request("PUT", path, body ?? {});
  patch = (path: string, body?: unknown) => this.request("PATCH", path, body ?? {});
  delete = (path: string) => this.request("DELETE", path);
}

export interface TestAzusa {
  running: Running;
  base: string;
  /** The database and data directory settings, for a second process on them (`alongside`). */
  dbEnv: Record<string, string>;
  logs: string[];
  anonymous(): Client;
  signIn(email: string, password?: string): Promise<Client>;
  createOperator(email: string): Promise<{ id: string; email: string }>;
  /** Creates a user of `role` the way production does: an invitation, then its acceptance. */
  createUser(role: Role, email: string, tenantId?: string | null): Promise<{ id: string; email: string }>;
  createTenant(name: string): Promise<{ id: string; name: string }>;
  stop(): Promise<void>;
}

/** A TCP port nobody listens on now, for a server that must know its address before it starts. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * A running Azusa with its own database; `env` adds or overrides settings. `alongside`: another process on the
 * same PostgreSQL database and data directory as that one (its operator is shared; stopping it drops nothing).
 */
export async function startTestAzusa({
  dialect = "sqlite",
  env = {},
  alongside,
  tuning = {},
}: {
  dialect?: TestDialect;
  env?: Record<string, string>;
  alongside?: TestAzusa;
  /** The fallbacks of revocation across processes (the credential cache, the sessions' periodic check). */
  tuning?: Omit<BuildOptions, "logger">;
} = {}): Promise<TestAzusa> {
  const db = alongside ? { env: alongside.dbEnv, drop: async () => {} } : await createTestDatabase(dialect);
  // The port is chosen first so that the base URL, and with it the trusted origin, is the real one.
  const port = await freePort();
  const config = loadConfig({
    AZUSA_PORT: String(port),
    AZUSA_HOST: "127.0.0.1",
    AZUSA_BASE_URL: `http://127.0.0.1:${port}`,
    AZUSA_SIGNIN_LIMIT: "1000",
    AZUSA_SSH_PORT: "0",
    AZUSA_SSH_HOST: "127.0.0.1",
    // each Azusa of the tests its own IDE listener, at http://{package}.ide.localhost:<its port>
    AZUSA_IDE_PORT: "0",
    AZUSA_LOG_LEVEL: "info",
    // tests that need the Debian base image build it once (ensureBaseImage), not every Azusa they start
    AZUSA_IMAGE_BUILD: "off",
    ...db.env,
    ...env,
  });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const running = await startAzusa(config, {
    logger: createLogger({ level: config.logLevel, destination: sink }),
    ...tuning,
  });
  const base = `http://127.0.0.1:${running.port}`;
  const { accounts, tenants } = running.azusa;
  const cli = system("test");
  // The office's first operator, made as `azusa admin create` makes it; it sends the harness's invitations.
  const root = alongside
    ? await running.azusa.db.kysely
        .selectFrom("user")
        .select(["id", "email"])
        .where("email", "=", "root@office.example")
        .executeTakeFirstOrThrow()
    : await accounts.createOperator(cli, { email: "root@office.example", name: "root", password: PASSWORD });
  const operator = {
    kind: "user",
    userId: root.id,
    email: root.email,
    role: "operator",
    tenantId: null,
    via: "session",
  } as const;

  const t: TestAzusa = {
    running,
    base,
    dbEnv: db.env,
    logs,
    anonymous: () => new Client(base),
    async signIn(email, password = PASSWORD) {
      const client = new Client(base);
      const res = await client.post("/api/auth/sign-in/email", { email, password });
      if (res.status !== 200) throw new Error(`sign-in of ${email} failed: ${res.status} ${await res.text()}`);
      return client;
    },
    async createOperator(email) {
      const u = await accounts.createOperator(cli, { email, name: email.split("@")[0] ?? email, password: PASSWORD });
      return { id: u.id, email: u.email };
    },
    async createUser(role, email, tenantId = null) {
      const inviter = role === "lead" ? { ...operator, role: "contractor" as const, tenantId } : operator;
      const inv = await accounts.invite(inviter, { email, role, tenantId });
      const u = await accounts.acceptInvitation({
        token: inv.token,
        name: email.split("@")[0] ?? email,
        password: PASSWORD,
      });
      return { id: u.id, email: u.email };
    },
    async createTenant(name) {
      return tenants.create(cli, { name });
    },
    async stop() {
      await running.stop();
      if (alongside) return;
      await sweepAfterTest(loadInstanceId(config));
      await db.drop();
    },
  };
  return t;
}
