// GitHub for tenants who keep code there: the organization's token stays secret, the lead gets a private,
// protected repository per package with the engineer as a pusher (hand-written GitHub responses, held to GitHub's OpenAPI description, served on
// loopback), and signed webhooks (whole payloads from GitHub's examples, held to the description's webhook
// schemas) bring pull requests and reviews into Azusa; a bad signature is refused.
import { createHmac } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sealContext } from "../src/auth/sealed.ts";
import { sampleContract } from "./support/fixtures.ts";
import { githubDescription } from "./support/github-openapi.ts";
import { loadFixtures, type Replay, startReplay } from "./support/github-replay.ts";
import { type PullFields, pullRequestEvent, reviewEvent as reviewEventOf } from "./support/github-webhooks.ts";
import { type Client, startTestAzusa, type TestAzusa } from "./support/harness.ts";
import { ensureTestImage } from "./support/images.ts";
import { SAMPLE_WBS_ROWS, utf8Csv } from "./support/wbs-files.ts";
import { vetFully } from "./support/workspace-setup.ts";

const TOKEN = "ghp_R3playedT0kenThatMustNeverBeShown01";
const fixtures = fileURLToPath(new URL("./fixtures/github/package-repository.json", import.meta.url));
const closeFixtures = fileURLToPath(new URL("./fixtures/github/close-pull-request.json", import.meta.url));
const sha = (n: number) => String(n).repeat(40).slice(0, 40);

