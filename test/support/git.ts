// Runs the real git and docker CLIs the way a person at a terminal would, collecting what they print.
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

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

/**
 * A scratch folder for a forge test: `templates/` with a "default" template on `image` (small resources)
 * and `imports/`, the folder Azusa may import contracts' source repositories from.
 */
export function forgeFolders(prefix: string, image: string): { dir: string; templates: string; imports: string } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const templates = join(dir, "templates");
  const imports = join(dir, "imports");
  mkdirSync(templates);
  mkdirSync(imports);
  writeFileSync(
    join(templates, "default.devcontainer.json"),
    JSON.stringify({
      image,
      remoteUser: "azusa",
      customizations: { azusa: { resources: { cpus: 1, memoryMiB: 256, pids: 256 } } },
    }),
  );
  return { dir, templates, imports };
}

/**
 * A contract's source repository: `files` (path → content) committed once with `message` by the prime
 * contractor in a scratch checkout at `work`, then cloned bare to `bare`.
 */
export async function sourceRepository(
  work: string,
  bare: string,
  files: Record<string, string | Buffer>,
  message: string,
): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(work, path)), { recursive: true });
    writeFileSync(join(work, path), content);
  }
  const g = (...args: string[]) =>
    run("git", ["-c", "user.name=Tokyo SI", "-c", "user.email=dev@tokyo-si.example", ...args], { cwd: work });
  for (const step of [
    ["init", "-q", "-b", "main"],
    ["add", "."],
    ["commit", "-q", "-m", message],
  ]) {
    const r = await g(...step);
    if (r.code !== 0) throw new Error(`git ${step[0]} failed: ${r.stderr}`);
  }
  const r = await run("git", ["clone", "-q", "--bare", work, bare]);
  if (r.code !== 0) throw new Error(`git clone failed: ${r.stderr}`);
}
