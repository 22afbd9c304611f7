// A stop (SIGTERM) tells SSH clients why they are cut off, and never takes longer than AZUSA_SHUTDOWN_SECONDS.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";
import { afterEach, describe, expect, it } from "vitest";
import { RESTARTING } from "../../src/gateway/ssh-protocol.ts";
import { startServe } from "../support/cli.ts";
import { oneWorkspaceWorld } from "../support/gateway-world.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("stopping Azusa", () => {
  it("sends live SSH clients a disconnect message saying Azusa is restarting", async () => {
    const world = await oneWorkspaceWorld(new Docker());
    try {
      const child = spawn("ssh", [...world.args(), "echo started; sleep 600"]);
      let stdout = "";
      let stderr = "";
      child.stderr.on("data", (d: Buffer) => {
        stderr += d;
      });
      const exited = new Promise<number | null>((resolve) => child.once("close", resolve));
      await new Promise<void>((resolve, reject) => {
        child.stdout.on("data", (d: Buffer) => {
          stdout += d;
          if (stdout.includes("started")) resolve();
        });
        child.once("close", () => reject(new Error(`ssh ended before the session started: ${stderr}`)));
      });
      await world.t.running.stop();
      expect(await exited).toBe(255);
      // OpenSSH prints the server's description: "Received disconnect from 127.0.0.1 port N:11: <description>"
      expect(stderr).toContain(`:11: ${RESTARTING}`);
    } finally {
      await world.stop(); // a second stop awaits the first
    }
  });

  it("gives up on a request that never finishes once AZUSA_SHUTDOWN_SECONDS have passed, and exits 1", async () => {
    const dir = mkdtempSync(join(tmpdir(), "azusa-stop-"));
    dirs.push(dir);
    const server = await startServe({ AZUSA_DATA_DIR: dir, AZUSA_SHUTDOWN_SECONDS: "1", AZUSA_IMAGE_BUILD: "off" });
    const exited = new Promise<number | null>((resolve) => server.child.once("exit", resolve));
    // A client that announces a body and never sends it keeps its request in flight for ever.
    const socket = connect(server.port, "127.0.0.1");
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    socket.write(
      "POST /api/auth/sign-in/email HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{",
    );
    socket.on("error", () => {});
    // Another connection's request answered: the server is serving, and it has the first one's headers.
    await fetch(`http://127.0.0.1:${server.port}/healthz`);
    server.child.kill("SIGTERM");
    expect(await exited).toBe(1);
    expect(server.output()).toContain("shutdown took longer than AZUSA_SHUTDOWN_SECONDS");
    expect(server.output()).toContain('"pending":"requests in flight"');
    socket.destroy();
  });
});
