// Forge benchmark on a real-sized repository (bench/support/forge-repo.ts: 2,600 commits, 420 tags, a pack of
// about 18 MB made by `git fast-import`), with the built-in forge, real workspaces and the real git, side by
// side in one run: accept → code checked out against a plain `git clone --no-local` in a fresh container of
// the same image; what a one-line push adds to the canonical repository; opening and reading pull requests;
// a 200-file diff against `git diff`; merge → merged commit fetchable in the workspace; disk per workspace.
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import Docker from "dockerode";
import { sampleContract } from "../test/support/fixtures.ts";
import { forgeFolders, inWorkspace, run } from "../test/support/git.ts";
import { type ApiResponse, type Client, startTestAzusa } from "../test/support/harness.ts";
import { ensureBaseImage } from "../test/support/images.ts";
import { SAMPLE_WBS_ROWS, utf8Csv } from "../test/support/wbs-files.ts";
import { makeRepository } from "./support/forge-repo.ts";

const WORKSPACES = 3;
const PULLS = 10;
const DIFF_FILES = 200;
const DIFF_RUNS = 5;
const TARGETS = {
  ready_ratio: 0.5,
  push_bytes_ratio: 2,
  pull_open_ms: 300,
  pull_read_ms: 300,
  diff_ratio: 5,
  merge_visible_ms: 1000,
};

const round = (n: number, d = 0) => Math.round(n * 10 ** d) / 10 ** d;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
const MiB = 1024 * 1024;

/** Bytes of every file below `dir`. */
const bytesIn = (dir: string): number =>
  readdirSync(dir, { withFileTypes: true }).reduce((sum, e) => {
    const path = join(dir, e.name);
    return sum + (e.isDirectory() ? bytesIn(path) : statSync(path).size);
  }, 0);

/** Runs `work` and returns how long it took in milliseconds, with its result. */
async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await work();
  return { ms: performance.now() - start, value };
}

