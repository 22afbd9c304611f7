// The gateway's session limits with the real OpenSSH client: an idle session ends, a busy one ends at the
// absolute limit, and a connection carries at most the allowed number of sessions at once.
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assignedWorkspaces, type Target, templatesFolder } from "./support/gateway-world.ts";
import { startTestAzusa, type TestAzusa } from "./support/harness.ts";
import { ensureTestImage } from "./support/images.ts";
import { run, sshArgs, sshHome } from "./support/ssh-client.ts";

describe("SSH session limits", () => {
  const docker = new Docker();
  let dir: string;
  let t: TestAzusa;
  let target: Target;
  let tenantId: string;
  let home: { dir: string; knownHosts: string };
  const args = (extra: string[] = []) =>
    sshArgs(
      { port: t.running.sshPort, key: target.key, knownHosts: home.knownHosts, user: `pkg-${target.packageId}` },
      extra,
    );

  beforeAll(async () => {
    const image = await ensureTestImage(docker);
    dir = templatesFolder(image);
    t = await startTestAzusa({
      env: {
        AZUSA_TEMPLATES_DIR: dir,
        AZUSA_SCHEDULES: "off",
        AZUSA_SSH_IDLE_MINUTES: "0.03", // 1.8 s
        AZUSA_SSH_MAX_SESSION_HOURS: "0.001", // 3.6 s
        AZUSA_SSH_MAX_SESSIONS: "1",
      },
    });
    home = sshHome(t.running.azusa.sshGateway.hostPublicKey, t.running.sshPort);
    const world = await assignedWorkspaces(t, dir, { workspaces: 1, engineers: 1 });
    tenantId = world.tenantId;
    target = world.targets[0] as Target;
  }, 120_000);

  afterAll(async () => {
    await t?.stop();
    for (const c of await docker.listContainers({ all: true, filters: { label: [`io.azusa.tenant=${tenantId}`] } }))
      await docker.getContainer(c.Id).remove({ force: true, v: true });
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (home) rmSync(home.dir, { recursive: true, force: true });
  });

  it("ends a session with neither input nor output for the idle time", async () => {
    const res = await run("ssh", [...args(), "echo waiting; sleep 60"]);
    expect(res.stdout.toString()).toBe("waiting\n");
    expect(res.stderr).toContain("azusa: session ended: idle timeout");
  }, 30_000);

  it("ends a busy session at the absolute limit", async () => {
    const res = await run("ssh", [...args(), "while true; do echo tick; sleep 0.5; done"]);
    expect(res.stdout.toString()).toMatch(/^(tick\n)+$/);
    expect(res.stderr).toContain("azusa: session ended: session time limit reached");
  }, 30_000);

  it("refuses a second session on one connection beyond the limit", async () => {
    const socket = join(home.dir, "mux");
    const master = spawn("ssh", [...args(["-M", "-S", socket, "-N"])], { stdio: "ignore" });
    try {
      await new Promise<void>((resolve, reject) => {
        const check = setInterval(async () => {
          const probe = await run("ssh", ["-S", socket, "-O", "check", "x"]);
          if (probe.code === 0) {
            clearInterval(check);
            resolve();
          }
        }, 100);
        master.once("exit", (code) => {
          clearInterval(check);
          reject(new Error(`the master connection ended: ${code}`));
        });
      });
      const first = spawn("ssh", [...args(["-S", socket]), "echo first; sleep 1"]);
      const firstDone = new Promise<number | null>((resolve) => first.on("close", resolve));
      await new Promise<void>((resolve) => first.stdout.once("data", () => resolve()));
      const second = await run("ssh", [...args(["-S", socket]), "echo second"]);
      // OpenSSH then falls back to a connection of its own, where the session is the first one.
      expect(second.stderr).toMatch(/session request failed|refused by peer|open failed/i);
      expect(await firstDone).toBe(0);
    } finally {
      master.kill();
    }
  }, 30_000);
});
