// Runs the real `azusa` command as a user would, with a chosen environment.
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export const AZUSA_BIN = fileURLToPath(new URL("../../bin/azusa.js", import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `azusa ...args` to completion, feeding `input` on standard input. */
export function runCli(args: string[], env: Record<string, string>, input = ""): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [AZUSA_BIN, ...args], {
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/root", ...env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

/** Starts `azusa serve` and resolves once it logs that it listens, with the port it bound. */
export function startServe(
  env: Record<string, string>,
): Promise<{ child: ChildProcess; port: number; output: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [AZUSA_BIN, "serve"], {
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "/root",
        AZUSA_HOST: "127.0.0.1",
        AZUSA_PORT: "0",
        // free ports for the SSH gateway and the IDE listener too: tests that serve at once must not collide
        AZUSA_SSH_HOST: "127.0.0.1",
        AZUSA_SSH_PORT: "0",
        AZUSA_IDE_PORT: "0",
        ...env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    const onData = (d: Buffer) => {
      out += d;
      const m = /"port":(\d+).*"msg":"azusa listening"/.exec(out);
      if (m?.[1]) resolve({ child, port: Number(m[1]), output: () => out });
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", (code) => reject(new Error(`azusa serve exited with ${code}:\n${out}`)));
  });
}

/** Polls `check` until it returns a value, failing after `ms` with what it waited for. */
export async function until<T>(what: string, check: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Resolves once `child` has exited (at once if it already has). */
export const exited = (child: ChildProcess) =>
  new Promise<void>((resolve) =>
    child.exitCode !== null || child.signalCode !== null ? resolve() : child.once("exit", () => resolve()),
  );
