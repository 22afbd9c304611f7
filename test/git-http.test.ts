// Git's smart HTTP without a workspace: a package's repository starts with a first commit, the protocol's
// answers to a client without credentials, and failed sign-ins counted against the sign-in limit.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sampleContract } from "./support/fixtures.ts";
import { run } from "./support/git.ts";
import { type Client, PASSWORD, startTestAzusa, type TestAzusa } from "./support/harness.ts";
import { SAMPLE_WBS_ROWS, utf8Csv } from "./support/wbs-files.ts";

describe("Git over HTTP", () => {
  let t: TestAzusa;
  let dir: string;
  let lead: Client;
  let packageId: string;

  const url = (user: string, password: string) => {
    const u = new URL(`/git/${packageId}.git`, t.base);
    u.username = encodeURIComponent(user);
    u.password = encodeURIComponent(password);
    return u.toString();
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "azusa-git-http-"));
    t = await startTestAzusa({ env: { AZUSA_SCHEDULES: "off", AZUSA_SIGNIN_LIMIT: "3" } });
    const tokyo = await t.createTenant("東京SI");
    await t.createUser("contractor", "buyer@tokyo-si.example", tokyo.id);
    const leadId = (await t.createUser("lead", "lead@tokyo-si.example", tokyo.id)).id;
    const contractor = await t.signIn("buyer@tokyo-si.example");
    lead = await t.signIn("lead@tokyo-si.example");
    const contract = await (
      await contractor.post("/api/v1/contracts", { ...sampleContract, leadIds: [leadId] })
    ).json();
    await contractor.request("POST", `/api/v1/contracts/${contract.id}/wbs`, utf8Csv(SAMPLE_WBS_ROWS), {
      "content-type": "text/csv",
    });
    const items = (await (await lead.get(`/api/v1/contracts/${contract.id}/packages`)).json()).items;
    packageId = items.find((p: { wbsId: string }) => p.wbsId === "2.3").id;
  });

  afterAll(async () => {
    await t?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("asks a client without credentials for them, and refuses the push service outright", async () => {
    const anonymous = await fetch(`${t.base}/git/${packageId}.git/info/refs?service=git-upload-pack`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toMatch(/^Basic realm="Azusa"/);
    const push = await fetch(`${t.base}/git/${packageId}.git/info/refs?service=git-receive-pack`);
    expect(push.status).toBe(403);
  });

  it("gives a package without a source repository a first commit the lead can clone", async () => {
    const into = join(dir, "first");
    const r = await run("git", ["clone", "-q", url("lead@tokyo-si.example", PASSWORD), into]);
    expect(r.code).toBe(0);
    expect(readFileSync(join(into, "README.md"), "utf8")).toContain("帳票出力");
    expect((await run("git", ["log", "--format=%an %s"], { cwd: into })).stdout.trim()).toBe("Azusa Initial commit");
  });

  it("answers 429 once a client address has failed to sign in too often", async () => {
    const statuses: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await run("git", ["ls-remote", url("lead@tokyo-si.example", `wrong-${i}`)]);
      // Only git's own status words count: the address's port or the package id may contain "429".
      statuses.push(
        /returned error: 429\b/.test(r.stderr)
          ? "429"
          : /Authentication failed|returned error: 401\b/.test(r.stderr)
            ? "401"
            : r.stderr,
      );
    }
    expect(statuses).toEqual(["401", "401", "401", "429"]);
    // The right password does not get past the limit either, until the minute is over.
    const right = await run("git", ["clone", "-q", url("lead@tokyo-si.example", PASSWORD), join(dir, "late")]);
    expect(right.code).not.toBe(0);
    expect(existsSync(join(dir, "late", ".git"))).toBe(false);
    const audit = await (await t.signIn("root@office.example")).get("/api/v1/audit-events?limit=10");
    expect((await audit.json()).items.map((e: { action: string }) => e.action)).toContain("auth.sign_in_failed");
  });
});
