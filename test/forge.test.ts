// The built-in forge end to end with the real git: inside a real workspace the engineer pushes a branch to
// the fork, opens a pull request, the lead reviews over HTTP, Azusa merges into the canonical repository,
// and leads and contractors (not other engineers) clone it read-only over Git's smart HTTP.
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dialects } from "./support/databases.ts";
import { sampleContract } from "./support/fixtures.ts";
import { forgeFolders, inWorkspace, run, sourceRepository } from "./support/git.ts";
import { type Client, PASSWORD, startTestAzusa, type TestAzusa } from "./support/harness.ts";
import { ensureBaseImage } from "./support/images.ts";
import { SAMPLE_WBS_ROWS, utf8Csv } from "./support/wbs-files.ts";
import { vetFully } from "./support/workspace-setup.ts";

const SEED_FILE = "src/price.txt";
const SEED_TEXT = "price = 100\ntax = 0.10\ntotal = price * (1 + tax)\n";

describe.each(dialects)("the built-in forge (%s)", (dialect) => {
  const docker = new Docker();
  let dir: string;
  let t: TestAzusa;
  let lead: Client;
  let contractor: Client;
  let sato: Client;
  let ito: Client;
  let osakaLead: Client;
  let satoPackage: string;
  let itoPackage: string;
  let satoContainer: string;
  let itoContainer: string;
  let contractorKey: string;

  const workspaceOf = async (engineer: Client, packageId: string) => {
    const ws = await (await engineer.get(`/api/v1/packages/${packageId}/workspace`)).json();
    await t.running.azusa.workspaces.settled(ws.id);
    expect(await t.running.azusa.workspaces.ready(ws.id)).toEqual({ ok: true });
    const now = await (await engineer.get(`/api/v1/packages/${packageId}/workspace`)).json();
    expect(now).toMatchObject({ state: "running" });
    const [c] = await docker.listContainers({
      filters: { label: [`io.azusa.workspace=${ws.id}`, "io.azusa.role=workspace"] },
    });
    return c?.Id as string;
  };

  const assign = async (packageId: string, engineerId: string, engineer: Client) => {
    expect((await lead.post(`/api/v1/packages/${packageId}/open`)).status).toBe(200);
    const offer = await (await lead.post(`/api/v1/packages/${packageId}/offers`, { engineerId })).json();
    expect((await engineer.post(`/api/v1/offers/${offer.id}/accept`)).status).toBe(200);
    return workspaceOf(engineer, packageId);
  };

  const packageState = async (id: string) => (await (await lead.get(`/api/v1/packages/${id}`)).json()).state;

  /** `git clone` over HTTP as `user` with `password`; returns the run and the clone's folder. */
  const cloneAs = async (user: string, password: string, packageId: string) => {
    const into = mkdtempSync(join(dir, "clone-"));
    const url = new URL(`/git/${packageId}.git`, t.base);
    url.username = encodeURIComponent(user);
    url.password = encodeURIComponent(password);
    const r = await run("git", ["clone", "-q", url.toString(), into]);
    return { ...r, into };
  };

  beforeAll(async () => {
    const image = await ensureBaseImage(docker);
    const folders = forgeFolders("azusa-forge-", image);
    dir = folders.dir;
    const { templates, imports } = folders;
    // The contract's source repository: a local repository in the folder Azusa may import from.
    const seed = join(imports, "hanbai.git");
    await sourceRepository(join(dir, "seed-work"), seed, { [SEED_FILE]: SEED_TEXT }, "販売管理: 価格計算");

    t = await startTestAzusa({
      dialect,
      env: { AZUSA_TEMPLATES_DIR: templates, AZUSA_SCHEDULES: "off", AZUSA_GIT_IMPORT_DIR: imports },
    });
    const tokyo = await t.createTenant("東京SI");
    // Each tenant's sources live in its own folder of the import folder.
    mkdirSync(join(imports, tokyo.id));
    renameSync(seed, join(imports, tokyo.id, "hanbai.git"));
    const osaka = await t.createTenant("大阪SI");
    await t.createUser("contractor", "buyer@tokyo-si.example", tokyo.id);
    const leadId = (await t.createUser("lead", "lead@tokyo-si.example", tokyo.id)).id;
    await t.createUser("lead", "lead@osaka-si.example", osaka.id);
    const satoId = (await t.createUser("engineer", "sato@matsumoto.example")).id;
    const itoId = (await t.createUser("engineer", "ito@matsumoto.example")).id;
    const operator = await t.signIn("root@office.example");
    contractor = await t.signIn("buyer@tokyo-si.example");
    lead = await t.signIn("lead@tokyo-si.example");
    osakaLead = await t.signIn("lead@osaka-si.example");
    sato = await t.signIn("sato@matsumoto.example");
    ito = await t.signIn("ito@matsumoto.example");
    for (const id of [satoId, itoId]) {
      await operator.put(`/api/v1/engineers/${id}`, {
        weeklyCapacityHours: 40,
        skills: [
          { skill: "java", level: 5 },
          { skill: "spring", level: 5 },
        ],
      });
      await vetFully(operator, id);
    }
    const contract = await (
      await contractor.post("/api/v1/contracts", {
        ...sampleContract,
        leadIds: [leadId],
        sourceRepository: `file://${join(imports, tokyo.id, "hanbai.git")}`,
      })
    ).json();
    expect(contract).toMatchObject({ requiredApprovals: 1, engineerCloneAllowed: false });
    await contractor.request("POST", `/api/v1/contracts/${contract.id}/wbs`, utf8Csv(SAMPLE_WBS_ROWS), {
      "content-type": "text/csv",
    });
    const items = (await (await lead.get(`/api/v1/contracts/${contract.id}/packages`)).json()).items;
    const byWbs = Object.fromEntries(items.map((p: { wbsId: string; id: string }) => [p.wbsId, p.id]));
    satoPackage = byWbs["2.3"];
    itoPackage = byWbs["1.2.2"];
    satoContainer = await assign(satoPackage, satoId, sato);
    itoContainer = await assign(itoPackage, itoId, ito);
    contractorKey = (await (await contractor.post("/api/v1/api-keys", { name: "ci" })).json()).key;
  }, 180_000);

  afterAll(async () => {
    await t?.stop();
    for (const c of await docker.listContainers({ all: true, filters: { label: ["io.azusa.package"] } })) {
      if ([satoPackage, itoPackage].includes(c.Labels["io.azusa.package"] ?? ""))
        await docker.getContainer(c.Id).remove({ force: true, v: true });
    }
    for (const v of (await docker.listVolumes({ filters: { label: ["io.azusa.package"] } })).Volumes ?? []) {
      if ([satoPackage, itoPackage].includes(v.Labels?.["io.azusa.package"] ?? ""))
        await docker.getVolume(v.Name).remove();
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("checks the package out in the workspace, seeded from the contract's source, with the fork as origin", async () => {
    const r = await inWorkspace(satoContainer, "git log --format=%s; git remote get-url origin; cat src/price.txt");
    expect(r.stderr).toBe("");
    expect(r.stdout.split("\n")).toEqual(
      expect.arrayContaining(["販売管理: 価格計算", "/workspace/.azusa/origin.git", "price = 100"]),
    );
    // The fork lives in the workspace's own volume, not on a path of the host; beside it, read-only, the
    // package's object store it borrows its history from.
    const info = await docker.getContainer(satoContainer).inspect();
    expect(
      info.Mounts.map((m) => ({ type: m.Type, to: m.Destination, rw: m.RW })).sort((a, b) => a.to.localeCompare(b.to)),
    ).toEqual([
      { type: "volume", to: "/opt/azusa/objects", rw: false },
      { type: "volume", to: "/workspace", rw: true },
    ]);
  });

  it("lets the engineer commit and push a branch to origin, and not to the canonical repository", async () => {
    const pushed = await inWorkspace(
      satoContainer,
      `git checkout -q -b feature/tax
       sed -i 's/tax = 0.10/tax = 0.08/' src/price.txt
       printf 'reduced rate for food\\n' > NOTES.md
       git add -A && git commit -q -m '軽減税率に対応'
       git push -q origin feature/tax 2>&1
       git ls-remote origin feature/tax`,
    );
    expect(pushed.code).toBe(0);
    expect(pushed.stdout).toMatch(/^[0-9a-f]{40}\trefs\/heads\/feature\/tax$/m);
    // The canonical repository is out of reach: no network, and no path to it inside the container.
    const canonical = new URL(`/git/${satoPackage}.git`, t.base).toString();
    const toCanonical = await inWorkspace(satoContainer, `git push ${canonical} feature/tax:main 2>&1`);
    expect(toCanonical.code).not.toBe(0);
    expect(toCanonical.stdout).toMatch(/unable to access|Could not resolve|Failed to connect|Couldn't connect/);
    const repoPath = join(t.running.azusa.forge.pathOf({ name: "x", defaultBranch: "main" }), "..");
    expect((await inWorkspace(satoContainer, `test -e ${repoPath}`)).code).not.toBe(0);
  });

  let pull: { id: string; number: number; headSha: string };

  it("opens a pull request from the pushed branch; the diff shows files, hunks and totals", async () => {
    const res = await sato.post(`/api/v1/packages/${satoPackage}/pulls`, {
      branch: "feature/tax",
      title: "軽減税率",
      description: "食品は 8%",
    });
    expect(res.status).toBe(201);
    pull = await res.json();
    expect(pull).toMatchObject({ number: 1, state: "open", targetBranch: "main", approvals: 0, mergeable: false });
    expect(await packageState(satoPackage)).toBe("in_review");

    const diff = await (await lead.get(`/api/v1/pulls/${pull.id}/diff`)).json();
    expect(diff.stats).toEqual({ files: 2, additions: 2, deletions: 1 });
    const price = diff.files.find((f: { path: string }) => f.path === SEED_FILE);
    expect(price).toMatchObject({ status: "modified", additions: 1, deletions: 1 });
    expect(price.hunks[0].lines).toEqual(
      expect.arrayContaining([
        { kind: "delete", text: "tax = 0.10", oldLine: 2, newLine: null },
        { kind: "add", text: "tax = 0.08", oldLine: null, newLine: 2 },
      ]),
    );
    expect(diff.files.find((f: { path: string }) => f.path === "NOTES.md")).toMatchObject({ status: "added" });
  });

  it("refuses a branch the fork does not have, naming the field", async () => {
    const res = await sato.post(`/api/v1/packages/${satoPackage}/pulls`, { branch: "nope", title: "x" });
    expect(res.status).toBe(400);
    expect((await res.json()).error.fields).toEqual([expect.objectContaining({ path: "branch" })]);
  });

  it("hides the pull request from another tenant's lead and another engineer", async () => {
    for (const path of [`/api/v1/pulls/${pull.id}`, `/api/v1/pulls/${pull.id}/diff`]) {
      expect((await osakaLead.get(path)).status).toBe(404);
      expect((await ito.get(path)).status).toBe(404);
    }
    expect((await osakaLead.post(`/api/v1/pulls/${pull.id}/reviews`, { verdict: "approve" })).status).toBe(404);
    expect((await osakaLead.post(`/api/v1/pulls/${pull.id}/merge`)).status).toBe(404);
    expect((await osakaLead.get(`/api/v1/packages/${satoPackage}/pulls`)).status).toBe(404);
  });

  it("lets the lead request changes with comments on lines, and sends the package back", async () => {
    const bad = await lead.post(`/api/v1/pulls/${pull.id}/reviews`, {
      verdict: "request_changes",
      comments: [{ path: "README.md", line: 1, body: "?" }],
    });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.fields).toEqual([expect.objectContaining({ path: "comments.0.path" })]);
    expect((await sato.post(`/api/v1/pulls/${pull.id}/reviews`, { verdict: "approve" })).status).toBe(403);

    const res = await lead.post(`/api/v1/pulls/${pull.id}/reviews`, {
      verdict: "request_changes",
      body: "根拠を書いてください",
      comments: [{ path: SEED_FILE, line: 2, body: "軽減税率の対象は食品のみ" }],
    });
    expect(res.status).toBe(201);
    const after = await res.json();
    expect(after.reviews).toEqual([
      expect.objectContaining({
        verdict: "changes_requested",
        commitSha: pull.headSha,
        comments: [{ path: SEED_FILE, line: 2, body: "軽減税率の対象は食品のみ" }],
      }),
    ]);
    expect(await packageState(satoPackage)).toBe("changes_requested");
  });

  it("dismisses an approval when the engineer pushes again, and merges only an approved head", async () => {
    const approved = await (await lead.post(`/api/v1/pulls/${pull.id}/reviews`, { verdict: "approve" })).json();
    expect(approved).toMatchObject({ approvals: 1, mergeable: true });

    const pushed = await inWorkspace(
      satoContainer,
      `printf 'reduced rate for food (食品)\\n' > NOTES.md
       git commit -q -am '対象を明記' && git push -q origin feature/tax 2>&1 && git rev-parse HEAD`,
    );
    expect(pushed.code).toBe(0);
    const head = pushed.stdout.trim();

    const seen = await (await lead.get(`/api/v1/pulls/${pull.id}`)).json();
    expect(seen).toMatchObject({ headSha: head, approvals: 0, mergeable: false });
    expect(seen.reviews.find((r: { verdict: string }) => r.verdict === "approved")).toMatchObject({
      commitSha: pull.headSha,
      dismissedAt: expect.any(String),
    });
    expect(await packageState(satoPackage)).toBe("in_progress");
    const refused = await lead.post(`/api/v1/pulls/${pull.id}/merge`);
    expect(refused.status).toBe(409);
    expect((await refused.json()).error.code).toBe("INVALID_STATE");

    expect((await lead.post(`/api/v1/pulls/${pull.id}/reviews`, { verdict: "approve" })).status).toBe(201);
    expect(await packageState(satoPackage)).toBe("in_review");
    const merged = await lead.post(`/api/v1/pulls/${pull.id}/merge`);
    expect(merged.status).toBe(200);
    const body = await merged.json();
    expect(body).toMatchObject({ state: "merged", headSha: head, mergeSha: expect.stringMatching(/^[0-9a-f]{40}$/) });
    expect(await packageState(satoPackage)).toBe("in_review");

    // The canonical main now has the engineer's commit, under Azusa's merge commit.
    const clone = await cloneAs("lead@tokyo-si.example", PASSWORD, satoPackage);
    expect(clone.code).toBe(0);
    expect(readFileSync(join(clone.into, SEED_FILE), "utf8")).toContain("tax = 0.08");
    const log = await run("git", ["log", "--format=%H %P", "-1"], { cwd: clone.into });
    expect(log.stdout.trim().split(" ")).toEqual([body.mergeSha, expect.any(String), head]);

    const audit = await (await contractor.get("/api/v1/audit-events?limit=50")).json();
    const actions = audit.items.map((e: { action: string }) => e.action);
    expect(actions).toEqual(
      expect.arrayContaining([
        "repository.created",
        "repository.fork_created",
        "pull_request.opened",
        "review.changes_requested",
        "review.approved",
        "pull_request.pushed",
        "review.dismissed",
        "pull_request.merged",
      ]),
    );

    // Each step that waits on someone told them: the lead of the review waiting, the engineer of the verdicts.
    const told = async (c: Client) =>
      ((await (await c.get("/api/v1/notifications")).json()).items as { kind: string; subject: string }[])
        .filter((n) => n.subject === `pull_request:${pull.id}`)
        .map((n) => n.kind);
    expect(await told(lead)).toEqual(expect.arrayContaining(["pull_request.opened", "pull_request.pushed"]));
    expect(await told(sato)).toEqual(
      expect.arrayContaining(["review.changes_requested", "review.approved", "pull_request.merged"]),
    );
    expect(await told(sato)).not.toContain("pull_request.opened");
    expect(await told(lead)).not.toContain("review.approved");
  });

  it("answers a conflicting pull request with 409 naming the files", async () => {
    const pushed = await inWorkspace(
      satoContainer,
      `git checkout -q -b feature/rounding origin/main~1 2>/dev/null || git checkout -q -b feature/rounding "$(git rev-list --max-parents=0 HEAD)"
       sed -i 's/tax = 0.10/tax = 0.1/' src/price.txt
       git commit -q -am '端数' && git push -q origin feature/rounding 2>&1`,
    );
    expect(pushed.code).toBe(0);
    const opened = await sato.post(`/api/v1/packages/${satoPackage}/pulls`, {
      branch: "feature/rounding",
      title: "端数",
    });
    expect(opened.status).toBe(201);
    const second = await opened.json();
    expect((await lead.post(`/api/v1/pulls/${second.id}/reviews`, { verdict: "approve" })).status).toBe(201);
    const res = await lead.post(`/api/v1/pulls/${second.id}/merge`);
    expect(res.status).toBe(409);
    const err = (await res.json()).error;
    expect(err.code).toBe("CONFLICT");
    expect(err.message).toContain(SEED_FILE);
  });

  it("serves the canonical repository read-only over HTTP to the tenant's people only", async () => {
    const byLead = await cloneAs("lead@tokyo-si.example", PASSWORD, satoPackage);
    expect(byLead.code).toBe(0);
    // Azusa's private refs (fork branches, pull request heads) are not advertised.
    const refs = await run("git", ["ls-remote", "origin"], { cwd: byLead.into });
    expect(refs.stdout).not.toContain("refs/azusa");
    expect(refs.stdout).toMatch(/\trefs\/heads\/main$/m);

    expect((await cloneAs("ci", contractorKey, satoPackage)).code).toBe(0);

    const denied = {
      otherEngineer: (await cloneAs("ito@matsumoto.example", PASSWORD, satoPackage)).code,
      ownEngineerWithoutPermission: (await cloneAs("sato@matsumoto.example", PASSWORD, satoPackage)).code,
      otherTenantLead: (await cloneAs("lead@osaka-si.example", PASSWORD, satoPackage)).code,
      wrongPassword: (await cloneAs("lead@tokyo-si.example", "not-the-password", satoPackage)).code,
    };
    expect(denied).toEqual({
      otherEngineer: 128,
      ownEngineerWithoutPermission: 128,
      otherTenantLead: 128,
      wrongPassword: 128,
    });

    const push = await run("git", ["push", "origin", "HEAD:refs/heads/main"], { cwd: byLead.into });
    expect(push.code).not.toBe(0);
    expect(push.stderr).toMatch(/403|read-only/);
  });

  it("keeps each package's work to its own workspace: another package's commits are nowhere in it", async () => {
    const sato = await inWorkspace(satoContainer, "git fetch -q origin && git rev-parse origin/main feature/tax");
    expect(sato.code).toBe(0);
    const shas = sato.stdout.trim().split("\n");
    expect(shas).toHaveLength(2);
    // Seeded from the same source, but neither the merge nor the engineer's branch of the other package is there,
    // not after a fetch either: the fork borrows only its own package's store, which it cannot write.
    const ito = await inWorkspace(
      itoContainer,
      `git fetch -q origin
       for sha in ${shas.join(" ")}; do git cat-file -e "$sha" 2>/dev/null && echo "has $sha"; done
       git log --all --format=%s | grep -c '軽減税率に対応' || true
       cat .azusa/origin.git/objects/info/alternates
       touch /opt/azusa/objects/x 2>/dev/null && echo wrote || true`,
    );
    expect(ito.code).toBe(0);
    expect(ito.stdout.trim().split("\n")).toEqual(["0", "/opt/azusa/objects"]);
    const stores = await Promise.all(
      [satoContainer, itoContainer].map(
        async (c) =>
          (await docker.getContainer(c).inspect()).Mounts.find((m) => m.Destination === "/opt/azusa/objects")?.Name,
      ),
    );
    expect(stores[0]).toBeTruthy();
    expect(stores[0]).not.toBe(stores[1]);
    // The store holds objects only: no ref of the canonical repository, whose own refs (pull request heads,
    // the forks' branches) the workspace cannot list either.
    const seen = await inWorkspace(
      itoContainer,
      `find /opt/azusa/objects -mindepth 1 | sed 's/[0-9a-f]\\{40,64\\}/H/' | sort
       git ls-remote origin | grep -c refs/azusa || true`,
    );
    expect(seen.stdout.trim().split("\n")).toEqual([
      "/opt/azusa/objects/pack",
      "/opt/azusa/objects/pack/pack-H.idx",
      "/opt/azusa/objects/pack/pack-H.pack",
      "/opt/azusa/objects/ready-H",
      "0",
    ]);
  });
});
