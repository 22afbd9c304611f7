// The Docker driver against the real engine: the shared contract, then what the hardening looks like from both sides.
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureTestImage } from "../../test/support/images.ts";
import { loadConfig } from "../config.ts";
import { createDockerDriver, resolveIdentity, STDIN_BUFFER } from "./docker-driver.ts";
import { createDockerClient } from "./docker-engine.ts";
import { contractTenantId, runDriverContract } from "./driver.contract.ts";
import { STORE_FOLDER, type WorkspaceRef, type WorkspaceSpec } from "./driver.ts";
import { createLoopDisks } from "./loop-disks.ts";

const docker = createDockerClient(loadConfig({ DOCKER_HOST: process.env.DOCKER_HOST }).docker);
/** This file's own instance id: other test files and Azusas on the same engine never see its objects. */
const instance = `test-${randomBytes(6).toString("hex")}`;

/** A missing engine fails these tests, in CI and here alike: a skipped driver test proves nothing. */
async function requireEngine(): Promise<void> {
  try {
    await docker.ping();
  } catch (err) {
    throw new Error(
      `the Docker engine is not reachable (${(err as Error).message}); start it with \`bash infra/setup.sh --for-tests\``,
    );
  }
}

/** Removes every container and volume carrying `label`, whatever state a failed test left them in. */
async function sweep(label: string): Promise<void> {
  const containers = await docker.listContainers({ all: true, filters: { label: [label] } });
  for (const c of containers)
    await docker
      .getContainer(c.Id)
      .remove({ force: true })
      .catch(() => undefined);
  const { Volumes } = await docker.listVolumes({ filters: { label: [label] } });
  for (const v of Volumes ?? [])
    await docker
      .getVolume(v.Name)
      .remove()
      .catch(() => undefined);
}

runDriverContract("docker", async () => {
  await requireEngine();
  const image = await ensureTestImage(docker);
  return {
    driver: createDockerDriver({ docker, instance }),
    image,
    cleanup: () => sweep(`io.azusa.tenant=${contractTenantId}`),
  };
});

