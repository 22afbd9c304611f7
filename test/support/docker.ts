// Clean-up on the shared Docker engine: everything one Azusa instance made, and nothing of any other.
import { dirname } from "node:path";
import Docker from "dockerode";
import { createDockerDriver } from "../../src/provisioner/docker-driver.ts";
import { createLoopDisks } from "../../src/provisioner/loop-disks.ts";

/** Removes every container and volume of Azusa instance `instance`, and their disks, whatever a failed test left. */
export async function sweepInstance(docker: Docker, instance: string): Promise<void> {
  const label = [`io.azusa.instance=${instance}`];
  for (const c of await docker.listContainers({ all: true, filters: { label } }))
    await docker
      .getContainer(c.Id)
      .remove({ force: true })
      .catch(() => undefined);
  for (const v of (await docker.listVolumes({ filters: { label } })).Volumes ?? []) {
    await docker
      .getVolume(v.Name)
      .remove()
      .catch(() => undefined);
    // a size-limited volume's loop device would outlive the test's data directory
    const device = v.Options?.device;
    if (device?.endsWith(`/${v.Name}.dev`)) {
      await createLoopDisks({ dir: dirname(device) })
        .remove(v.Name)
        .catch(() => undefined);
    }
  }
}

/**
 * At the end of a test Azusa: its workspaces go with it (an engine that does not answer had none).
 * Production keeps workspaces across restarts; a test's are throwaway like its database.
 */
export async function sweepAfterTest(instance: string): Promise<void> {
  const docker = new Docker();
  try {
    await docker.ping();
  } catch {
    return;
  }
  await sweepInstance(docker, instance);
}

/**
 * Runs `cmd` in a running container (by id, on `docker`, whatever instance made it) as its user, its input
 * closed; resolves with its exit code and what it wrote.
 */
export async function runIn(
  docker: Docker,
  containerId: string,
  cmd: string[],
): Promise<{ code: number | null; out: string; err: string }> {
  const driver = createDockerDriver({ docker, instance: "run-in", localEngine: false });
  const session = await driver.exec({ id: "run-in", containerId, volume: "" }, { cmd, tty: false });
  session.stdin.end();
  let out = "";
  let err = "";
  session.stdout.on("data", (d: Buffer) => {
    out += d.toString();
  });
  session.stderr?.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const { code } = await session.exit;
  return { code, out, err };
}
