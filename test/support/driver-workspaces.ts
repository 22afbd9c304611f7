// Small hardened workspaces made straight through a driver, one per image, for tests below the HTTP layer.
import type { WorkspaceDriver, WorkspaceRef } from "../../src/provisioner/driver.ts";

/**
 * Creates and starts one workspace per entry of `images` (name → image), all under `tenantId`, with the
 * user `azusa`, a read-only root and small limits; resolves with their refs under the same names.
 */
export async function startWorkspaces(
  driver: WorkspaceDriver,
  tenantId: string,
  images: Record<string, string>,
  packageId = "pkg-test",
): Promise<Record<string, WorkspaceRef>> {
  const refs: Record<string, WorkspaceRef> = {};
  for (const [name, image] of Object.entries(images)) {
    const ref = await driver.create({
      id: `${tenantId}-${name}`,
      tenantId,
      packageId,
      image,
      user: "azusa",
      env: {},
      resources: { cpus: 0.5, memoryMiB: 128, pids: 64 },
      readOnlyRootFs: true,
      workspaceFolder: "/workspace",
    });
    await driver.start(ref);
    refs[name] = ref;
  }
  return refs;
}
