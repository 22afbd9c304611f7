// A real nginx in front of several Azusa processes on loopback, configured as the README's example.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCli, startServe, until } from "./cli.ts";
import type { Office } from "./gateway-world.ts";
import { Client, PASSWORD } from "./harness.ts";

const NGINX = "/usr/sbin/nginx";

/** An nginx in `dir` listening on `port`, passing to `upstreams`, retrying idempotent requests on the next. */
export function startNginx(dir: string, port: number, upstreams: number[]): ChildProcess {
  const conf = join(dir, "nginx.conf");
  writeFileSync(
    conf,
    `daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream azusa {
${upstreams.map((p) => `    server 127.0.0.1:${p} max_fails=1 fail_timeout=60s;`).join("\n")}
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://azusa;
      proxy_http_version 1.1;
      proxy_set_header Host $http_host;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_next_upstream error timeout http_502 http_503;
      proxy_connect_timeout 2s;
    }
  }
}
`,
  );
  return spawn(NGINX, ["-p", dir, "-c", conf], { stdio: "ignore" });
}

/** What every process behind one nginx shares: database, storage folder, secret, instance id, public address. */
export function sharedSettings(databaseUrl: string, root: string, base: string): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    AZUSA_STORAGE_DIR: join(root, "storage"),
    AZUSA_SECRET: randomBytes(32).toString("base64url"),
    AZUSA_INSTANCE_ID: `azusa-multi-${randomBytes(4).toString("hex")}`,
    AZUSA_BASE_URL: base,
    AZUSA_TRUST_PROXY: "true",
    AZUSA_IMAGE_BUILD: "off",
    AZUSA_SIGNIN_LIMIT: "100000",
  };
}

/** One `azusa serve` behind the load balancer: its process, its HTTP port and its SSH gateway's port. */
export interface Serving {
  child: ChildProcess;
  port: number;
  sshPort: number;
}

/**
 * `count` real `azusa serve` processes with the `shared` settings, each with a data directory of its own under
 * `root` and one SSH host key (a client may reach any of them); the first creates the operator `email`.
 */
export async function startServes(
  root: string,
  shared: Record<string, string>,
  { email, password, count = 3 }: { email: string; password: string; count?: number },
): Promise<Serving[]> {
  const dataDir = (i: number) => join(root, `data-${i}`);
  const created = await runCli(
    ["admin", "create", "--email", email],
    { ...shared, AZUSA_DATA_DIR: dataDir(0) },
    `${password}\n`,
  );
  if (created.code !== 0) throw new Error(`azusa admin create failed: ${created.stderr}`);
  const serve = async (i: number): Promise<Serving> => {
    const served = await startServe({ ...shared, AZUSA_DATA_DIR: dataDir(i) });
    const sshPort = await until("the SSH gateway to listen", async () => {
      const m = /"port":(\d+)[^\n]*"msg":"ssh gateway listening"/.exec(served.output());
      return m?.[1] ? Number(m[1]) : undefined;
    });
    return { child: served.child, port: served.port, sshPort };
  };
  const processes = [await serve(0)];
  for (let i = 1; i < count; i++) {
    mkdirSync(dataDir(i), { recursive: true });
    copyFileSync(join(dataDir(0), "ssh_host_ed25519_key"), join(dataDir(i), "ssh_host_ed25519_key"));
    processes.push(await serve(i));
  }
  return processes;
}

/** The gateways' one host public key (every process has the same), as a known_hosts line holds it. */
export const hostPublicKey = (root: string) =>
  execFileSync("ssh-keygen", ["-y", "-f", join(root, "data-0", "ssh_host_ed25519_key")], { encoding: "utf8" }).trim();

/**
 * The office as a process at `base` serves it over HTTP only: tenants made by the operator `root@office.example`,
 * users by invitation and acceptance (a lead invited by the tenant's contractor, as only a contractor may);
 * requests name `publicBase` (the address the processes share, e.g. the load balancer's) as their origin.
 */
export function officeOverHttp(base: string, publicBase = base): Office {
  const headers = { origin: new URL(publicBase).origin };
  const signIn = async (email: string, password = PASSWORD) => {
    const client = new Client(base, headers);
    const res = await client.post("/api/auth/sign-in/email", { email, password });
    if (res.status !== 200) throw new Error(`sign-in of ${email} failed: ${res.status} ${await res.text()}`);
    return client;
  };
  const contractors = new Map<string, string>();
  return {
    signIn,
    async createTenant(name) {
      const res = await (await signIn("root@office.example")).post("/api/v1/tenants", { name });
      if (res.status !== 201) throw new Error(`creating tenant ${name}: ${res.status} ${await res.text()}`);
      return res.json();
    },
    async createUser(role, email, tenantId = null) {
      const by = role === "lead" ? contractors.get(tenantId ?? "") : "root@office.example";
      if (!by) throw new Error(`a lead of ${tenantId} is invited by its contractor: create one first`);
      const invited = await (await signIn(by)).post("/api/v1/invitations", { email, role, tenantId });
      if (invited.status !== 201) throw new Error(`inviting ${email}: ${invited.status} ${await invited.text()}`);
      const { token } = await invited.json();
      const accepted = await new Client(base, headers).post("/api/v1/invitations/accept", {
        token,
        name: email.split("@")[0] ?? email,
        password: PASSWORD,
      });
      if (accepted.status !== 201) throw new Error(`accepting ${email}: ${accepted.status} ${await accepted.text()}`);
      if (role === "contractor" && tenantId) contractors.set(tenantId, email);
      const user = await accepted.json();
      return { id: user.id, email: user.email };
    },
  };
}
