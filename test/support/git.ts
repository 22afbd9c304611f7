// Runs the real git and docker CLIs the way a person at a terminal would, collecting what they print.
import { spawn } from "node:child_process";

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a program to its end; never throws on a non-zero exit (tests assert on it). */
export function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: Record<string, string> } = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      // No credential helper or prompt may answer for the test: what git is given is all it has.
      env: {
        ...process.env,
        GIT_TERMINAL_PROMPT: "0",
        GIT_ASKPASS: "/bin/false",
        GIT_CONFIG_NOSYSTEM: "1",
        ...opts.env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** A shell script run inside a workspace container as its user, in the workspace folder. */
export const inWorkspace = (containerId: string, script: string) =>
  run("docker", ["exec", "-w", "/workspace", containerId, "bash", "-euo", "pipefail", "-c", script]);