describe("docker driver hardening", () => {
  const tenantId = `hardening-${randomBytes(4).toString("hex")}`;
  const driver = createDockerDriver({ docker, instance });
  let image = "";
  let counter = 0;

  const spec = (overrides: Partial<WorkspaceSpec> = {}): WorkspaceSpec => ({
    id: `${tenantId}-${++counter}`,
    tenantId,
    packageId: "pkg-hardening",
    image,
    user: "azusa",
    env: {},
    resources: { cpus: 0.5, memoryMiB: 128, pids: 64 },
    readOnlyRootFs: true,
    workspaceFolder: "/workspace",
    ...overrides,
  });

  async function run(ref: WorkspaceRef, cmd: string[]): Promise<{ stdout: string; code: number | null }> {
    const session = await driver.exec(ref, { cmd, tty: false });
    session.stdin.end();
    session.stderr?.resume();
    let stdout = "";
    session.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    const { code } = await session.exit;
    return { stdout, code };
  }

  beforeAll(async () => {
    await requireEngine();
    image = await ensureTestImage(docker);
  });

  afterAll(async () => {
    if (image) await sweep(`io.azusa.tenant=${tenantId}`); // no image: the engine never answered
  });

  it("the container is confined as configured: caps, privileges, limits, network, mounts", async () => {
    const ref = await driver.create(spec());
    const info = await docker.getContainer(ref.containerId).inspect();
    const host = info.HostConfig as Docker.HostConfig & { Init?: boolean; Devices?: unknown[] | null };
    expect(host.CapDrop).toEqual(["ALL"]);
    expect(host.CapAdd ?? []).toEqual([]);
    expect(host.SecurityOpt).toContain("no-new-privileges:true");
    expect(host.SecurityOpt?.some((o: string) => o.startsWith("seccomp"))).toBe(false);
    expect(host.Privileged).toBe(false);
    expect(host.PidsLimit).toBe(64);
    expect(host.Memory).toBe(128 * 1024 * 1024);
    expect(host.MemorySwap).toBe(host.Memory);
    expect(host.NanoCpus).toBe(500_000_000);
    expect(host.NetworkMode).toBe("none");
    expect(host.PidMode ?? "").toBe("");
    expect(host.UsernsMode ?? "").toBe("");
    expect(host.IpcMode).not.toBe("host");
    expect(host.Init).toBe(true);
    expect(host.ReadonlyRootfs).toBe(true);
    expect(Object.keys(host.Tmpfs ?? {}).sort()).toEqual(["/home/azusa", "/run", "/tmp"]);
    expect(host.Binds ?? []).toEqual([]);
    expect(host.Devices ?? []).toEqual([]);
    expect(host.PortBindings ?? {}).toEqual({});
    expect(host.PublishAllPorts).toBe(false);
    expect(info.Mounts.map((m) => ({ type: m.Type, name: m.Name, to: m.Destination }))).toEqual([
      { type: "volume", name: ref.volume, to: "/workspace" },
    ]);
    expect(info.Mounts.some((m) => m.Source.includes("docker.sock"))).toBe(false);
    expect(info.Config.User).toBe("1000:1000");
    expect(info.Config.ExposedPorts ?? {}).toEqual({});
  });

  it("ReadonlyRootfs follows the spec", async () => {
    const ref = await driver.create(spec({ readOnlyRootFs: false }));
    const info = await docker.getContainer(ref.containerId).inspect();
    expect(info.HostConfig.ReadonlyRootfs).toBe(false);
  });

  it("inside, the process has no capabilities, no new privileges, seccomp on and only loopback", async () => {
    const ref = await driver.create(spec());
    await driver.start(ref);
    const status = await run(ref, ["cat", "/proc/self/status"]);
    expect(status.stdout).toMatch(/^CapEff:\s+0000000000000000$/m);
    expect(status.stdout).toMatch(/^CapPrm:\s+0000000000000000$/m);
    expect(status.stdout).toMatch(/^NoNewPrivs:\s+1$/m);
    expect(status.stdout).toMatch(/^Seccomp:\s+2$/m); // 2: the engine's default filter is loaded
    const net = await run(ref, ["cat", "/proc/net/dev"]);
    const interfaces = net.stdout
      .split("\n")
      .slice(2)
      .map((line) => line.split(":")[0]?.trim())
      .filter(Boolean);
    expect(interfaces).toEqual(["lo"]);
  });

  it("inside, the root filesystem is read-only while /tmp and the home directory are writable", async () => {
    const ref = await driver.create(spec());
    await driver.start(ref);
    expect((await run(ref, ["touch", "/etc/x"])).code).not.toBe(0);
    expect((await run(ref, ["touch", "/tmp/x", "/home/azusa/x", "/workspace/x"])).code).toBe(0);
  });

  it("a missing image fails with NOT_FOUND and leaves no container or volume behind", async () => {
    const s = spec({ image: "azusa-test/no-such-image:1" });
    await expect(driver.create(s)).rejects.toMatchObject({ code: "NOT_FOUND" });
    const label = `io.azusa.workspace=${s.id}`;
    expect(await docker.listContainers({ all: true, filters: { label: [label] } })).toEqual([]);
    expect((await docker.listVolumes({ filters: { label: [label] } })).Volumes ?? []).toEqual([]);
  });

  it("destroy removes the named volume from the engine", async () => {
    const ref = await driver.create(spec());
    await driver.destroy(ref);
    await expect(docker.getVolume(ref.volume).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  it("a package's object store is shared read-only by its workspaces, filled from outside, and goes with the last", async () => {
    const pkg = `pkg-store-${randomBytes(4).toString("hex")}`;
    const a = await driver.create(spec({ packageId: pkg, store: STORE_FOLDER }));
    const b = await driver.create(spec({ packageId: pkg, store: STORE_FOLDER }));
    const other = await driver.create(spec({ packageId: `${pkg}-other`, store: STORE_FOLDER }));
    for (const ref of [a, b, other]) await driver.start(ref);
    const files = mkdtempSync(join(tmpdir(), "azusa-store-"));
    try {
      writeFileSync(join(files, "ready-x"), "filled\n");
      await driver.fillStore(a, () => spawn("tar", ["-c", "-C", files, "ready-x"]).stdout);
    } finally {
      rmSync(files, { recursive: true, force: true });
    }
    // Both workspaces of the package see it; neither can write there; the other package's store is another.
    for (const ref of [a, b]) {
      expect((await run(ref, ["cat", `${STORE_FOLDER}/ready-x`])).stdout).toBe("filled\n");
      expect((await run(ref, ["touch", `${STORE_FOLDER}/y`])).code).not.toBe(0);
    }
    expect((await run(other, ["cat", `${STORE_FOLDER}/ready-x`])).code).not.toBe(0);
    // Destroying one workspace keeps the store the other still mounts; the last takes it along.
    const store = (await docker.getContainer(a.containerId).inspect()).Mounts.find(
      (m) => m.Destination === STORE_FOLDER,
    )?.Name as string;
    await driver.destroy(a);
    expect((await run(b, ["cat", `${STORE_FOLDER}/ready-x`])).stdout).toBe("filled\n");
    await driver.destroy(b);
    await expect(docker.getVolume(store).inspect()).rejects.toMatchObject({ statusCode: 404 });
    await driver.destroy(other);
    // A workspace without a store has nothing to fill.
    const bare = await driver.create(spec());
    await expect(driver.fillStore(bare, () => spawn("tar", ["-c", "-T", "/dev/null"]).stdout)).rejects.toMatchObject({
      code: "INVALID_STATE",
    });
    await driver.destroy(bare);
  });

  it("fills a package's object store before its workspace starts, and leaves a filled one as it is", async () => {
    const pkg = `pkg-fill-${randomBytes(4).toString("hex")}`;
    const ref = await driver.create(spec({ packageId: pkg, store: STORE_FOLDER }));
    const files = mkdtempSync(join(tmpdir(), "azusa-store-"));
    const tarOf = (name: string) => () => spawn("tar", ["-c", "-C", files, name]).stdout;
    try {
      writeFileSync(join(files, "ready-x"), "first\n");
      // created, not started: the store is filled while the container starts
      expect(await driver.fillStore(ref, tarOf("ready-x"), { unless: "ready-x" })).toBe(true);
      writeFileSync(join(files, "ready-x"), "second\n");
      expect(await driver.fillStore(ref, tarOf("ready-x"), { unless: "ready-x" })).toBe(false);
      await expect(driver.fillStore(ref, tarOf("ready-x"), { unless: "../ready-x" })).rejects.toThrow(
        /not a path in the store/,
      );
      await driver.start(ref);
      expect((await run(ref, ["cat", `${STORE_FOLDER}/ready-x`])).stdout).toBe("first\n");
      // without `unless`, the file is replaced
      expect(await driver.fillStore(ref, tarOf("ready-x"))).toBe(true);
      expect((await run(ref, ["cat", `${STORE_FOLDER}/ready-x`])).stdout).toBe("second\n");
    } finally {
      rmSync(files, { recursive: true, force: true });
      await driver.destroy(ref);
    }
  });

  it("a folder the image already gives the user needs no helper: the engine's copy-up hands it over", async () => {
    const s = spec({ workspaceFolder: "/home/azusa" }); // the test image's home belongs to azusa
    const since = Math.floor(Date.now() / 1000) - 1;
    const ref = await driver.create(s);
    await driver.start(ref);
    expect((await run(ref, ["stat", "-c", "%u:%g", "/home/azusa"])).stdout).toBe("1000:1000\n");
    expect((await run(ref, ["touch", "/home/azusa/x"])).code).toBe(0);
    const stream = await docker.getEvents({
      since,
      until: Math.floor(Date.now() / 1000) + 1,
      filters: { type: ["container"], event: ["create"], label: [`io.azusa.workspace=${s.id}`] },
    });
    let text = "";
    for await (const chunk of stream) text += chunk.toString();
    const roles = text
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line).Actor.Attributes["io.azusa.role"]);
    expect(roles).not.toContain("prepare");
    expect(roles).toContain("workspace");
  });

  it("a folder the image does not give the user is prepared by the helper", async () => {
    const s = spec({ workspaceFolder: "/srv/work" });
    const ref = await driver.create(s);
    await driver.start(ref);
    expect((await run(ref, ["stat", "-c", "%u:%g", "/srv/work"])).stdout).toBe("1000:1000\n");
  });

  it("list and inventory see only their own instance's objects", async () => {
    const other = createDockerDriver({ docker, instance: `${instance}-other` });
    const theirs = await other.create(spec());
    try {
      const ids = [...(await driver.list()).map((w) => w.containerId), ...(await driver.inventory()).map((o) => o.id)];
      expect(ids).not.toContain(theirs.containerId);
      expect(ids).not.toContain(theirs.volume);
      expect((await other.inventory()).map((o) => o.id).sort()).toEqual([theirs.containerId, theirs.volume].sort());
    } finally {
      await other.destroy(theirs);
    }
  });

  it("a signal reaches the command's process on a local engine; a remote engine and an ended command decline", async () => {
    const ref = await driver.create(spec());
    await driver.start(ref);
    const started = async (d: typeof driver) => {
      const session = await d.exec(ref, { cmd: ["/bin/sh", "-c", "echo up; exec sleep 60"], tty: false });
      session.stderr?.resume();
      await new Promise((resolve) => session.stdout.once("data", resolve));
      return session;
    };
    const remote = await started(createDockerDriver({ docker, instance, localEngine: false }));
    expect(await remote.signal?.("INT")).toEqual({ delivered: false, reason: "the engine is remote" });
    const local = await started(driver);
    expect(await local.signal?.("TERM")).toEqual({ delivered: true });
    expect(await local.exit).toEqual({ code: 143, signal: null });
    expect(await local.signal?.("TERM")).toEqual({ delivered: false, reason: "the command has ended" });
    expect(await remote.signal?.("KILL")).toEqual({ delivered: false, reason: "the engine is remote" });
    remote.stdout.resume();
    await driver.destroy(ref);
  });

  it("input is taken without waiting for the engine, up to its buffer, and every byte arrives", async () => {
    const ref = await driver.create(spec());
    await driver.start(ref);
    const session = await driver.exec(ref, { cmd: ["/bin/sh", "-c", "wc -c"], tty: false });
    session.stderr?.resume();
    let out = "";
    session.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    // SSH hands input over in 32 KiB packets: below the buffer, none of them is told to wait.
    const packet = Buffer.alloc(32 * 1024, "x");
    const count = Math.floor(STDIN_BUFFER / packet.length) - 1;
    const told = Array.from({ length: count }, () => session.stdin.write(packet));
    expect(told).toEqual(Array(count).fill(true));
    session.stdin.end();
    expect((await session.exit).code).toBe(0);
    expect(out.trim()).toBe(String(count * packet.length));
  });

  it("no helper container outlives create", async () => {
    const s = spec();
    await driver.create(s);
    const left = await docker.listContainers({ all: true, filters: { label: [`io.azusa.workspace=${s.id}`] } });
    expect(left.map((c) => c.Labels["io.azusa.role"])).toEqual(["workspace"]);
  });
});

describe("size-limited workspace volumes", () => {
  const tenantId = `disk-${randomBytes(4).toString("hex")}`;
  const dir = mkdtempSync(join(tmpdir(), "azusa-disks-"));
  const disks = createLoopDisks({ dir });
  const driver = createDockerDriver({ docker, instance, disks });
  const made: WorkspaceRef[] = [];
  let image = "";
  let counter = 0;

  const spec = (diskMiB: number): WorkspaceSpec => ({
    id: `${tenantId}-${++counter}`,
    tenantId,
    packageId: "pkg-disk",
    image,
    user: "azusa",
    env: {},
    resources: { cpus: 0.5, memoryMiB: 128, pids: 64, diskMiB },
    readOnlyRootFs: true,
    workspaceFolder: "/workspace",
  });

  async function make(diskMiB: number): Promise<WorkspaceRef> {
    const ref = await driver.create(spec(diskMiB));
    made.push(ref);
    await driver.start(ref);
    return ref;
  }

  async function sh(ref: WorkspaceRef, script: string): Promise<{ out: string; code: number | null }> {
    const session = await driver.exec(ref, { cmd: ["/bin/sh", "-c", script], tty: false });
    session.stdin.end();
    let out = "";
    session.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    session.stderr?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    const { code } = await session.exit;
    return { out, code };
  }

  /** Loop devices backed by `file`, as the host's losetup lists them. */
  const loopsOf = (file: string) =>
    execFileSync("losetup", ["--associated", file, "--noheadings", "--output", "NAME"]).toString().trim();

  beforeAll(async () => {
    await requireEngine();
    image = await ensureTestImage(docker);
  });

  afterAll(async () => {
    for (const ref of made) await driver.destroy(ref).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it("writing past the size fails with ENOSPC inside the workspace, and the host's file stays within it", async () => {
    const ref = await make(64);
    const { out, code } = await sh(
      ref,
      // the error into the same stream as what follows, so that it comes before it
      "{ head -c 104857600 /dev/zero | cat > /workspace/big; } 2>&1; echo rc=$?; ls -A /workspace",
    );
    expect(out).toContain("No space left on device");
    expect(out).toMatch(/rc=[1-9]/);
    expect(out.trim().split("\n").at(-1)).toBe("big"); // no lost+found beside the engineer's files
    expect(code).toBe(0);
    const file = join(dir, `${ref.volume}.ext4`);
    expect(statSync(file).blocks * 512).toBeLessThanOrEqual(64 * 1024 * 1024);
    expect((await sh(ref, "stat -c %u:%g /workspace")).out).toBe("1000:1000\n");
  });

  it("a disk whose loop device went away (a reboot) is attached again at start, its files intact", async () => {
    const ref = await make(64);
    expect((await sh(ref, "echo kept > /workspace/note")).code).toBe(0);
    await driver.stop(ref);
    const file = join(dir, `${ref.volume}.ext4`);
    execFileSync("losetup", ["--detach", loopsOf(file)]);
    expect(loopsOf(file)).toBe("");
    await driver.start(ref);
    expect((await sh(ref, "cat /workspace/note")).out).toBe("kept\n");
    expect(readlinkSync(disks.device(ref.volume))).toBe(loopsOf(file));
  });

  it("destroy detaches the disk and deletes its file", async () => {
    const ref = await make(64);
    const file = join(dir, `${ref.volume}.ext4`);
    await driver.destroy(ref);
    expect(() => statSync(file)).toThrow();
    expect(execFileSync("losetup", ["--list", "--noheadings", "--output", "BACK-FILE"]).toString()).not.toContain(file);
  });

  it("a driver without disks refuses a size it cannot honour, and leaves nothing behind", async () => {
    const plain = createDockerDriver({ docker, instance });
    const s = spec(64);
    await expect(plain.create(s)).rejects.toMatchObject({ code: "UNAVAILABLE" });
    const label = `io.azusa.workspace=${s.id}`;
    expect((await docker.listVolumes({ filters: { label: [label] } })).Volumes ?? []).toEqual([]);
  });
});

describe("resolveIdentity", () => {
  const passwd = "root:x:0:0:root:/root:/bin/sh\ntoor:x:0:0::/:/bin/sh\nazusa:x:1000:1001:A:/home/azusa:/bin/sh\n";
  const group = "root:x:0:\nazusa:x:1001:\nstaff:x:50:\n";

  it("a name gives its uid, its group and its home", () => {
    expect(resolveIdentity("azusa", passwd, group)).toEqual({ uid: 1000, gid: 1001, home: "/home/azusa" });
  });

  it("a group name is looked up in /etc/group", () => {
    expect(resolveIdentity("azusa:staff", passwd, group)).toMatchObject({ uid: 1000, gid: 50 });
  });

  it("a uid without an entry gets its own number as group and no home", () => {
    expect(resolveIdentity("4242", passwd, group)).toEqual({ uid: 4242, gid: 4242, home: undefined });
  });

  it("any name for uid 0 is refused", () => {
    expect(() => resolveIdentity("toor", passwd, group)).toThrow(/root/);
    expect(() => resolveIdentity("0:1000", passwd, group)).toThrow(/root/);
  });

  it("an unknown name is a validation error", () => {
    expect(() => resolveIdentity("nobody", passwd, group)).toThrow(expect.objectContaining({ code: "VALIDATION" }));
  });
});
