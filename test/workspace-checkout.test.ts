// A workspace is handed over as soon as its container runs and its code is checked out right after: an
// SSH session opened at once still finds the code, a checkout that fails fails the workspace with the
// reason (SSH says why), and one a restart interrupted is done again by reconcile before anyone gets in.
import { randomBytes } from "node:crypto";
import { mkdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dialects } from "./support/databases.ts";
import { sweepInstance } from "./support/docker.ts";
import { sampleContract } from "./support/fixtures.ts";
import { forgeFolders, inWorkspace, sourceRepository } from "./support/git.ts";
import { type Client, startTestAzusa, type TestAzusa } from "./support/harness.ts";
import { ensureBaseImage } from "./support/images.ts";
import { type KeyFile, keyFile, run, sshArgs, sshHome } from "./support/ssh-client.ts";
import { SAMPLE_WBS_ROWS, utf8Csv } from "./support/wbs-files.ts";
import { vetFully } from "./support/workspace-setup.ts";

const SEED_FILE = "src/price.txt";
const SEED_TEXT = "price = 100\ntax = 0.10\n";

describe.each(dialects)("checking out a workspace's code (%s)", (dialect) => {
  const docker = new Docker();
  const instance = `test-checkout-${randomBytes(5).toString("hex")}`;
  let dir: string;
  let t: TestAzusa;
  let lead: Client;
  let contractor: Client;
  let operator: Client;
  let sato: Client;
  let satoId: string;
  let key: KeyFile;
  let home: { dir: string; knownHosts: string };

  /** A contract whose repository is seeded from `source`, with the sample WBS; its packages by WBS id. */
  const contractFrom = async (source: string, leadId: string): Promise<Record<string, string>> => {
    const contract = await (
      await contractor.post("/api/v1/contracts", { ...sampleContract, leadIds: [leadId], sourceRepository: source })
    ).json();
    await contractor.request("POST", `/api/v1/contracts/${contract.id}/wbs`, utf8Csv(SAMPLE_WBS_ROWS), {
      "content-type": "text/csv",
    });
    const items = (await (await lead.get(`/api/v1/contracts/${contract.id}/packages`)).json()).items;
    return Object.fromEntries(items.map((p: { wbsId: string; id: string }) => [p.wbsId, p.id]));
  };

  /** Opens, offers and has sato accept the package; returns the new workspace's id. */
  const accept = async (packageId: string): Promise<string> => {
    expect((await lead.post(`/api/v1/packages/${packageId}/open`)).status).toBe(200);
    const offer = await (await lead.post(`/api/v1/packages/${packageId}/offers`, { engineerId: satoId })).json();
    expect((await sato.post(`/api/v1/offers/${offer.id}/accept`)).status).toBe(200);
    return (await (await sato.get(`/api/v1/packages/${packageId}/workspace`)).json()).id;
  };

  const ssh = (packageId: string, command: string) =>
    run("ssh", [
      ...sshArgs({ port: t.running.sshPort, key: key.path, knownHosts: home.knownHosts, user: `pkg-${packageId}` }),
      command,
    ]);

  const workspaceOf = async (packageId: string) => (await sato.get(`/api/v1/packages/${packageId}/workspace`)).json();

  // the operator's view: refused logins belong to no tenant
  const auditEvents = async () =>
    (await (await operator.get("/api/v1/audit-events?limit=100")).json()).items as {
      action: string;
      subject: string;
      details: Record<string, unknown>;
    }[];

  let seeded: Record<string, string>;
  let tokyoId: string;
  let broken: Record<string, string>;

  beforeAll(async () => {
    const image = await ensureBaseImage(docker);
    const folders = forgeFolders("azusa-checkout-", image);
    dir = folders.dir;
    const { templates, imports } = folders;
    // The contract's source: a few MB of data that do not compress, so that checking it out takes longer
    // than an SSH login does; a session let in before the checkout had finished would see no code.
    await sourceRepository(
      join(dir, "source"),
      join(imports, "hanbai.git"),
      { [SEED_FILE]: SEED_TEXT, "src/fixtures.bin": randomBytes(8 * 1024 * 1024) },
      "販売管理: 価格計算",
    );
    // A source that is a repository when the contract names it and loses its objects afterwards: its
    // checkout cannot succeed.
    await sourceRepository(join(dir, "broken-work"), join(imports, "broken.git"), { "a.txt": "a\n" }, "a");

    t = await startTestAzusa({
      dialect,
      env: {
        AZUSA_TEMPLATES_DIR: templates,
        AZUSA_SCHEDULES: "off",
        AZUSA_GIT_IMPORT_DIR: imports,
        AZUSA_INSTANCE_ID: instance,
      },
    });
    const tokyo = await t.createTenant("東京SI");
    tokyoId = tokyo.id;
    // Each tenant's sources live in its own folder of the import folder.
    mkdirSync(join(imports, tokyoId));
    for (const name of ["hanbai.git", "broken.git"]) renameSync(join(imports, name), join(imports, tokyoId, name));
    await t.createUser("contractor", "buyer@tokyo-si.example", tokyo.id);
    const leadId = (await t.createUser("lead", "lead@tokyo-si.example", tokyo.id)).id;
    satoId = (await t.createUser("engineer", "sato@matsumoto.example")).id;
    operator = await t.signIn("root@office.example");
    contractor = await t.signIn("buyer@tokyo-si.example");
    lead = await t.signIn("lead@tokyo-si.example");
    sato = await t.signIn("sato@matsumoto.example");
    await operator.put(`/api/v1/engineers/${satoId}`, {
      weeklyCapacityHours: 80,
      skills: ["java", "spring", "oracle", "sql", "業務分析", "テスト設計"].map((skill) => ({ skill, level: 5 })),
    });
    await vetFully(operator, satoId);
    key = keyFile(dir, "sato");
    expect((await sato.post(`/api/v1/engineers/${satoId}/ssh-keys`, { publicKey: key.publicKey })).status).toBe(201);
    home = sshHome(t.running.azusa.sshGateway.hostPublicKey, t.running.sshPort);
    seeded = await contractFrom(`file://${join(imports, tokyoId, "hanbai.git")}`, leadId);
    broken = await contractFrom("broken.git", leadId);
    rmSync(join(imports, tokyoId, "broken.git", "objects"), { recursive: true, force: true });
  }, 180_000);

  afterAll(async () => {
    await t?.stop();
    await sweepInstance(docker, instance);
    if (home) rmSync(home.dir, { recursive: true, force: true });
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("makes the package's repository when the package is offered, before anyone accepts", async () => {
    const packageId = seeded["2.1"] as string;
    expect((await lead.post(`/api/v1/packages/${packageId}/open`)).status).toBe(200);
    expect((await lead.post(`/api/v1/packages/${packageId}/offers`, { engineerId: satoId })).status).toBe(201);
    await t.running.azusa.pulls.drain();

    // Made in the forge, seeded from the contract's source, and not yet recorded: until someone accepts, the
    // tenant may still put the package's repository on GitHub.
    const repo = { name: `${tokyoId}/${packageId}.git`, defaultBranch: "main" };
    expect(await t.running.azusa.forge.headOf(repo, "main")).toMatch(/^[0-9a-f]{40}$/);
    const made = (e: { action: string; subject: string }) =>
      e.action === "repository.created" && e.subject === `package:${packageId}`;
    expect((await auditEvents()).find(made)).toBeUndefined();
    expect((await sato.get(`/api/v1/packages/${packageId}/workspace`)).status).toBe(404);

    // Accepting records the repository made ahead, as it was made.
    const offers = (await (await sato.get("/api/v1/offers")).json()).items as { id: string; packageId: string }[];
    const offer = offers.find((o) => o.packageId === packageId);
    expect((await sato.post(`/api/v1/offers/${offer?.id}/accept`)).status).toBe(200);
    const ws = (await (await sato.get(`/api/v1/packages/${packageId}/workspace`)).json()).id;
    await t.running.azusa.workspaces.settled(ws);
    expect((await auditEvents()).find(made)?.details).toMatchObject({
      forge: "builtin",
      seededFrom: expect.stringContaining("hanbai.git"),
    });
    expect(await workspaceOf(packageId)).toMatchObject({ state: "running" });
  });

  it("lets an SSH session opened as soon as the workspace is handed over find the package's code", async () => {
    const packageId = seeded["2.3"] as string;
    const ws = await accept(packageId);
    await t.running.azusa.workspaces.handedOver(ws);
    expect(await workspaceOf(packageId)).toMatchObject({ state: "running" });

    const r = await ssh(
      packageId,
      `cat ${SEED_FILE}; git log --format=%s; git remote get-url origin; git -C .azusa/origin.git symbolic-ref HEAD`,
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    // the fork's own HEAD names main too, so that cloning the fork checks main out
    expect(r.stdout.toString()).toBe(`${SEED_TEXT}販売管理: 価格計算\n/workspace/.azusa/origin.git\nrefs/heads/main\n`);
    const actions = (await auditEvents()).filter((e) => e.subject === `workspace:${ws}`).map((e) => e.action);
    expect(actions).toContain("repository.fork_created");
  });

  it("says in the API and on the engineer's page when the code is checked out, and how long it took", async () => {
    const packageId = seeded["2.3"] as string;
    const ws = await workspaceOf(packageId);
    await t.running.azusa.workspaces.settled(ws.id);
    const done = await workspaceOf(packageId);
    expect(done).toMatchObject({ state: "running", checkout: "done", checkedOutAt: expect.any(String) });
    expect(Date.parse(done.checkedOutAt)).toBeGreaterThanOrEqual(Date.parse(done.createdAt));
    expect(done.checkoutMs).toBe(Date.parse(done.checkedOutAt) - Date.parse(done.createdAt));
    const page = await (await sato.get("/my-packages")).text();
    expect(page).toContain('data-checkout="done"');
    expect(page).toContain(`（受諾から ${(done.checkoutMs / 1000).toFixed(1)} 秒）`);
  });

  it("keeps the fork in .azusa/, which the engineer sees in the folder and git leaves out of the checkout", async () => {
    const packageId = seeded["2.2"] as string;
    await t.running.azusa.workspaces.settled(await accept(packageId));
    const r = await ssh(packageId, "ls -A /workspace; echo --; git status --porcelain --ignored; echo --");
    expect(r.stderr).toBe("");
    // ignored, never untracked: git status stays clean and git add -A leaves it out
    expect(r.stdout.toString()).toBe(".azusa\n.git\nsrc\n--\n!! .azusa/\n--\n");
  });

  it("fills the package's object store while the container starts, so that the code is checked out in one go", async () => {
    const packageId = seeded["3.2"] as string;
    await t.running.azusa.workspaces.settled(await accept(packageId));
    const ws = await workspaceOf(packageId);
    expect(ws).toMatchObject({ state: "running", checkout: "done" });
    const [container] = await docker.listContainers({
      filters: { label: [`io.azusa.workspace=${ws.id}`, "io.azusa.role=workspace"] },
    });
    // The package is new, so its store was empty: a checkout that found it so would have run twice.
    const stream = await docker.getEvents({
      since: Math.floor(Date.parse(ws.createdAt) / 1000) - 1,
      until: Math.floor(Date.now() / 1000) + 1,
      filters: { type: ["container"], container: [container?.Id as string], event: ["exec_create"] },
    });
    let text = "";
    for await (const chunk of stream) text += chunk.toString();
    const seeds = text
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line).Action as string)
      .filter((action) => action.includes(" seed-fork "));
    expect(seeds).toHaveLength(1);
  });

  it("fails a workspace whose checkout fails, with the reason, and tells SSH why", async () => {
    const packageId = broken["2.3"] as string;
    const ws = await accept(packageId);
    await t.running.azusa.workspaces.settled(ws);

    const now = await workspaceOf(packageId);
    expect(now).toMatchObject({ state: "failed", checkout: "failed", checkedOutAt: null, checkoutMs: null });
    expect(now.reason).toMatch(/^checking out the package's code failed: git clone failed/);
    expect(await t.running.azusa.workspaces.ready(ws)).toEqual({
      ok: false,
      reason: now.reason,
      // Said in the engineer's language: the stored reason read as the pages read it.
      text: {
        key: "access.checkoutFailed",
        params: {
          why: {
            key: "workspaceReason.checkoutFailed",
            params: { detail: expect.stringMatching(/^git clone failed/) },
          },
        },
      },
    });

    await t.running.azusa.pulls.drain();
    // tried first when the package was offered, and logged there too
    expect(t.logs.join("")).toContain("making the package's repository ahead of its workspace failed");

    const r = await ssh(packageId, "ls");
    expect(r.code).toBe(255);
    const events = await auditEvents();
    expect(
      events.find((e) => e.action === "workspace.failed" && e.subject === `workspace:${ws}`)?.details,
    ).toMatchObject({ from: "running", reason: now.reason });
    const refused = events.find((e) => e.action === "ssh.refused");
    expect(refused?.details).toMatchObject({ code: "no_workspace", reason: `the workspace is failed: ${now.reason}` });
  });

  it("lets nobody in while a checkout is unfinished, and reconcile does it again", async () => {
    const packageId = seeded["1.2.2"] as string;
    const ws = await accept(packageId);
    await t.running.azusa.workspaces.settled(ws);
    // As a restart in the middle of the checkout leaves it: handed over, its code not (all) there.
    await t.running.azusa.db.kysely.updateTable("workspace").set({ prepared_at: null }).where("id", "=", ws).execute();
    const [container] = await docker.listContainers({
      filters: { label: [`io.azusa.workspace=${ws}`, "io.azusa.role=workspace"] },
    });
    expect((await inWorkspace(container?.Id as string, "rm -rf src .azusa/origin.git")).code).toBe(0);
    // The API tells what only an SSH login told before: running, its code not there yet.
    expect(await workspaceOf(packageId)).toMatchObject({ state: "running", checkout: "pending", checkedOutAt: null });

    expect((await ssh(packageId, "ls")).code).toBe(255);
    expect((await auditEvents()).find((e) => e.action === "ssh.refused")?.details).toMatchObject({
      code: "no_workspace",
      reason: "the workspace's code is still being checked out; try again in a moment",
    });

    const result = await t.running.azusa.workspaces.reconcile();
    expect(result.resumed).toBe(1);
    await t.running.azusa.workspaces.settled(ws);
    expect(await workspaceOf(packageId)).toMatchObject({ state: "running", checkout: "done" });

    const r = await ssh(packageId, `cat ${SEED_FILE}; git status --porcelain; git log --format=%s`);
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toBe(`${SEED_TEXT}販売管理: 価格計算\n`);
    expect(
      (await auditEvents()).find((e) => e.action === "workspace.resumed" && e.subject === `workspace:${ws}`),
    ).toBeDefined();
  });
});
