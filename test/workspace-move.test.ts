// Moving a stopped workspace to another workspace host: a second, real dockerd over mutual TLS registered beside
// the default engine. Its files (an odd name, a symlink, a 20 MiB file, owners and modes) are carried through Azusa
// into a new volume there, the workspace starts there with them and with its checkout working, and the old
// container and volume are gone; a running workspace, a drained host, bad input and other people are refused.
import { rmSync } from "node:fs";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dialects } from "./support/databases.ts";
import { runIn } from "./support/docker.ts";
import { farTemplates, registerFarHost } from "./support/far-host.ts";
import { type Client, startTestAzusa, type TestAzusa } from "./support/harness.ts";
import { csrfTokenIn, getPage, postForm } from "./support/pages.ts";
import { secondEngineForTests } from "./support/second-engine.ts";
import { prepareWorkspaces, type WorkspaceSetup } from "./support/workspace-setup.ts";

const engine = secondEngineForTests();
const local = new Docker();

/** The workspace container of workspace `id` on `docker`, if there is one. */
async function containerOf(docker: Docker, id: string) {
  const [c] = await docker.listContainers({
    all: true,
    filters: { label: [`io.azusa.workspace=${id}`, "io.azusa.role=workspace"] },
  });
  return c;
}

// What the engineer leaves in the workspace, and how it reads back: names, kinds, owners, modes and checksums.
const makeFiles = [
  "set -e; cd /workspace",
  "printf 'odd\\n' > \"odd name 'ü' \\$x \\\\ end\"",
  "mkdir -p private/deep && chmod 700 private && printf 'secret\\n' > private/deep/key && chmod 600 private/deep/key",
  "ln -s private/deep/key link-to-key",
  "head -c 20971520 /dev/urandom > big.bin",
].join("\n");
const readFiles = [
  "set -e; cd /workspace",
  "find . -path ./.git -prune -o -print0 | sort -z | xargs -0 stat -c '%n|%F|%U:%G|%a|%s'",
  "sha256sum big.bin private/deep/key \"odd name 'ü' \\$x \\\\ end\"",
  "readlink link-to-key",
].join("\n");

