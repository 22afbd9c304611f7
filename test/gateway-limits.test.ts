// The gateway's session limits with the real OpenSSH client: an idle session ends, a busy one ends at the
// absolute limit, and a connection carries at most the allowed number of sessions at once.
import { spawn } from "node:child_process";
import { join } from "node:path";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GatewayWorld, oneWorkspaceWorld } from "./support/gateway-world.ts";
import { run } from "./support/ssh-client.ts";

describe("SSH session limits", () => {
  let world: GatewayWorld;
  const args = (extra: string[] = []) => world.args(extra);

  beforeAll(async () => {
    world = await oneWorkspaceWorld(new Docker(), {
      env: {
        AZUSA_SSH_IDLE_MINUTES: "0.03", // 1.8 s
        AZUSA_SSH_MAX_SESSION_HOURS: "0.001", // 3.6 s
        AZUSA_SSH_MAX_SESSIONS: "1",
      },
    });
  }, 120_000);

  afterAll(async () => {
    await world?.stop();
  });

  it("ends a session with neither input nor output for the idle time", async () => {
    const res = await run("ssh", [...args(), "echo waiting; sleep 60"]);
    expect(res.stdout.toString()).toBe("waiting\n");
    expect(res.stderr).toContain("azusa: 入力も出力もない時間が上限に達したため、セッションを終了しました");
  }, 30_000);

  it("ends a busy session at the absolute limit", async () => {
    const res = await run("ssh", [...args(), "while true; do echo tick; sleep 0.5; done"]);
    expect(res.stdout.toString()).toMatch(/^(tick\n)+$/);
    expect(res.stderr).toContain("azusa: セッションの時間の上限に達したため、終了しました");
  }, 30_000);

  it("refuses a second session on one connection beyond the limit", async () => {
    const socket = join(world.home.dir, "mux");
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
