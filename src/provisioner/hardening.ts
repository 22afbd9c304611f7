// The hardening check of a workspace host: the engine offers seccomp, and every workspace container on it is
// confined the way the driver makes it (the same inspection the driver's tests make), so that a container
// someone changed or made by hand under Azusa's labels shows up.
import type Docker from "dockerode";
import { labelKeys } from "./driver.ts";

/** What the check found: `problems` names each container and property that is not as the driver makes it. */
export interface HardeningReport {
  ok: boolean;
  /** Workspace containers inspected. */
  inspected: number;
  problems: string[];
}

type Inspected = Pick<Docker.ContainerInspectInfo, "HostConfig" | "Config" | "Mounts"> & { Name?: string };

/** What is wrong with one workspace container's confinement; empty when it is as the driver makes it. */
export function confinementProblems(info: Inspected): string[] {
  const host = info.HostConfig as Docker.HostConfig & { Devices?: unknown[] | null; Init?: boolean };
  const problems: string[] = [];
  const security: string[] = host.SecurityOpt ?? [];
  const expect = (ok: boolean, what: string) => {
    if (!ok) problems.push(what);
  };
  expect(JSON.stringify(host.CapDrop ?? []) === '["ALL"]', "capabilities are not all dropped");
  expect((host.CapAdd ?? []).length === 0, "capabilities are added");
  expect(security.includes("no-new-privileges:true"), "new privileges are allowed");
  expect(!security.some((o) => /^seccomp[=:]unconfined/.test(o)), "seccomp is off");
  expect(!security.some((o) => /^apparmor[=:]unconfined/.test(o)), "AppArmor is off");
  expect(host.Privileged !== true, "privileged");
  expect((host.PidsLimit ?? 0) > 0, "no process limit");
  expect((host.Memory ?? 0) > 0, "no memory limit");
  expect((host.NanoCpus ?? 0) > 0, "no CPU limit");
  expect(
    host.NetworkMode !== "host" && host.NetworkMode !== "bridge" && host.NetworkMode !== "default",
    `network ${host.NetworkMode}`,
  );
  for (const mode of ["PidMode", "IpcMode", "UsernsMode", "UTSMode"] as const) {
    expect((host as Record<string, unknown>)[mode] !== "host", `${mode} is host`);
  }
  expect((host.Binds ?? []).length === 0, "host folders are bound");
  expect((host.Devices ?? []).length === 0, "devices are passed in");
  expect(Object.keys(host.PortBindings ?? {}).length === 0 && host.PublishAllPorts !== true, "ports are published");
  expect(!info.Mounts.some((m) => m.Type === "bind" || m.Source.includes("docker.sock")), "a host path is mounted");
  const user = (info.Config.User ?? "").split(":")[0] ?? "";
  expect(user !== "" && user !== "root" && !/^0+$/.test(user), "runs as root");
  return problems;
}

/**
 * Checks an engine and the workspace containers of `instance` on it. Never throws for a finding; an engine
 * that does not answer rejects.
 */
export async function checkHardening(
  docker: Pick<Docker, "info" | "listContainers" | "getContainer">,
  instance: string,
): Promise<HardeningReport> {
  const problems: string[] = [];
  const info = (await docker.info()) as { SecurityOptions?: string[] };
  if (!(info.SecurityOptions ?? []).some((o) => o.includes("name=seccomp"))) {
    problems.push("the engine offers no seccomp");
  }
  const containers = await docker.listContainers({
    all: true,
    filters: { label: [`${labelKeys.instance}=${instance}`, "io.azusa.role=workspace"] },
  });
  for (const c of containers) {
    try {
      const found = confinementProblems(await docker.getContainer(c.Id).inspect());
      const name = c.Labels[labelKeys.workspace] ?? c.Id.slice(0, 12);
      for (const p of found) problems.push(`${name}: ${p}`);
    } catch {
      // removed between the list and the inspection
    }
  }
  return { ok: problems.length === 0, inspected: containers.length, problems };
}