describe.each(dialects)("moving a workspace between hosts on %s", (dialect) => {
  let t: TestAzusa;
  let operator: Client;
  let setup: WorkspaceSetup;
  let templatesDir: string;
  let farId: string;
  let ws: { id: string; packageId: string };
  let before: string;
  let oldContainer: string;
  let oldVolume: string;
  const suffix = `-move-${dialect}`;

  beforeAll(async () => {
    templatesDir = farTemplates();
    t = await startTestAzusa({ dialect, env: { AZUSA_TEMPLATES_DIR: templatesDir, AZUSA_SCHEDULES: "off" } });
    operator = await t.signIn("root@office.example");
    setup = await prepareWorkspaces(t.base, operator, suffix);
    farId = await registerFarHost(operator, engine());
    // placed on the default engine: the far one takes nothing while drained
    expect((await operator.post(`/api/v1/workspace-hosts/${farId}/drain`)).status).toBe(200);
    const first = await setup.accept("2.3");
    await t.running.azusa.workspaces.settled(first.id);
    const packageId = setup.pkg["2.3"]?.id ?? "";
    const found = await (await setup.sato.get(`/api/v1/packages/${packageId}/workspace`)).json();
    expect(found, JSON.stringify(found)).toMatchObject({ state: "running", hostId: "local", checkout: "done" });
    ws = { id: first.id, packageId };
    const c = await containerOf(local, ws.id);
    oldContainer = c?.Id ?? "";
    oldVolume = c?.Mounts.find((m) => m.Destination === "/workspace")?.Name ?? "";
    expect(oldVolume).not.toBe("");
    const made = await runIn(local, oldContainer, ["bash", "-c", makeFiles]);
    expect(made, made.err).toMatchObject({ code: 0 });
    const read = await runIn(local, oldContainer, ["bash", "-c", readFiles]);
    expect(read.code, read.err).toBe(0);
    before = read.out;
  }, 300_000);

  afterAll(async () => {
    await t?.stop();
    rmSync(templatesDir, { recursive: true, force: true });
  });

  const moveAs = (who: Client, body: unknown) => who.post(`/api/v1/workspaces/${ws.id}/move`, body);

  it("refuses to move a running workspace (409), and bad input names its field (400)", async () => {
    expect((await operator.post(`/api/v1/workspace-hosts/${farId}/activate`)).status).toBe(200);
    const running = await moveAs(operator, { hostId: farId, reason: "rack maintenance" });
    expect(running.status).toBe(409);
    expect(await running.json()).toMatchObject({ error: { code: "INVALID_STATE" } });
    const noHost = await moveAs(operator, { reason: "rack maintenance" });
    expect(noHost.status).toBe(400);
    expect(JSON.stringify(await noHost.json())).toContain("hostId");
    const noReason = await moveAs(operator, { hostId: farId, reason: " " });
    expect(noReason.status).toBe(400);
    expect(JSON.stringify(await noReason.json())).toContain("reason");
    // nothing moved
    expect((await containerOf(local, ws.id))?.Id).toBe(oldContainer);
    expect(await containerOf(engine().docker, ws.id)).toBeUndefined();
  }, 60_000);

  it("is the operator's: another tenant's lead is told it does not exist, its engineer is refused", async () => {
    expect((await setup.sato.post(`/api/v1/workspaces/${ws.id}/stop`)).status).toBe(200);
    const tenant = await t.createTenant(`他社${suffix}`);
    const email = `lead${suffix}@other.example`;
    await t.createUser("lead", email, tenant.id);
    const stranger = await t.signIn(email);
    const res = await moveAs(stranger, { hostId: farId, reason: "curious" });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: "NOT_FOUND" } });
    expect((await moveAs(setup.sato, { hostId: farId, reason: "faster" })).status).toBe(403);
    const unknown = await moveAs(operator, { hostId: "no-such-host", reason: "rack maintenance" });
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(await unknown.json())).toContain("hostId");
    expect((await moveAs(operator, { hostId: "local", reason: "stay" })).status).toBe(409);
  }, 60_000);

  it("refuses a drained or down host (409), on the operators' page too, and leaves the workspace where it was", async () => {
    const page = await getPage(operator, "/workspaces");
    expect(page.html).toContain(`action="/workspaces/${ws.id}/move"`);
    expect(page.html).toContain("このホストへ移動");
    expect((await operator.post(`/api/v1/workspace-hosts/${farId}/drain`)).status).toBe(200);
    const res = await moveAs(operator, { hostId: farId, reason: "rack maintenance" });
    expect(res.status).toBe(409);
    expect((await res.json()).error.message).toContain("draining");
    const refused = await postForm(operator, `/workspaces/${ws.id}/move`, {
      _csrf: csrfTokenIn(page.html),
      hostId: farId,
      reason: "ラック保守",
    });
    expect(refused.status).toBe(409);
    expect(refused.html).toContain("ワークスペースを移動できませんでした");
    expect((await operator.post(`/api/v1/workspace-hosts/${farId}/down`)).status).toBe(200);
    const down = await moveAs(operator, { hostId: farId, reason: "rack maintenance" });
    expect(down.status).toBe(409);
    expect((await down.json()).error.message).toContain("far-away: down");
    expect((await operator.post(`/api/v1/workspace-hosts/${farId}/activate`)).status).toBe(200);
    expect((await containerOf(local, ws.id))?.Id).toBe(oldContainer);
  }, 60_000);

  it("moves the stopped workspace with its files, once when asked twice at once; it starts there with them", async () => {
    const reason = "rack maintenance";
    // two operators' requests at once: one moves it, the other is refused while the first holds the workspace
    const both = await Promise.all([
      moveAs(operator, { hostId: farId, reason }),
      moveAs(operator, { hostId: farId, reason }),
    ]);
    const statuses = both.map((r) => r.status).sort();
    expect(statuses, JSON.stringify(await Promise.all(both.map((r) => r.clone().text())))).toEqual([200, 409]);
    const won = both.find((r) => r.status === 200);
    expect(await won?.json()).toMatchObject({ id: ws.id, state: "stopped", hostId: farId });
    const shownMoved = await (await setup.sato.get(`/api/v1/packages/${ws.packageId}/workspace`)).json();
    expect(shownMoved).toMatchObject({ id: ws.id, state: "stopped", hostId: farId });
    // the old container and volume are removed from the default engine
    await expect(local.getContainer(oldContainer).inspect()).rejects.toMatchObject({ statusCode: 404 });
    await expect(local.getVolume(oldVolume).inspect()).rejects.toMatchObject({ statusCode: 404 });
    const audit = await (await operator.get("/api/v1/audit-events?limit=100")).json();
    const moves = (audit.items as { action: string; subject: string; details: Record<string, unknown> }[]).filter(
      (e) => e.subject === `workspace:${ws.id}` && e.action === "workspace.moved",
    );
    expect(moves).toHaveLength(1);
    const me = await (await operator.get("/api/v1/me")).json();
    expect(moves[0]?.details).toMatchObject({ from: "local", to: farId, by: me.id, reason });
    expect(moves[0]?.details.bytes).toBeGreaterThan(20 * 1024 * 1024);

    const started = await setup.sato.post(`/api/v1/workspaces/${ws.id}/start`);
    expect(started.status, await started.clone().text()).toBe(200);
    const there = await containerOf(engine().docker, ws.id);
    expect(there?.State).toBe("running");
    const after = await runIn(engine().docker, there?.Id ?? "", ["bash", "-c", readFiles]);
    expect(after.code, after.err).toBe(0);
    expect(after.out).toBe(before);
    expect(after.out).toContain("./private|directory|azusa:azusa|700|");
    expect(after.out).toContain("./link-to-key|symbolic link|");
    // the checkout works there: its history is read through the package's object store on the new host
    const git = await runIn(engine().docker, there?.Id ?? "", ["git", "-C", "/workspace", "log", "--oneline", "-1"]);
    expect(git, git.err).toMatchObject({ code: 0 });
    const shown = await (await setup.sato.get(`/api/v1/packages/${ws.packageId}/workspace`)).json();
    expect(shown).toMatchObject({ state: "running", hostId: farId, unavailable: null });
  }, 300_000);

  it("moves it back from the host over TLS from the operators' page, its files with it", async () => {
    const farContainer = (await containerOf(engine().docker, ws.id))?.Id ?? "";
    expect((await setup.sato.post(`/api/v1/workspaces/${ws.id}/stop`)).status).toBe(200);
    // while its host does not answer, its files cannot be carried off it: refused at once, nothing made
    await engine().reachable(false);
    try {
      const silent = await moveAs(operator, { hostId: "local", reason: "the rack is dark" });
      expect(silent.status).toBe(409);
      expect((await silent.json()).error.message).toContain("does not answer");
      expect(await containerOf(local, ws.id)).toBeUndefined();
    } finally {
      await engine().reachable(true);
    }
    const page = await getPage(operator, "/workspaces");
    const res = await postForm(operator, `/workspaces/${ws.id}/move`, {
      _csrf: csrfTokenIn(page.html),
      hostId: "local",
      reason: "ラック保守の終了",
    });
    expect(res.status, res.html).toBe(303);
    const after = await getPage(operator, res.location ?? "");
    expect(after.html).toMatch(/のワークスペースを \S+ へ移動しました/);
    await expect(engine().docker.getContainer(farContainer).inspect()).rejects.toMatchObject({ statusCode: 404 });
    expect((await setup.sato.post(`/api/v1/workspaces/${ws.id}/start`)).status).toBe(200);
    const home = await containerOf(local, ws.id);
    expect(home?.State).toBe("running");
    const read = await runIn(local, home?.Id ?? "", ["bash", "-c", readFiles]);
    expect(read.code, read.err).toBe(0);
    expect(read.out).toBe(before);
  }, 300_000);
});
