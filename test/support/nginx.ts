// A real nginx in front of several Azusa processes on loopback, configured as the README's example.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCli, startServe } from "./cli.ts";

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

/**
 * `count` real `azusa serve` processes with the `shared` settings, each with a data directory of its own under
 * `root` and one SSH host key (a client may reach any of them); the first creates the operator `email`.
 */
export async function startServes(
  root: string,
  shared: Record<string, string>,
  { email, password, count = 3 }: { email: string; password: string; count?: number },
): Promise<{ child: ChildProcess; port: number }[]> {
  const dataDir = (i: number) => join(root, `data-${i}`);
  const created = await runCli(
    ["admin", "create", "--email", email],
    { ...shared, AZUSA_DATA_DIR: dataDir(0) },
    `${password}\n`,
  );
  if (created.code !== 0) throw new Error(`azusa admin create failed: ${created.stderr}`);
  const processes = [await startServe({ ...shared, AZUSA_DATA_DIR: dataDir(0) })];
  for (let i = 1; i < count; i++) {
    mkdirSync(dataDir(i), { recursive: true });
    copyFileSync(join(dataDir(0), "ssh_host_ed25519_key"), join(dataDir(i), "ssh_host_ed25519_key"));
    processes.push(await startServe({ ...shared, AZUSA_DATA_DIR: dataDir(i) }));
  }
  return processes;
}
