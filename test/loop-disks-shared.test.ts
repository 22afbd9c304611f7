// A workspace's size-limited disk lives in a folder per engine host under the shared storage folder, not in the
// data directory of the process that made it: when that process dies (SIGKILL), another process on the same
// database destroys the workspace and releases its disk (loop device detached, file removed). Making and
// releasing a disk run under a lease, so a disk another live process works on is never released under it.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLoopDisks } from "../src/provisioner/loop-disks.ts";
import { until } from "./support/cli.ts";
import { sweepInstance } from "./support/docker.ts";
import { Client, PASSWORD, startTestAzusa, type TestAzusa } from "./support/harness.ts";
import { killHard, type Served, serveBeside, signInTo } from "./support/kill.ts";
import { prepareWorkspaces } from "./support/workspace-setup.ts";

const docker = new Docker();

/** The loop devices backed by `file`. */
const loopsOf = (file: string) =>
  execFileSync("losetup", ["--associated", file, "--noheadings", "--output", "NAME"], { encoding: "utf8" })
    .split("\n")
    .filter((l) => l.startsWith("/dev/"));

describe("loop disks shared by the processes on one database", () => {
  const instance = `test-disks-${randomBytes(5).toString("hex")}`;
  const storage = mkdtempSync(join(tmpdir(), "azusa-storage-"));
  const ownData = mkdtempSync(join(tmpdir(), "azusa-data-a-"));
  let t: TestAzusa;
  let a: Served | undefined;

  beforeAll(async () => {
    t = await startTestAzusa({
      dialect: "postgres",
      env: { AZUSA_STORAGE_DIR: storage, AZUSA_INSTANCE_ID: instance, AZUSA_SCHEDULES: "off" },
    });
    a = await serveBeside(t, { AZUSA_DATA_DIR: ownData, AZUSA_STORAGE_DIR: storage, AZUSA_INSTANCE_ID: instance });
  }, 120_000);

  afterAll(async () => {
    if (a) await killHard(a).catch(() => undefined);
    await t?.stop();
    await sweepInstance(docker, instance);
    rmSync(storage, { recursive: true, force: true });
    rmSync(ownData, { recursive: true, force: true });
  });

  it("a disk made by a process killed with SIGKILL is released by another process destroying its workspace", {
    timeout: 240_000,
  }, async () => {
    if (!a) throw new Error("the first process did not start");
    const operatorA = await signInTo(a, "root@office.example");
    const setup = await prepareWorkspaces(a.base, operatorA);
    const made = await setup.accept("2.3");
    const packageId = setup.pkg["2.3"]?.id;
    const ws = await until(
      "the workspace to run with its code checked out",
      async () => {
        const w = await (await setup.sato.get(`/api/v1/packages/${packageId}/workspace`)).json();
        return w.state === "running" && w.checkout === "done" ? w : undefined;
      },
      180_000,
    );
    expect(ws.id).toBe(made.id);
    const file = join(storage, "disks", "local", `azusa-ws-${ws.id}.ext4`);
    expect(existsSync(file)).toBe(true);
    expect(existsSync(join(ownData, "disks"))).toBe(false);
    expect(loopsOf(file)).toHaveLength(1);

    await killHard(a);
    a = undefined;

    const lead = new Client(t.base);
    expect(
      (await lead.post("/api/auth/sign-in/email", { email: "lead@tokyo-si.example", password: PASSWORD })).status,
    ).toBe(200);
    const destroyed = await lead.post(`/api/v1/workspaces/${ws.id}/destroy`, { reason: "package withdrawn" });
    expect(destroyed.status, await destroyed.clone().text()).toBe(200);
    expect((await destroyed.json()).state).toBe("destroyed");
    expect(loopsOf(file)).toEqual([]);
    expect(existsSync(file)).toBe(false);
    const left = await docker.listContainers({
      all: true,
      filters: { label: [`io.azusa.instance=${instance}`, `io.azusa.workspace=${ws.id}`] },
    });
    expect(left).toEqual([]);
  });

  it("a disk whose lease another live process holds is neither made nor released here", async () => {
    const dir = mkdtempSync(join(tmpdir(), "azusa-disks-"));
    try {
      const mine = createLoopDisks({ dir });
      const busy = createLoopDisks({ dir, lease: async () => false });
      const device = await mine.make("leased-disk", 64, { uid: 1000, gid: 1000 });
      const file = join(dir, "leased-disk.ext4");
      expect(device).toBe(join(dir, "leased-disk.dev"));
      await expect(busy.remove("leased-disk")).rejects.toThrow(
        "the disk of leased-disk is being made or released by another process",
      );
      expect(loopsOf(file)).toHaveLength(1);
      await expect(busy.make("other-disk", 64, { uid: 1000, gid: 1000 })).rejects.toThrow(/another process/);
      expect(existsSync(join(dir, "other-disk.ext4"))).toBe(false);
      await mine.remove("leased-disk");
      expect(existsSync(file)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
