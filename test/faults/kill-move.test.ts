// A real `azusa serve` killed with SIGKILL while it moves a stopped workspace to another workspace host (a second,
// real dockerd over mutual TLS) — everything made and written on the new host, the row still naming the old one —
// leaves the workspace on its old host, whole; the process started again moves it, and it starts there with its
// files. On SQLite and PostgreSQL.
import { rmSync } from "node:fs";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exited } from "../support/cli.ts";
import { dialects } from "../support/databases.ts";
import { runIn } from "../support/docker.ts";
import { farTemplates, registerFarHost } from "../support/far-host.ts";
import { startTestAzusa, type TestAzusa } from "../support/harness.ts";
import { killHard, pausedAt, type Served, serveBeside, signInTo, stopServe, withDatabase } from "../support/kill.ts";
import { secondEngineForTests } from "../support/second-engine.ts";
import { prepareWorkspaces } from "../support/workspace-setup.ts";

const engine = secondEngineForTests();
const local = new Docker();

const workspaceContainers = (docker: Docker, id: string) =>
  docker.listContainers({ all: true, filters: { label: [`io.azusa.workspace=${id}`, "io.azusa.role=workspace"] } });

describe.each(dialects)("a move killed half-way and tried again, on %s", (dialect) => {
  let t: TestAzusa;
  let templatesDir: string;
  let farId: string;
  let wsId: string;
  let oldContainer: string;
  let oldVolume: string;
  const suffix = `-kill-move-${dialect}`;
  const running: Served[] = [];

  beforeAll(async () => {
    templatesDir = farTemplates();
    t = await startTestAzusa({ dialect, env: { AZUSA_TEMPLATES_DIR: templatesDir, AZUSA_SCHEDULES: "off" } });
    const operator = await t.signIn("root@office.example");
    const setup = await prepareWorkspaces(t.base, operator, suffix);
    farId = await registerFarHost(operator, engine());
    // placed on the default engine: the far one takes nothing while drained
    expect((await operator.post(`/api/v1/workspace-hosts/${farId}/drain`)).status).toBe(200);
    const first = await setup.accept("2.3");
    await t.running.azusa.workspaces.settled(first.id);
    wsId = first.id;
    const [c] = await workspaceContainers(local, wsId);
    oldContainer = c?.Id ?? "";
    oldVolume = c?.Mounts.find((m) => m.Destination === "/workspace")?.Name ?? "";
    const made = await runIn(local, oldContainer, ["bash", "-c", "printf 'kept\\n' > /workspace/marker"]);
    expect(made.code, made.err).toBe(0);
    expect((await setup.sato.post(`/api/v1/workspaces/${wsId}/stop`)).status).toBe(200);
    expect((await operator.post(`/api/v1/workspace-hosts/${farId}/activate`)).status).toBe(200);
    // SQLite serves one process: the test's steps aside for the ones started and killed below.
    if (dialect === "sqlite") await t.running.stop();
  }, 300_000);

  afterAll(async () => {
    for (const s of running) {
      s.child.kill("SIGKILL");
      await exited(s.child);
    }
    await t?.stop();
    rmSync(templatesDir, { recursive: true, force: true });
  });

  const serve = async (pauseAt?: string) => {
    const served = await serveBeside(t, { AZUSA_TEMPLATES_DIR: templatesDir }, pauseAt);
    running.push(served);
    return served;
  };
  const row = () =>
    withDatabase(t, dialect, (db) =>
      db.selectFrom("workspace").selectAll().where("id", "=", wsId).executeTakeFirstOrThrow(),
    );

  it("leaves the workspace on its old host, whole, and the next process moves it", async () => {
    const first = await serve("workspaces.moving");
    const operator = await signInTo(first, "root@office.example");
    const moving = operator
      .post(`/api/v1/workspaces/${wsId}/move`, { hostId: farId, reason: "rack maintenance" })
      .catch((err: Error) => err);
    await pausedAt(first, "workspaces.moving");
    await killHard(first);
    await moving;

    // What the kill left: the row on the old host with its container, which is there with its volume; a half of
    // the move on the new host.
    expect(await row()).toMatchObject({ state: "stopped", host_id: "local", container_id: oldContainer });
    expect((await local.getContainer(oldContainer).inspect()).Id).toBe(oldContainer);
    expect((await local.getVolume(oldVolume).inspect()).Name).toBe(oldVolume);
    expect(await workspaceContainers(engine().docker, wsId)).toHaveLength(1);

    const second = await serve();
    const again = await signInTo(second, "root@office.example");
    const res = await again.post(`/api/v1/workspaces/${wsId}/move`, { hostId: farId, reason: "rack maintenance" });
    expect(res.status, await res.clone().text()).toBe(200);
    const moved = await row();
    expect(moved).toMatchObject({ state: "stopped", host_id: farId });
    // one container there, the one the row names; none left on the old host
    const there = await workspaceContainers(engine().docker, wsId);
    expect(there.map((c) => c.Id)).toEqual([moved.container_id]);
    expect(await workspaceContainers(local, wsId)).toHaveLength(0);
    const sato = await signInTo(second, `sato${suffix}@matsumoto.example`);
    expect((await sato.post(`/api/v1/workspaces/${wsId}/start`)).status).toBe(200);
    const read = await runIn(engine().docker, moved.container_id ?? "", ["cat", "/workspace/marker"]);
    expect(read).toMatchObject({ code: 0, out: "kept\n" });
    await stopServe(second);
  }, 360_000);
});
