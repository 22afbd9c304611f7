// The Docker driver against a second, real engine reached over mutual TLS in a network namespace of the test:
// the same contract as on the local engine, and proof that it is another engine that refuses strangers.
import { randomBytes } from "node:crypto";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SecondEngine, startSecondEngine } from "../../test/support/second-engine.ts";
import { createDockerDriver } from "./docker-driver.ts";
import { contractTenantId, runDriverContract } from "./driver.contract.ts";

const instance = `test-${randomBytes(6).toString("hex")}`;

/** Removes what the contract suite may have left on an engine, then the engine itself. */
async function removeAll(engine: SecondEngine): Promise<void> {
  try {
    const label = [`io.azusa.tenant=${contractTenantId}`];
    for (const c of await engine.docker.listContainers({ all: true, filters: { label } }))
      await engine.docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => undefined);
  } finally {
    await engine.stop();
  }
}

runDriverContract("docker over mutual TLS", async () => {
  const engine = await startSecondEngine();
  const image = engine.images[0];
  if (!image) throw new Error("the second engine has no image loaded");
  return {
    driver: createDockerDriver({ docker: engine.docker, instance, localEngine: false }),
    image,
    cleanup: () => removeAll(engine),
  };
});

describe("the second engine", () => {
  let engine: SecondEngine | undefined;
  const e = () => {
    if (!engine) throw new Error("the second engine did not start; see the beforeAll failure");
    return engine;
  };

  beforeAll(async () => {
    engine = await startSecondEngine();
  }, 180_000);

  afterAll(async () => {
    await engine?.stop();
  });

  it("refuses a client without a certificate its CA signed", async () => {
    const { host, port, credentials } = e();
    const anonymous = new Docker({ host, port, protocol: "https", ca: credentials.ca });
    await expect(anonymous.ping()).rejects.toThrow();
    await expect(e().docker.ping()).resolves.toBeTruthy();
  });

  it("is another engine: a workspace made there is not on the local engine", async () => {
    const driver = createDockerDriver({ docker: e().docker, instance, localEngine: false });
    const ref = await driver.create({
      id: `${instance}-elsewhere`,
      tenantId: `elsewhere-${instance}`,
      packageId: "pkg-elsewhere",
      image: e().images[0] ?? "",
      user: "azusa",
      env: {},
      resources: { cpus: 0.5, memoryMiB: 128, pids: 64 },
      readOnlyRootFs: true,
      workspaceFolder: "/workspace",
    });
    const local = new Docker();
    await expect(local.getContainer(ref.containerId).inspect()).rejects.toMatchObject({ statusCode: 404 });
    expect((await e().docker.getContainer(ref.containerId).inspect()).Config.Labels["io.azusa.instance"]).toBe(
      instance,
    );
    expect((await e().docker.info()).DockerRootDir).not.toBe((await local.info()).DockerRootDir);
    await driver.destroy(ref);
  });
});