/** A script in the workspace that must succeed; its output. */
async function inWs(container: string, script: string): Promise<string> {
  const r = await inWorkspace(container, script);
  if (r.code !== 0) throw new Error(`in the workspace: ${script.slice(0, 80)}…: ${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** A response that must have `status`; its body. */
async function expectStatus(res: Promise<ApiResponse>, status: number, what: string) {
  const r = await res;
  if (r.status !== status) throw new Error(`${what}: ${r.status} ${await r.text()}`);
  return r.json();
}

async function main() {
  const docker = new Docker();
  const image = await ensureBaseImage(docker);
  const { dir, templates, imports } = forgeFolders("azusa-bench-forge-", image);
  const packages: string[] = [];
  let t: Awaited<ReturnType<typeof startTestAzusa>> | undefined;
  try {
    const source = join(dir, "app.git");
    spawnSync("git", ["init", "-q", "--bare", "-b", "main", source]);
    const made = await timed(() => makeRepository(source));
    const count = (d: string) =>
      Object.fromEntries(
        spawnSync("git", ["-C", d, "count-objects", "-v"], { encoding: "utf8" })
          .stdout.trim()
          .split("\n")
          .map((l) => l.split(": ") as [string, string]),
      );
    const sourcePackMiB = Number(count(source)["size-pack"]) / 1024;
    const commits = spawnSync("git", ["-C", source, "rev-list", "--count", "main"], { encoding: "utf8" }).stdout.trim();
    const tags = spawnSync("git", ["-C", source, "tag"], { encoding: "utf8" }).stdout.trim().split("\n").length;
    console.log(
      `repository         ${commits} commits, ${tags} tags, pack ${round(sourcePackMiB, 1)} MiB (made in ${round(made.ms / 1000, 1)} s)`,
    );

    t = await startTestAzusa({
      env: {
        AZUSA_TEMPLATES_DIR: templates,
        AZUSA_SCHEDULES: "off",
        AZUSA_GIT_IMPORT_DIR: imports,
        AZUSA_LOG_LEVEL: "warn",
      },
    });
    const azusa = t.running.azusa;
    const tenant = await t.createTenant("東京SI");
    mkdirSync(join(imports, tenant.id));
    renameSync(source, join(imports, tenant.id, "app.git"));
    await t.createUser("contractor", "buyer@tokyo-si.example", tenant.id);
    const leadId = (await t.createUser("lead", "lead@tokyo-si.example", tenant.id)).id;
    const operator = await t.signIn("root@office.example");
    const contractor = await t.signIn("buyer@tokyo-si.example");
    const lead = await t.signIn("lead@tokyo-si.example");
    const engineers: { id: string; client: Client }[] = [];
    for (let i = 0; i < WORKSPACES; i++) {
      const email = `engineer${i}@matsumoto.example`;
      const id = (await t.createUser("engineer", email)).id;
      await operator.put(`/api/v1/engineers/${id}`, {
        weeklyCapacityHours: 40,
        skills: ["java", "spring", "oracle", "sql"].map((skill) => ({ skill, level: 5 })),
      });
      for (const kind of ["nda", "background_check", "security_training"])
        await expectStatus(
          operator.post(`/api/v1/engineers/${id}/vetting`, { kind, issuedOn: "2026-01-01", expiresOn: "2028-01-01" }),
          201,
          "vetting",
        );
      engineers.push({ id, client: await t.signIn(email) });
    }
    const contract = await expectStatus(
      contractor.post("/api/v1/contracts", { ...sampleContract, leadIds: [leadId], sourceRepository: "app.git" }),
      201,
      "contract",
    );
    await contractor.request("POST", `/api/v1/contracts/${contract.id}/wbs`, utf8Csv(SAMPLE_WBS_ROWS), {
      "content-type": "text/csv",
    });
    const items = (await (await lead.get(`/api/v1/contracts/${contract.id}/packages`)).json()).items as {
      wbsId: string;
      id: string;
    }[];
    for (const wbs of ["2.1", "2.3", "1.2.2"].slice(0, WORKSPACES))
      packages.push(items.find((p) => p.wbsId === wbs)?.id as string);

    // accept → code checked out, each package's repository made ahead when it was offered (as in use)
    const readyMs: number[] = [];
    const containers: string[] = [];
    const workspaceIds: string[] = [];
    for (const [i, packageId] of packages.entries()) {
      const engineer = engineers[i] as (typeof engineers)[number];
      await expectStatus(lead.post(`/api/v1/packages/${packageId}/open`), 200, "open");
      const offer = await expectStatus(
        lead.post(`/api/v1/packages/${packageId}/offers`, { engineerId: engineer.id }),
        201,
        "offer",
      );
      await azusa.pulls.drain();
      const ready = await timed(async () => {
        await expectStatus(engineer.client.post(`/api/v1/offers/${offer.id}/accept`), 200, "accept");
        const ws = await (await engineer.client.get(`/api/v1/packages/${packageId}/workspace`)).json();
        await azusa.workspaces.settled(ws.id);
        const r = await azusa.workspaces.ready(ws.id);
        if (!r.ok) throw new Error(`workspace not ready: ${r.reason}`);
        return ws.id as string;
      });
      readyMs.push(ready.ms);
      workspaceIds.push(ready.value);
      const [c] = await docker.listContainers({
        filters: { label: [`io.azusa.workspace=${ready.value}`, "io.azusa.role=workspace"] },
      });
      containers.push(c?.Id as string);
    }
    // the baseline: a fresh container of the same image cloning the same repository with git's transport
    const cloneMs: number[] = [];
    for (let i = 0; i < WORKSPACES; i++) {
      const r = await timed(() =>
        run("docker", [
          "run",
          "--rm",
          "--network",
          "none",
          "--user",
          "0",
          "-v",
          `${join(imports, tenant.id, "app.git")}:/src:ro`,
          "--mount",
          "type=volume,dst=/work",
          image,
          "git",
          "clone",
          "-q",
          "--no-local",
          "/src",
          "/work/app",
        ]),
      );
      if (r.value.code !== 0) throw new Error(`baseline clone failed: ${r.value.stderr}`);
      cloneMs.push(r.ms);
    }
    const readyRatio = round(median(readyMs) / median(cloneMs), 2);
    console.log(
      `accept → code      ${round(median(readyMs))} ms (median of ${WORKSPACES}); fresh container + git clone --no-local ${round(median(cloneMs))} ms: ${readyRatio}× (target ≤ ${TARGETS.ready_ratio})`,
    );

    const container = containers[0] as string;
    const sato = (engineers[0] as (typeof engineers)[number]).client;
    const packageId = packages[0] as string;
    const canonical = azusa.forge.pathOf({ name: `${tenant.id}/${packageId}.git`, defaultBranch: "main" });
    const someFile = (await inWs(container, "git ls-files src | sed -n 10p")).trim();

    // a one-line push: what it made, against what the canonical repository grew by once it was noticed
    const made1 = await inWs(
      container,
      `git checkout -q -b bench/one-line main
       sed -i '3s/.*/  \\/\\/ one line changed/' ${someFile}
       git commit -q -am 'one line' && git push -q origin bench/one-line 2>&1
       git rev-list --objects main..HEAD | cut -d' ' -f1 | git cat-file --batch-check='%(objectsize:disk)' | awk '{s+=$1} END {print s}'`,
    );
    const pushObjectBytes = Number(made1.trim().split("\n").pop());
    const before = bytesIn(join(canonical, "objects"));
    const first = await expectStatus(
      sato.post(`/api/v1/packages/${packageId}/pulls`, { branch: "bench/one-line", title: "one line" }),
      201,
      "open",
    );
    const grown = bytesIn(join(canonical, "objects")) - before;
    const pushRatio = round(grown / pushObjectBytes, 2);
    console.log(
      `one-line push      objects ${pushObjectBytes} B, canonical grew ${grown} B: ${pushRatio}× (target ≤ ${TARGETS.push_bytes_ratio})`,
    );

    // opening pull requests, each right after its own push, and reading one
    const openMs: number[] = [];
    for (let i = 0; i < PULLS; i++) {
      await inWs(
        container,
        `git checkout -q -b bench/p${i} main
         sed -i '4s/.*/  \\/\\/ change ${i}/' ${someFile}
         git commit -q -am 'change ${i}' && git push -q origin bench/p${i} 2>&1`,
      );
      const r = await timed(() =>
        expectStatus(
          sato.post(`/api/v1/packages/${packageId}/pulls`, { branch: `bench/p${i}`, title: `change ${i}` }),
          201,
          "open",
        ),
      );
      openMs.push(r.ms);
    }
    const readMs: number[] = [];
    for (let i = 0; i < PULLS; i++)
      readMs.push((await timed(() => expectStatus(lead.get(`/api/v1/pulls/${first.id}`), 200, "read"))).ms);
    console.log(
      `pull requests      open ${round(median(openMs))} ms, read ${round(median(readMs))} ms (p50 of ${PULLS}; target ≤ ${TARGETS.pull_open_ms})`,
    );

    // a 200-file diff through the API against the host's `git diff` of the same range
    const diffHead = (
      await inWs(
        container,
        `git checkout -q -b bench/wide main
         for f in $(git ls-files src | head -n ${DIFF_FILES}); do sed -i '5s/.*/  \\/\\/ wide change/' "$f"; done
         git commit -q -am 'wide' && git push -q origin bench/wide 2>&1 && git rev-parse HEAD`,
      )
    ).trim();
    const wide = await expectStatus(
      sato.post(`/api/v1/packages/${packageId}/pulls`, { branch: "bench/wide", title: "wide" }),
      201,
      "open",
    );
    const apiDiffMs: number[] = [];
    const gitDiffMs: number[] = [];
    let diffFiles = 0;
    for (let i = 0; i < DIFF_RUNS; i++) {
      const api = await timed(() => expectStatus(lead.get(`/api/v1/pulls/${wide.id}/diff`), 200, "diff"));
      diffFiles = api.value.files.length;
      apiDiffMs.push(api.ms);
      const git = await timed(() =>
        run("git", ["--git-dir", canonical, "diff", "--no-color", "--find-renames", `main...${diffHead}`]),
      );
      gitDiffMs.push(git.ms);
    }
    const diffRatio = round(median(apiDiffMs) / median(gitDiffMs), 2);
    console.log(
      `${diffFiles}-file diff      API ${round(median(apiDiffMs))} ms, git diff ${round(median(gitDiffMs))} ms: ${diffRatio}× (target ≤ ${TARGETS.diff_ratio})`,
    );

    // merge → the merged commit fetchable inside the workspace
    await expectStatus(lead.post(`/api/v1/pulls/${first.id}/reviews`, { verdict: "approve" }), 201, "approve");
    const visible = await timed(async () => {
      const merged = await expectStatus(lead.post(`/api/v1/pulls/${first.id}/merge`), 200, "merge");
      for (;;) {
        const r = await inWorkspace(container, `git fetch -q origin && git cat-file -e ${merged.mergeSha}`);
        if (r.code === 0) return merged.mergeSha as string;
      }
    });
    console.log(`merge → visible    ${round(visible.ms)} ms (target ≤ ${TARGETS.merge_visible_ms})`);

    // disk: each workspace's volume, and each canonical repository, beside the source's pack
    const diskMiB: number[] = [];
    for (const c of containers) diskMiB.push(Number((await inWs(c, "du -sk /workspace | cut -f1")).trim()) / 1024);
    const canonicalMiB = packages.map(
      (p) =>
        bytesIn(join(azusa.forge.pathOf({ name: `${tenant.id}/${p}.git`, defaultBranch: "main" }), "objects")) / MiB,
    );
    console.log(
      `disk               ${diskMiB.map((d) => round(d, 1)).join(", ")} MiB per workspace; canonical ${canonicalMiB.map((d) => round(d, 1)).join(", ")} MiB; source pack ${round(sourcePackMiB, 1)} MiB`,
    );

    console.log(
      JSON.stringify({
        bench: "forge",
        commits: Number(commits),
        tags,
        pack_mib: round(sourcePackMiB, 1),
        ready_ms: round(median(readyMs)),
        clone_ms: round(median(cloneMs)),
        ready_ratio: readyRatio,
        ready_ratio_target: TARGETS.ready_ratio,
        push_object_bytes: pushObjectBytes,
        push_growth_bytes: grown,
        push_bytes_ratio: pushRatio,
        push_bytes_ratio_target: TARGETS.push_bytes_ratio,
        pull_open_ms: round(median(openMs)),
        pull_open_ms_target: TARGETS.pull_open_ms,
        pull_read_ms: round(median(readMs)),
        pull_read_ms_target: TARGETS.pull_read_ms,
        diff_files: diffFiles,
        diff_api_ms: round(median(apiDiffMs)),
        diff_git_ms: round(median(gitDiffMs), 1),
        diff_ratio: diffRatio,
        diff_ratio_target: TARGETS.diff_ratio,
        merge_visible_ms: round(visible.ms),
        merge_visible_ms_target: TARGETS.merge_visible_ms,
        disk_per_workspace_mib: round(median(diskMiB), 1),
        canonical_mib: round(median(canonicalMiB), 1),
      }),
    );
  } finally {
    await t?.stop();
    for (const c of await docker.listContainers({ all: true, filters: { label: ["io.azusa.package"] } }))
      if (packages.includes(c.Labels["io.azusa.package"] ?? ""))
        await docker.getContainer(c.Id).remove({ force: true, v: true });
    for (const v of (await docker.listVolumes({ filters: { label: ["io.azusa.package"] } })).Volumes ?? [])
      if (packages.includes(v.Labels?.["io.azusa.package"] ?? "")) await docker.getVolume(v.Name).remove();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
