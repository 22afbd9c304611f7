// A real `azusa serve` killed with SIGKILL while it opens a pull request from a real workspace's fork: once with the
// fork's bundle (the engineer's commits) on the host and nothing imported, once with the pull request's row written
// in the opening transaction and nothing else. Started again, the bundle is swept, there is no pull request, no audit
// event and the package has not moved; opening it again works, once. On SQLite and PostgreSQL, with the real engine.
import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exited } from "../support/cli.ts";
import { dialects } from "../support/databases.ts";
import { forgeFolders, inWorkspace, sourceRepository } from "../support/git.ts";
import { startTestAzusa, type TestAzusa } from "../support/harness.ts";
import { ensureBaseImage } from "../support/images.ts";
import { killHard, pausedAt, type Served, serveBeside, signInTo, stopServe, withDatabase } from "../support/kill.ts";
import { contractOnSource } from "../support/workspace-setup.ts";

const docker = new Docker();

describe.each(dialects)("a pull request's opening killed and started again, on %s", (dialect) => {
  let t: TestAzusa;
  let dir: string;
  let templates: string;
  let imports: string;
  let packageId: string;
  let container: string;
  const running: Served[] = [];

  beforeAll(async () => {
    const image = await ensureBaseImage(docker);
    ({ dir, templates, imports } = forgeFolders("azusa-kill-pull-", image));
    const source = join(imports, "hanbai.git");
    await sourceRepository(join(dir, "source-work"), source, { "src/price.txt": "price = 100\n" }, "販売管理");
    t = await startTestAzusa({
      dialect,
      env: { AZUSA_TEMPLATES_DIR: templates, AZUSA_SCHEDULES: "off", AZUSA_GIT_IMPORT_DIR: imports },
    });
    const made = await contractOnSource(t, imports, source);
    packageId = made.packageId;
    const offer = await (
      await made.lead.post(`/api/v1/packages/${packageId}/offers`, { engineerId: made.satoId })
    ).json();
    expect((await made.sato.post(`/api/v1/offers/${offer.id}/accept`)).status).toBe(200);
    const workspaceId = (await (await made.sato.get(`/api/v1/packages/${packageId}/workspace`)).json()).id;
    await t.running.azusa.workspaces.settled(workspaceId);
    expect(await t.running.azusa.workspaces.ready(workspaceId)).toEqual({ ok: true });
    const [c] = await docker.listContainers({
      filters: { label: [`io.azusa.workspace=${workspaceId}`, "io.azusa.role=workspace"] },
    });
    container = c?.Id as string;
    // SQLite serves one process: the test's steps aside for the ones started and killed below.
    if (dialect === "sqlite") await t.running.stop();
  }, 300_000);

  afterAll(async () => {
    for (const s of running) {
      s.child.kill("SIGKILL");
      await exited(s.child);
    }
    await t?.stop();
    if (packageId) {
      for (const c of await docker.listContainers({ all: true, filters: { label: [`io.azusa.package=${packageId}`] } }))
        await docker.getContainer(c.Id).remove({ force: true, v: true });
      for (const v of (await docker.listVolumes({ filters: { label: [`io.azusa.package=${packageId}`] } })).Volumes ??
        [])
        await docker.getVolume(v.Name).remove();
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const serve = async (pauseAt?: string) => {
    const served = await serveBeside(t, { AZUSA_TEMPLATES_DIR: templates, AZUSA_GIT_IMPORT_DIR: imports }, pauseAt);
    running.push(served);
    return served;
  };
  const scratch = () => join(t.dbEnv.AZUSA_DATA_DIR as string, "scratch");
  const bundles = () => (existsSync(scratch()) ? readdirSync(scratch()).filter((n) => n.startsWith("fork-")) : []);
  const left = () =>
    withDatabase(t, dialect, async (db) => ({
      pulls: (await db.selectFrom("pull_request").select("number").where("package_id", "=", packageId).execute())
        .length,
      opened: (
        await db
          .selectFrom("audit_event")
          .select("seq")
          .where("action", "=", "pull_request.opened")
          .where("details", "like", `%${packageId}%`)
          .execute()
      ).length,
      state: (await db.selectFrom("work_package").select("state").where("id", "=", packageId).executeTakeFirstOrThrow())
        .state,
    }));

  it.each(["pulls.opening.bundled", "pulls.opening.inserted"])(
    "killed at %s: no pull request, no bundle after the restart; opening again works once",
    async (point) => {
      // A branch of its own for each point, with a commit the canonical repository does not have yet.
      const branch = `feature/${point.split(".").pop()}`;
      const pushed = await inWorkspace(
        container,
        `git checkout -q main && git checkout -q -b ${branch}
       echo '${point}' >> src/price.txt
       git commit -q -am '${point}' && git push -q origin ${branch} 2>&1`,
      );
      expect(pushed.code, pushed.stdout).toBe(0);
      const before = await left();

      const first = await serve(point);
      const sato = await signInTo(first, "sato@matsumoto.example");
      const opening = sato
        .post(`/api/v1/packages/${packageId}/pulls`, { branch, title: point })
        .catch((err: Error) => err);
      await pausedAt(first, point);
      // The first point holds the process with the engineer's commits in a bundle under the data directory.
      if (point === "pulls.opening.bundled") expect(bundles()).toHaveLength(1);
      await killHard(first);
      expect(await opening).toBeInstanceOf(Error); // the connection died with the process
      expect(await left()).toEqual(before);

      const second = await serve();
      expect(bundles()).toEqual([]);
      const again = await signInTo(second, "sato@matsumoto.example");
      const res = await again.post(`/api/v1/packages/${packageId}/pulls`, { branch, title: point });
      expect(res.status).toBe(201);
      expect((await res.json()).number).toBe(before.pulls + 1);
      // Once open, opening the same branch again is refused: there is one pull request, not two.
      expect((await again.post(`/api/v1/packages/${packageId}/pulls`, { branch, title: point })).status).toBe(409);
      await stopServe(second);
      expect(await left()).toEqual({ pulls: before.pulls + 1, opened: before.opened + 1, state: "in_review" });
      expect(bundles()).toEqual([]);
    },
    300_000,
  );
});
