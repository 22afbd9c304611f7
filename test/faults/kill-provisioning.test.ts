// A real `azusa serve` killed with SIGKILL while it provisions a workspace — the container made and started, the
// row still `provisioning`, no code checked out — then started again: reconcile makes the workspace whole, with one
// container, running, its code checked out. Killed earlier still, with the acceptance committed and no workspace
// made, the next start makes the workspace. On SQLite and PostgreSQL, with the real Docker engine.
import { rmSync } from "node:fs";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exited, until } from "../support/cli.ts";
import { dialects } from "../support/databases.ts";
import { sampleContract } from "../support/fixtures.ts";
import { templatesFolder } from "../support/gateway-world.ts";
import { startTestAzusa, type TestAzusa } from "../support/harness.ts";
import { ensureTestImage } from "../support/images.ts";
import { killHard, pausedAt, type Served, serveBeside, signInTo, stopServe, withDatabase } from "../support/kill.ts";
import { utf8Csv } from "../support/wbs-files.ts";

const docker = new Docker();

describe.each(dialects)("a provisioning killed and started again, on %s", (dialect) => {
  let t: TestAzusa;
  let templatesDir: string;
  let tenantId: string;
  let offerId: string;
  let packageId: string;
  let laterOfferId: string;
  let laterPackageId: string;
  const running: Served[] = [];

  beforeAll(async () => {
    templatesDir = templatesFolder(await ensureTestImage(docker));
    t = await startTestAzusa({ dialect, env: { AZUSA_TEMPLATES_DIR: templatesDir, AZUSA_SCHEDULES: "off" } });
    tenantId = (await t.createTenant("東京SI")).id;
    await t.createUser("contractor", "buyer@tokyo-si.example", tenantId);
    const leadId = (await t.createUser("lead", "lead@tokyo-si.example", tenantId)).id;
    const engineerId = (await t.createUser("engineer", "sato@matsumoto.example")).id;
    const operator = await t.signIn("root@office.example");
    const contractor = await t.signIn("buyer@tokyo-si.example");
    const lead = await t.signIn("lead@tokyo-si.example");
    await operator.put(`/api/v1/engineers/${engineerId}`, { weeklyCapacityHours: 40, skills: [] });
    await operator.post(`/api/v1/engineers/${engineerId}/vetting`, {
      kind: "nda",
      issuedOn: "2026-01-01",
      expiresOn: "2028-01-01",
    });
    const contract = await (
      await contractor.post("/api/v1/contracts", { ...sampleContract, confidentiality: "internal", leadIds: [leadId] })
    ).json();
    const wbs = utf8Csv([
      ["id", "title", "estimate"],
      ["P1", "帳票出力", "8"],
      ["P2", "帳票印刷", "8"],
    ]);
    await contractor.request("POST", `/api/v1/contracts/${contract.id}/wbs`, wbs, { "content-type": "text/csv" });
    const items: { id: string; wbsId: string }[] = (
      await (await lead.get(`/api/v1/contracts/${contract.id}/packages`)).json()
    ).items;
    const offerOn = async (wbsId: string) => {
      const id = items.find((p) => p.wbsId === wbsId)?.id as string;
      expect((await lead.post(`/api/v1/packages/${id}/open`)).status).toBe(200);
      return { id, offer: (await (await lead.post(`/api/v1/packages/${id}/offers`, { engineerId })).json()).id };
    };
    ({ id: packageId, offer: offerId } = await offerOn("P1"));
    ({ id: laterPackageId, offer: laterOfferId } = await offerOn("P2"));
    // SQLite serves one process: the test's steps aside for the ones started and killed below.
    if (dialect === "sqlite") await t.running.stop();
  }, 120_000);
  afterAll(async () => {
    for (const s of running) {
      s.child.kill("SIGKILL");
      await exited(s.child);
    }
    for (const c of await docker.listContainers({ all: true, filters: { label: [`io.azusa.tenant=${tenantId}`] } }))
      await docker.getContainer(c.Id).remove({ force: true, v: true });
    await t?.stop();
    rmSync(templatesDir, { recursive: true, force: true });
  });

  const serve = async (pauseAt?: string) => {
    const served = await serveBeside(t, { AZUSA_TEMPLATES_DIR: templatesDir }, pauseAt);
    running.push(served);
    return served;
  };
  const workspaceRow = (of = packageId) =>
    withDatabase(t, dialect, (db) =>
      db.selectFrom("workspace").selectAll().where("package_id", "=", of).executeTakeFirst(),
    );
  const containersOf = (workspaceId: string) =>
    docker.listContainers({ all: true, filters: { label: [`io.azusa.workspace=${workspaceId}`] } });
  /** Accepts `offer` on a process held at `point`, and kills it there. */
  const acceptKilledAt = async (offer: string, point: string) => {
    const first = await serve(point);
    const engineer = await signInTo(first, "sato@matsumoto.example");
    const accepting = engineer.post(`/api/v1/offers/${offer}/accept`).catch((err: Error) => err);
    await pausedAt(first, point);
    await killHard(first);
    await accepting;
  };

  it("leaves one running container with its code checked out, and the workspace running", async () => {
    await acceptKilledAt(offerId, "workspaces.provisioning");

    // What the crash left: a container made and started, the row still provisioning and not checked out.
    const left = await workspaceRow();
    expect(left).toMatchObject({ state: "provisioning", prepared_at: null });
    const id = left?.id as string;
    // One workspace container; the helper filling the package's object store beside its start may still be there.
    const made = await containersOf(id);
    expect(made.filter((c) => c.Labels["io.azusa.role"] === "workspace")).toHaveLength(1);
    expect(made.every((c) => ["workspace", "store"].includes(c.Labels["io.azusa.role"] ?? ""))).toBe(true);
    // Its lease is still the dead process's (it expires a minute after its last renewal): the process started again
    // on the same data directory knows it for its own earlier life's and takes the work over at once.
    const lease = () =>
      withDatabase(t, dialect, (db) =>
        db.selectFrom("job_lock").selectAll().where("name", "=", `workspace:${id}`).executeTakeFirstOrThrow(),
      );
    const dead = await lease();
    expect(Date.parse(dead.expires_at)).toBeGreaterThan(Date.now());

    const second = await serve();
    const whole = await until(
      "the workspace to be running with its code checked out",
      async () => {
        const row = await workspaceRow();
        return row?.state === "running" && row.prepared_at ? row : undefined;
      },
      180_000,
    );
    const containers = await containersOf(id);
    expect(containers).toHaveLength(1);
    expect(containers[0]?.State).toBe("running");
    expect(containers[0]?.Id).toBe(whole.container_id);
    // Taken over by the new life at its start-up reconcile (schedules are off: nothing would look again later).
    expect((await lease()).owner).not.toBe(dead.owner);
    await stopServe(second);
  }, 360_000);

  it("an acceptance killed before its workspace was made gets its workspace from the next start", async () => {
    await acceptKilledAt(laterOfferId, "offers.accepted");

    // What the crash left: the package assigned, and no workspace at all.
    const assignment = await withDatabase(t, dialect, (db) =>
      db.selectFrom("assignment").selectAll().where("package_id", "=", laterPackageId).executeTakeFirstOrThrow(),
    );
    expect(assignment.ended_at).toBeNull();
    expect(await workspaceRow(laterPackageId)).toBeUndefined();
    // A live acceptance provisions its own workspace at once, so reconcile takes only assignments a minute old:
    // the test waits that minute out rather than dating the row.
    await until(
      "the assignment to be a minute old",
      async () => (Date.now() - Date.parse(assignment.started_at) > 61_000 ? true : undefined),
      90_000,
    );

    const second = await serve();
    const whole = await until(
      "the workspace to be running with its code checked out",
      async () => {
        const row = await workspaceRow(laterPackageId);
        return row?.state === "running" && row.prepared_at ? row : undefined;
      },
      180_000,
    );
    expect(whole.assignment_id).toBe(assignment.id);
    const containers = await containersOf(whole.id);
    expect(containers).toHaveLength(1);
    expect(containers[0]?.State).toBe("running");
    await stopServe(second);
  }, 420_000);
});
