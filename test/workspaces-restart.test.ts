// Killing Azusa (SIGKILL) while it provisions a workspace, then starting it again: reconcile at start
// leaves no orphan container or volume and no record stuck in `provisioning`.
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exited, runCli, startServe, until } from "./support/cli.ts";
import { sweepInstance } from "./support/docker.ts";
import { Client, freePort, PASSWORD } from "./support/harness.ts";
import { ensureTestImage } from "./support/images.ts";
import { prepareWorkspaces } from "./support/workspace-setup.ts";

const docker = new Docker();

describe("a crash during provisioning", () => {
  const instance = `test-restart-${randomBytes(5).toString("hex")}`;
  const label = [`io.azusa.instance=${instance}`];
  let dataDir: string;
  let env: Record<string, string>;
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    const image = await ensureTestImage(docker);
    dataDir = mkdtempSync(join(tmpdir(), "azusa-restart-"));
    writeFileSync(
      join(dataDir, "default.devcontainer.json"),
      JSON.stringify({
        image,
        remoteUser: "azusa",
        customizations: { azusa: { resources: { cpus: 1, memoryMiB: 128, pids: 64 } } },
      }),
    );
    const port = await freePort();
    env = {
      AZUSA_DATA_DIR: dataDir,
      AZUSA_TEMPLATES_DIR: dataDir,
      AZUSA_PORT: String(port),
      AZUSA_BASE_URL: `http://127.0.0.1:${port}`,
      AZUSA_INSTANCE_ID: instance,
      AZUSA_SCHEDULES: "off",
      AZUSA_SIGNIN_LIMIT: "1000",
    };
    expect((await runCli(["admin", "create", "--email", "root@office.example"], env, PASSWORD)).code).toBe(0);
  });

  afterAll(async () => {
    if (child) {
      child.kill("SIGTERM");
      await exited(child);
    }
    await sweepInstance(docker, instance);
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it("leaves no orphan and no stuck record once Azusa starts again", { timeout: 120_000 }, async () => {
    const first = await startServe(env);
    child = first.child;
    const base = env.AZUSA_BASE_URL as string;
    const operator = new Client(base);
    expect(
      (await operator.post("/api/auth/sign-in/email", { email: "root@office.example", password: PASSWORD })).status,
    ).toBe(200);
    const s = await prepareWorkspaces(base, operator);

    const ws = await s.accept("2.3");
    expect(ws.state).toBe("provisioning");
    // the first object of the workspace on the engine: provisioning is under way, and is killed there
    await until("provisioning to touch the engine", async () =>
      (await docker.listContainers({ all: true, filters: { label } })).length > 0 ? true : undefined,
    );
    first.child.kill("SIGKILL");
    await exited(first.child);

    const second = await startServe(env);
    child = second.child;
    const sato = new Client(base);
    await sato.post("/api/auth/sign-in/email", { email: "sato@matsumoto.example", password: PASSWORD });
    const path = `/api/v1/packages/${s.pkg["2.3"]?.id}/workspace`;
    // Running comes before the checkout ends, and the package's store may still be filling beside it (a helper
    // container of its own): the objects are counted once the workspace's code is checked out.
    const settled = await until("the workspace to leave provisioning and its checkout to end", async () => {
      const now = await (await sato.get(path)).json();
      return now.state === "provisioning" || (now.state === "running" && now.checkout === "pending") ? undefined : now;
    });

    expect(settled).toMatchObject({ id: ws.id, state: "running", checkout: "done" });
    const containers = await docker.listContainers({ all: true, filters: { label } });
    expect(containers.map((c) => c.Labels["io.azusa.role"])).toEqual(["workspace"]);
    expect(containers[0]?.Labels["io.azusa.workspace"]).toBe(ws.id);
    const volumes = (await docker.listVolumes({ filters: { label } })).Volumes ?? [];
    expect(volumes.map((v) => v.Name)).toEqual([`azusa-ws-${ws.id}`]);
    const operatorAgain = new Client(base);
    await operatorAgain.post("/api/auth/sign-in/email", { email: "root@office.example", password: PASSWORD });
    const events: { action: string; details: { reconcile?: string } }[] = (
      await (await operatorAgain.get("/api/v1/audit-events?limit=30")).json()
    ).items;
    // either the half-made objects went and provisioning ran again, or the finished container was adopted
    const settledBy = events.find(
      (e) =>
        e.action === "workspace.resumed" || (e.action === "workspace.running" && e.details.reconcile === "adopted"),
    );
    expect(settledBy).toBeDefined();
  });
});