describe("GitHub", () => {
  const docker = new Docker();
  let dir: string;
  let t: TestAzusa;
  let replay: Replay;
  let tokyoId: string;
  let contractor: Client;
  let lead: Client;
  let osaka: Client;
  let packageId: string;
  let secret: string;
  let satoId: string;

  /** Sends a webhook delivery the way GitHub does, signed with `key` (the secret Azusa gave GitHub). */
  const deliver = (event: string, body: Record<string, unknown>, key = secret) => {
    // Only payloads GitHub could send: each is held to the event's schema in GitHub's description.
    expect(githubDescription().webhook(event, body)).toEqual([]);
    const payload = JSON.stringify(body);
    const signature = `sha256=${createHmac("sha256", key).update(payload).digest("hex")}`;
    return t.anonymous().request("POST", `/webhooks/github/${tokyoId}`, payload, {
      "content-type": "application/json",
      "x-github-event": event,
      "x-github-delivery": crypto.randomUUID(),
      "x-hub-signature-256": signature,
    });
  };

  /** Pull request 7 of the package's repository, opened by the engineer, at `head`. */
  const pullFields = (head: string, more: Partial<PullFields> = {}): PullFields => ({
    repository: `tokyo-si/azusa-${packageId}`,
    number: 7,
    title: "帳票のPDF出力",
    body: "請求書と納品書",
    head: { ref: "feature/pdf", sha: head },
    base: { ref: "main" },
    author: "sato-matsumoto",
    ...more,
  });
  const pullEvent = (action: string, head: string, more: Partial<PullFields> = {}, before?: string) =>
    pullRequestEvent(action, pullFields(head, more), before);

  const reviewEvent = (id: number, state: string, commit: string) =>
    reviewEventOf(pullFields(commit), {
      id,
      state,
      body: state === "changes_requested" ? "フォントを埋め込んでください" : "",
      commit,
      reviewer: "tokyo-lead",
    });

  const pull = async () => (await (await lead.get(`/api/v1/packages/${packageId}/pulls`)).json()).items[0];
  const packageState = async () => (await (await lead.get(`/api/v1/packages/${packageId}`)).json()).state;

  beforeAll(async () => {
    const image = await ensureTestImage(docker);
    dir = mkdtempSync(join(tmpdir(), "azusa-github-"));
    writeFileSync(
      join(dir, "default.devcontainer.json"),
      JSON.stringify({
        image,
        remoteUser: "azusa",
        customizations: { azusa: { resources: { cpus: 1, memoryMiB: 128, pids: 64 } } },
      }),
    );
    // The replay server stands in for api.github.com; its exchanges need the package's id, made below.
    replay = await startReplay([]);
    t = await startTestAzusa({
      env: { AZUSA_TEMPLATES_DIR: dir, AZUSA_SCHEDULES: "off", AZUSA_GITHUB_API_URL: replay.baseUrl },
    });
    tokyoId = (await t.createTenant("東京SI")).id;
    const osakaId = (await t.createTenant("大阪SI")).id;
    await t.createUser("contractor", "buyer@tokyo-si.example", tokyoId);
    await t.createUser("contractor", "buyer@osaka-si.example", osakaId);
    const leadId = (await t.createUser("lead", "lead@tokyo-si.example", tokyoId)).id;
    satoId = (await t.createUser("engineer", "sato@matsumoto.example")).id;
    contractor = await t.signIn("buyer@tokyo-si.example");
    osaka = await t.signIn("buyer@osaka-si.example");
    lead = await t.signIn("lead@tokyo-si.example");
    const operator = await t.signIn("root@office.example");
    await operator.put(`/api/v1/engineers/${satoId}`, {
      weeklyCapacityHours: 40,
      skills: [{ skill: "java", level: 5 }],
    });
    await vetFully(operator, satoId);
    const contract = await (
      await contractor.post("/api/v1/contracts", { ...sampleContract, leadIds: [leadId] })
    ).json();
    await contractor.request("POST", `/api/v1/contracts/${contract.id}/wbs`, utf8Csv(SAMPLE_WBS_ROWS), {
      "content-type": "text/csv",
    });
    const items = (await (await lead.get(`/api/v1/contracts/${contract.id}/packages`)).json()).items;
    packageId = items.find((p: { wbsId: string }) => p.wbsId === "2.3").id;
    replay.add(loadFixtures(fixtures, { package: packageId, token: TOKEN }));
  }, 120_000);

  afterAll(async () => {
    await t?.stop();
    await replay?.close();
    for (const c of await docker.listContainers({ all: true, filters: { label: [`io.azusa.package=${packageId}`] } }))
      await docker.getContainer(c.Id).remove({ force: true, v: true });
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("keeps the organization's token secret: set by a contractor, never shown or logged", async () => {
    const res = await contractor.put(`/api/v1/tenants/${tokyoId}/github`, { organization: "tokyo-si", token: TOKEN });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({
      organization: "tokyo-si",
      tokenSet: true,
      webhookUrl: `${t.base}/webhooks/github/${tokyoId}`,
    });
    expect(text).not.toContain(TOKEN);
    expect(await (await contractor.get(`/api/v1/tenants/${tokyoId}/github`)).text()).not.toContain(TOKEN);
    expect((await osaka.get(`/api/v1/tenants/${tokyoId}/github`)).status).toBe(404);
    expect((await lead.put(`/api/v1/tenants/${tokyoId}/github`, { organization: "x", token: TOKEN })).status).toBe(403);
    // Nor kept in the clear: the token and the webhook secret are sealed at rest.
    const row = await t.running.azusa.db.kysely
      .selectFrom("tenant_github")
      .select(["token", "webhook_secret"])
      .where("tenant_id", "=", tokyoId)
      .executeTakeFirstOrThrow();
    expect(row.token).toMatch(/^sealed:v1:/);
    expect(row.webhook_secret).toMatch(/^sealed:v1:/);
    expect(t.running.azusa.sealer.open(row.token, sealContext.githubToken(tokyoId))).toBe(TOKEN);
  });

  it("makes the package's private repository, protects main with the lead's review and adds the engineer", async () => {
    const res = await lead.post(`/api/v1/packages/${packageId}/github-repository`, { engineerLogin: "sato-matsumoto" });
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({
      packageId,
      forge: "github",
      name: `tokyo-si/azusa-${packageId}`,
      defaultBranch: "main",
      protection: { requiredApprovals: 1 },
      engineers: ["sato-matsumoto"],
    });
    expect(replay.unmatched).toEqual([]);
    expect(replay.pending()).toEqual([]);
    expect(replay.offDescription).toEqual([]);
    // The webhook Azusa registered points back at it, signed with a secret only Azusa and GitHub know.
    const hook = replay.requests.find((r) => r.path.endsWith("/hooks"))?.body as {
      events: string[];
      config: { url: string; secret: string; content_type: string };
    };
    expect(hook.events).toEqual(["pull_request", "pull_request_review"]);
    expect(hook.config).toMatchObject({ url: `${t.base}/webhooks/github/${tokyoId}`, content_type: "json" });
    secret = hook.config.secret;
    expect(secret.length).toBeGreaterThanOrEqual(32);
    expect((await lead.post(`/api/v1/packages/${packageId}/github-repository`, { engineerLogin: "x" })).status).toBe(
      409,
    );
    expect(t.logs.join("")).not.toContain(TOKEN);
    expect(t.logs.join("")).not.toContain(secret);
  });

  it("leaves the repository of a package offered by a GitHub tenant to be made on GitHub", async () => {
    const contractId = (await (await lead.get(`/api/v1/packages/${packageId}`)).json()).contractId;
    const other = (await (await lead.get(`/api/v1/contracts/${contractId}/packages`)).json()).items.find(
      (p: { wbsId: string }) => p.wbsId === "1.2.2",
    ).id as string;
    // sato can take that one too
    const operator = await t.signIn("root@office.example");
    await operator.put(`/api/v1/engineers/${satoId}`, {
      weeklyCapacityHours: 80,
      skills: ["java", "spring"].map((skill) => ({ skill, level: 5 })),
    });
    expect((await lead.post(`/api/v1/packages/${other}/open`)).status).toBe(200);
    expect((await lead.post(`/api/v1/packages/${other}/offers`, { engineerId: satoId })).status).toBe(201);
    await t.running.azusa.pulls.drain();
    // no built-in repository was made ahead, so the lead may still put this one on GitHub
    const repository = await t.running.azusa.db.kysely
      .selectFrom("repository")
      .select("forge")
      .where("package_id", "=", other)
      .executeTakeFirst();
    expect(repository).toBeUndefined();
  });

  it("delivers only webhook payloads that fit GitHub's schemas; one of only the fields Azusa reads does not", () => {
    const thin = { action: "opened", number: 7, pull_request: { number: 7, head: { ref: "a", sha: sha(1) } } };
    expect(githubDescription().webhook("pull_request", thin)).toEqual(
      expect.arrayContaining([expect.stringContaining("must have required property 'repository'")]),
    );
    expect(githubDescription().webhook("pull_request", { ...pullEvent("opened", sha(1)), action: "pushed" })).toEqual([
      "webhook pull-request-pushed: no such event and action in GitHub's description",
    ]);
    expect(githubDescription().webhook("pull_request", pullEvent("opened", sha(1)))).toEqual([]);
  });

  it("refuses a webhook whose signature does not match", async () => {
    expect((await deliver("pull_request", pullEvent("opened", sha(1)), "not-the-secret")).status).toBe(401);
    const unsigned = await t
      .anonymous()
      .request("POST", `/webhooks/github/${tokyoId}`, JSON.stringify(pullEvent("opened", sha(1))), {
        "content-type": "application/json",
        "x-github-event": "pull_request",
      });
    expect(unsigned.status).toBe(401);
    expect((await lead.get(`/api/v1/packages/${packageId}/pulls`)).status).toBe(200);
    expect((await (await lead.get(`/api/v1/packages/${packageId}/pulls`)).json()).items).toEqual([]);
  });

  it("follows the pull request and its reviews from GitHub's webhooks", async () => {
    // The engineer was assigned after the repository was made; the workspace gets no local fork.
    expect((await lead.post(`/api/v1/packages/${packageId}/open`)).status).toBe(200);
    const offer = await (await lead.post(`/api/v1/packages/${packageId}/offers`, { engineerId: satoId })).json();
    const sato = await t.signIn("sato@matsumoto.example");
    expect((await sato.post(`/api/v1/offers/${offer.id}/accept`)).status).toBe(200);
    const ws = await (await sato.get(`/api/v1/packages/${packageId}/workspace`)).json();
    await t.running.azusa.workspaces.settled(ws.id);

    expect((await deliver("pull_request", pullEvent("opened", sha(1)))).status).toBe(200);
    expect(await pull()).toMatchObject({ number: 7, state: "open", headSha: sha(1), sourceBranch: "feature/pdf" });
    expect(await packageState()).toBe("in_review");

    await deliver("pull_request_review", reviewEvent(101, "approved", sha(1)));
    expect(await pull()).toMatchObject({ approvals: 1, mergeable: true });

    await deliver("pull_request", pullEvent("synchronize", sha(2), {}, sha(1)));
    const pushed = await pull();
    expect(pushed).toMatchObject({ headSha: sha(2), approvals: 0, mergeable: false });
    expect(pushed.reviews[0]).toMatchObject({ reviewerLogin: "tokyo-lead", dismissedAt: expect.any(String) });

    await deliver("pull_request_review", reviewEvent(102, "changes_requested", sha(2)));
    await deliver("pull_request_review", reviewEvent(102, "changes_requested", sha(2))); // redelivered
    expect((await pull()).reviews.filter((r: { verdict: string }) => r.verdict === "changes_requested")).toHaveLength(
      1,
    );
    expect(await packageState()).toBe("changes_requested");

    await deliver("pull_request", pullEvent("synchronize", sha(3), {}, sha(2)));
    expect(await packageState()).toBe("in_progress");
    await deliver("pull_request_review", reviewEvent(103, "approved", sha(3)));
    expect(await packageState()).toBe("in_review");

    // Reviews and merges of a GitHub pull request happen on GitHub, not through Azusa's API.
    const id = (await pull()).id;
    expect((await lead.post(`/api/v1/pulls/${id}/merge`)).status).toBe(409);

    await deliver("pull_request", pullEvent("closed", sha(3), { merged: true, mergeCommitSha: sha(4) }));
    expect(await pull()).toMatchObject({ state: "merged", mergeSha: sha(4) });
    expect(await packageState()).toBe("in_review");

    // The same notices as a pull request on Azusa's own forge: new work to the lead, verdicts and the merge to
    // the engineer assigned.
    const kinds = async (client: typeof lead) =>
      ((await (await client.get("/api/v1/notifications")).json()).items as { kind: string; title: string }[])
        .filter((n) => n.title.includes("#7"))
        .map((n) => n.kind)
        .sort();
    expect(await kinds(lead)).toEqual(["pull_request.opened", "pull_request.pushed", "pull_request.pushed"]);
    expect(await kinds(sato)).toEqual([
      "pull_request.merged",
      "review.approved",
      "review.approved",
      "review.changes_requested",
    ]);

    const audit = await (await contractor.get("/api/v1/audit-events?limit=60")).json();
    expect(audit.items.map((e: { action: string }) => e.action)).toEqual(
      expect.arrayContaining([
        "github.configured",
        "repository.created",
        "repository.fork_skipped",
        "pull_request.opened",
        "review.approved",
        "review.dismissed",
        "review.changes_requested",
        "pull_request.merged",
      ]),
    );
  });

  it("closes the open pull request on GitHub, saying why, when the lead withdraws the assignment", async () => {
    const csv = { number: 8, head: { ref: "feature/csv", sha: sha(5) } };
    const eight = pullEvent("opened", sha(5), csv);
    expect((await deliver("pull_request", eight)).status).toBe(200);
    const all = async () => (await (await lead.get(`/api/v1/packages/${packageId}/pulls`)).json()).items;
    expect((await all()).find((p: { number: number }) => p.number === 8)).toMatchObject({ state: "open" });
    replay.add(loadFixtures(closeFixtures, { package: packageId, token: TOKEN }));

    expect((await lead.post(`/api/v1/packages/${packageId}/withdraw`, { reason: "体制変更" })).status).toBe(204);
    expect(replay.unmatched).toEqual([]);
    expect(replay.pending()).toEqual([]);
    const closed = (await all()).find((p: { number: number }) => p.number === 8);
    expect(closed).toMatchObject({ state: "closed" });
    // the merged one stays merged
    expect((await all()).find((p: { number: number }) => p.number === 7)).toMatchObject({ state: "merged" });
    // GitHub's own "closed" event that follows adds nothing
    expect((await deliver("pull_request", pullEvent("closed", sha(5), csv))).status).toBe(200);
    const audit = await (await contractor.get("/api/v1/audit-events?limit=100")).json();
    const events = audit.items.filter((e: { subject: string }) => e.subject === `pull_request:${closed.id}`);
    expect(events.map((e: { action: string }) => e.action).sort()).toEqual([
      "pull_request.closed",
      "pull_request.opened",
    ]);
    expect(events.find((e: { action: string }) => e.action === "pull_request.closed").details).toMatchObject({
      reason: "assignment withdrawn: 体制変更",
      forge: "github",
    });
  });
});
