// A throwaway PostgreSQL cluster of one test's own (initdb, pg_ctl) on a loopback port: a test may stop and
// start it, as an operator restarting the database would, without disturbing the cluster other tests share.
import { execFile, execFileSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "./harness.ts";

const bin = (name: string) => {
  for (const version of ["17", "16", "15", "14"]) {
    const path = `/usr/lib/postgresql/${version}/bin/${name}`;
    if (existsSync(path)) return path;
  }
  throw new Error(`PostgreSQL's ${name} is not installed; run \`bash infra/setup.sh --for-tests\``);
};

export interface PrivatePostgres {
  /** `postgres://azusa@127.0.0.1:<port>/postgres` (trust authentication, loopback only). */
  url: string;
  /** Stops the server the way an operator's restart does (`pg_ctl stop -m fast`: sessions are terminated). */
  stop(): Promise<void>;
  /** Starts it again on the same port; resolves when it accepts connections. */
  start(): Promise<void>;
  /** Stops it for good and removes its files. */
  remove(): Promise<void>;
}

/** initdb as the `postgres` user (PostgreSQL refuses to run as root) into a temp folder, then starts it. */
export async function privatePostgres(): Promise<PrivatePostgres> {
  const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
  const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
  const dir = mkdtempSync(join(tmpdir(), "azusa-pg-"));
  chownSync(dir, uid, gid);
  const data = join(dir, "data");
  const port = await freePort();
  const as = { uid, gid, env: { LANG: "C.UTF-8", PATH: process.env.PATH ?? "" } };
  execFileSync(bin("initdb"), ["-D", data, "-U", "azusa", "--auth=trust", "--no-sync"], { ...as, stdio: "pipe" });
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
  const pgCtl = async (args: string[]) => {
    await promisify(execFile)(bin("pg_ctl"), ["-D", data, ...args], as);
  };
  const start = () => pgCtl(["-o", options, "-l", join(dir, "log"), "-w", "start"]);
  const stop = () => pgCtl(["-m", "fast", "-w", "stop"]);
  await start();
  return {
    url: `postgres://azusa@127.0.0.1:${port}/postgres`,
    stop,
    start,
    async remove() {
      await stop().catch(() => {}); // already stopped
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
