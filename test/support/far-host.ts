// A second engine as a workspace host "far away": templates on the default image, one of them asking for the
// host's label, and the engine registered over TLS with that label.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import { baseImageTag } from "../../src/provisioner/base-image.ts";
import type { Client } from "./harness.ts";
import type { SecondEngine } from "./second-engine.ts";

/**
 * A templates folder: `default` (no label) and `far` (asking for `zone=far`, with `far`'s extra
 * `customizations.azusa` fields), both on the default image, small.
 */
export function farTemplates(far: Record<string, unknown> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), "azusa-templates-"));
  const template = (extra: Record<string, unknown>) =>
    JSON.stringify({
      image: baseImageTag,
      remoteUser: "azusa",
      customizations: { azusa: { resources: { cpus: 1, memoryMiB: 256, pids: 128 }, ...extra } },
    });
  writeFileSync(join(dir, "default.devcontainer.json"), template({}));
  writeFileSync(join(dir, "far.devcontainer.json"), template({ ...far, hostLabels: { zone: "far" } }));
  return dir;
}

/** Registers `engine` as the host "far-away" labelled `zone=far`, taking unlimited volumes; its id. */
export async function registerFarHost(operator: Client, engine: SecondEngine): Promise<string> {
  const registered = await operator.post("/api/v1/workspace-hosts", {
    name: "far-away",
    endpoint: { kind: "tls", url: engine.url, ...engine.credentials },
    labels: { zone: "far" },
    capacity: { cpus: 2, memoryMiB: 2048, diskMiB: 10240, workspaces: 4 },
    unlimitedVolumes: true,
  });
  expect(registered.status, await registered.clone().text()).toBe(201);
  return (await registered.json()).id as string;
}
