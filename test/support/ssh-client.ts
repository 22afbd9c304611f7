// Drives the real OpenSSH client (and PuTTY's plink) against Azusa's SSH gateway: key files, a
// known_hosts file holding the gateway's host key, and one function that runs a command and collects all.
import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";

/** A key pair on disk, made by the real ssh-keygen; `publicKey` is the line to register. */
export interface KeyFile {
  path: string;
  publicKey: string;
}

/** A fresh ed25519 key in `dir` named `name` (private key mode 0600). */
export function keyFile(dir: string, name: string): KeyFile {
  const path = join(dir, name);
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", `${name}@matsumoto`, "-f", path]);
  return { path, publicKey: execFileSync("ssh-keygen", ["-y", "-f", path], { encoding: "utf8" }).trim() };
}

/** A scratch folder with a known_hosts file that trusts the gateway's host key on `port`. */
export function sshHome(hostPublicKey: string, port: number): { dir: string; knownHosts: string } {
  const dir = mkdtempSync(join(tmpdir(), "azusa-ssh-"));
  const knownHosts = join(dir, "known_hosts");
  writeFileSync(knownHosts, `[127.0.0.1]:${port} ${hostPublicKey}\n`);
  return { dir, knownHosts };
}

export interface Run {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** Runs `command` (with `env`, default ours) and collects its output; `input` is written to its stdin (then closed). */
export function run(
  command: string,
  args: string[],
  input?: Buffer | string | Readable,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"], env });
    const out: Buffer[] = [];
    let err = "";
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout: Buffer.concat(out), stderr: err }));
    child.stdin.on("error", () => undefined);
    if (input === undefined) child.stdin.end();
    else if (typeof input === "string" || Buffer.isBuffer(input)) child.stdin.end(input);
    else input.pipe(child.stdin);
  });
}

/** The OpenSSH client's arguments for one login as `user` with `key`; `extra` go before the destination. */
export function sshArgs(
  o: { port: number; key: string; knownHosts: string; user: string },
  extra: string[] = [],
): string[] {
  return [
    "-F",
    "/dev/null",
    "-p",
    String(o.port),
    "-i",
    o.key,
    "-o",
    "IdentitiesOnly=yes",
    "-o",
    "IdentityAgent=none",
    "-o",
    `UserKnownHostsFile=${o.knownHosts}`,
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    "BatchMode=yes",
    "-o",
    "LogLevel=ERROR",
    ...extra,
    `${o.user}@127.0.0.1`,
  ];
}

/**
 * `ssh` with `args` (forwards among them) running `echo ready; exec sleep 600`, resolved once it printed
 * "ready": OpenSSH binds local forwards (-L, -D) before it opens the session, so by then they listen.
 */
export async function holdingForwards(args: string[]): Promise<ChildProcessWithoutNullStreams> {
  const child = spawn("ssh", [...args, "echo ready; exec sleep 600"]) as ChildProcessWithoutNullStreams;
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.once("data", () => resolve());
    child.once("close", (code) => reject(new Error(`ssh ended (${code}): ${stderr}`)));
  });
  return child;
}
