// Size-limited workspace volumes: each is an ext4 file system in a sparse file of its own, attached to a
// loop device on the engine's host, so that writing past the size gives ENOSPC inside the workspace only.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, open, readFile, readlink, rename, rm, symlink } from "node:fs/promises";
import { basename, join, resolve } from "node:path";

/** Disk files kept in one folder of the host that runs the Docker engine. */
export interface LoopDisks {
  /**
   * Makes `name`'s disk: a sparse file of `sizeMiB`, formatted ext4 with its root owned by `owner`,
   * attached to a loop device. Returns the stable path (a link to the device) that a volume mounts.
   */
  make(name: string, sizeMiB: number, owner: { uid: number; gid: number }): Promise<string>;
  /**
   * Attaches `name`'s disk again when its loop device is gone (after a reboot) or now backs something
   * else, and points its link at the device it got; false when `name` has no disk (an unlimited volume).
   */
  attach(name: string): Promise<boolean>;
  /** Detaches `name`'s disk and removes its file; idempotent. Call it once no container mounts the volume. */
  remove(name: string): Promise<void>;
  /** The link that names `name`'s device: what the volume mounts. */
  device(name: string): string;
}

function run(command: string, args: string[]): Promise<string> {
  return new Promise((done, fail) => {
    execFile(command, args, (err, stdout, stderr) => {
      if (err) fail(new Error(`${command} ${args[0] ?? ""} failed: ${String(stderr).trim() || err.message}`));
      else done(String(stdout));
    });
  });
}

const namePattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** Runs a step on `name`'s disk while no other process works on it; false when another live process does. */
export type DiskLease = (name: string, work: () => Promise<void>) => Promise<boolean>;

/**
 * Loop disks under `dir` (made absolute; the engine must see the same path, so the engine runs on
 * this host). Needs root, `losetup` (util-linux), `mkfs.ext4` and `debugfs` (e2fsprogs).
 *
 * `dir` may be shared by several processes (a folder per engine host under the shared storage folder): making and
 * releasing a disk run under `lease`, so that one process never releases a disk another live process is making,
 * and a disk made by a process that died is released by any other. A disk found in `legacyDir` (where one process
 * kept its own disks before) is used, attached and released there.
 */
export function createLoopDisks({
  dir,
  legacyDir,
  lease = async (_name, work) => {
    await work();
    return true;
  },
}: {
  dir: string;
  legacyDir?: string;
  lease?: DiskLease;
}): LoopDisks {
  const root = resolve(dir);
  const legacy = legacyDir ? resolve(legacyDir) : null;
  /** The folder `name`'s disk lives in: the legacy one if its file is there. */
  const home = (name: string) => (legacy && existsSync(join(legacy, `${name}.ext4`)) ? legacy : root);
  const file = (name: string) => {
    if (!namePattern.test(name)) throw new Error(`not a disk name: ${name}`);
    return join(home(name), `${name}.ext4`);
  };
  const link = (name: string) => join(home(name), `${name}.dev`);

  /** Runs `work` under `name`'s lease, or fails saying another process holds it. */
  async function leased<T>(name: string, work: () => Promise<T>): Promise<T> {
    let result: T | undefined;
    const ran = await lease(name, async () => {
      result = await work();
    });
    if (!ran) throw new Error(`the disk of ${name} is being made or released by another process`);
    return result as T;
  }

  /** Loop devices whose backing file is `path`. */
  async function devicesOf(path: string): Promise<string[]> {
    const out = await run("losetup", ["--associated", path, "--noheadings", "--output", "NAME"]).catch(() => "");
    return out.split("\n").filter((l) => l.startsWith("/dev/"));
  }

  /** Points `name`'s link at `device`, replacing the link in one step. */
  async function pointAt(name: string, device: string): Promise<void> {
    const next = `${link(name)}.${process.pid}.tmp`;
    await rm(next, { force: true });
    await symlink(device, next);
    await rename(next, link(name));
  }

  /** Attaches `path` to a free loop device and points `name`'s link at it. */
  async function attachTo(name: string, path: string): Promise<void> {
    await pointAt(name, (await run("losetup", ["--find", "--show", "--nooverlap", path])).trim());
  }

  async function backingFileOf(device: string): Promise<string | null> {
    try {
      return (await readFile(`/sys/block/${basename(device)}/loop/backing_file`, "utf8")).trim();
    } catch {
      return null;
    }
  }

  async function makeDisk(name: string, sizeMiB: number, owner: { uid: number; gid: number }): Promise<string> {
    if (!namePattern.test(name)) throw new Error(`not a disk name: ${name}`);
    // a new disk is made in the shared folder, never the legacy one
    const path = join(root, `${name}.ext4`);
    await mkdir(root, { recursive: true, mode: 0o700 });
    // a fresh file every time: "wx" refuses to format over another workspace's disk
    const handle = await open(path, "wx", 0o600);
    try {
      await handle.truncate(sizeMiB * 1024 * 1024);
    } finally {
      await handle.close();
    }
    try {
      // -m 0: the workspace user is not root, so blocks reserved for root would only be lost to it.
      // Lazy init keeps formatting at tens of milliseconds whatever the size; the kernel finishes it later.
      await run("mkfs.ext4", [
        "-q",
        "-F",
        "-m",
        "0",
        "-E",
        `root_owner=${owner.uid}:${owner.gid},lazy_itable_init=1,lazy_journal_init=1`,
        path,
      ]);
      // lost+found would be the one thing in a fresh workspace, and stop a clone into it
      await run("debugfs", ["-w", "-R", "rmdir lost+found", path]);
      await attachTo(name, path);
      return link(name);
    } catch (err) {
      await release(name).catch(() => undefined);
      throw err;
    }
  }

  async function release(name: string): Promise<void> {
    const path = file(name);
    for (const device of await devicesOf(path)) {
      await run("losetup", ["--detach", device]).catch(() => undefined);
    }
    await rm(link(name), { force: true });
    await rm(path, { force: true });
  }

  return {
    device: link,

    make(name, sizeMiB, owner) {
      return leased(name, () => makeDisk(name, sizeMiB, owner));
    },

    async attach(name) {
      const path = file(name);
      try {
        await open(path, "r").then((h) => h.close());
      } catch {
        return false;
      }
      const current = await readlink(link(name)).catch(() => null);
      // after a reboot the old number may back another workspace's disk: only our own file counts
      if (current && (await backingFileOf(current)) === path) return true;
      const attached = await devicesOf(path);
      if (attached[0]) await pointAt(name, attached[0]);
      else await attachTo(name, path);
      return true;
    },

    remove(name) {
      return leased(name, () => release(name));
    },
  };
}
