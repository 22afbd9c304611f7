// Two Azusa processes on one PostgreSQL: a revocation made through one reaches the other through a notice
// (LISTEN/NOTIFY), not by waiting. The second process remembers credentials for ten minutes and checks its live
// sessions every ten minutes, so only the notice can end them within the test's time.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { until } from "./support/cli.ts";
import { sweepInstance } from "./support/docker.ts";
import { assignedWorkspaces, type Target, templatesFolder } from "./support/gateway-world.ts";
import { Client, startTestAzusa, type TestAzusa } from "./support/harness.ts";
import { ensureTestImage } from "./support/images.ts";
import { sshArgs, sshHome } from "./support/ssh-client.ts";

const docker = new Docker();
const slowFallbacks = { credentialCacheMs: 10 * 60_000, sessionRecheckMs: 10 * 60_000 };

/** `client`'s cookie (or API key) sent to another process, as a load balancer would pass the next request. */
const through = (b: TestAzusa, client: Client) => {
  const other = new Client(b.base, { ...client.headers, origin: new URL(b.base).origin });
  other.cookie = client.cookie;
  return other;
};

/** Polls until `path` answers 401 on `client`; fails after a minute. */
const refused = (client: Client, path: string) =>
  until(`${path} refused`, async () => ((await client.get(path)).status === 401 ? true : undefined), 60_000);

describe("revocation across processes on one PostgreSQL", () => {
  const instance = `test-revoke-${Date.now().toString(36)}`;
  let templatesDir: string;
  let keysDir: string;
  let a: TestAzusa;
  let b: TestAzusa;
  let target: Target;

  beforeAll(async () => {
    templatesDir = templatesFolder(await ensureTestImage(docker));
    keysDir = mkdtempSync(join(tmpdir(), "azusa-keys-"));
    const env = { AZUSA_TEMPLATES_DIR: templatesDir, AZUSA_SCHEDULES: "off", AZUSA_INSTANCE_ID: instance };
    a = await startTestAzusa({ dialect: "postgres", env });
    b = await startTestAzusa({ alongside: a, env, tuning: slowFallbacks });
    target = (await assignedWorkspaces(a, keysDir, { workspaces: 1, engineers: 1 })).targets[0] as Target;
  });

  afterAll(async () => {
    await b?.stop();
    await a?.stop();
    await sweepInstance(docker, instance);
    rmSync(templatesDir, { recursive: true, force: true });
    rmSync(keysDir, { recursive: true, force: true });
  });

  it("a sign-out through one process is refused by the other", async () => {
    await a.createUser("operator", "ops@office.example");
    const onA = await a.signIn("ops@office.example");
    const onB = through(b, onA);
    expect((await onB.get("/api/v1/me")).status).toBe(200); // remembered by B from now on
    expect((await onA.post("/api/auth/sign-out")).status).toBe(200);
    await refused(onB, "/api/v1/me");
  });

  it("an API key deleted through one process is refused by the other", async () => {
    const contractor = await a.signIn("buyer@tokyo-si.example");
    const key = await (await contractor.post("/api/v1/api-keys", { name: "ci" })).json();
    const script = new Client(b.base, { "x-api-key": key.key });
    expect((await script.get("/api/v1/me")).status).toBe(200);
    expect((await contractor.delete(`/api/v1/api-keys/${key.id}`)).status).toBe(204);
    await refused(script, "/api/v1/me");
  });

  it("a role changed through one process ends the user's sessions on the other", async () => {
    const tenant = await a.createTenant("大阪IS");
    const user = await a.createUser("contractor", "buyer@osaka-is.example", tenant.id);
    const onB = through(b, await a.signIn("buyer@osaka-is.example"));
    expect((await onB.get("/api/v1/me")).status).toBe(200);
    const operator = await a.signIn("root@office.example");
    const changed = await operator.put(`/api/v1/users/${user.id}/role`, { role: "lead", tenantId: tenant.id });
    expect(changed.status).toBe(200);
    await refused(onB, "/api/v1/me");
  });

  it("an SSH key removed through one process ends a live session on the other's gateway", async () => {
    const home = sshHome(b.running.azusa.sshGateway.hostPublicKey, b.running.sshPort);
    const login = {
      port: b.running.sshPort,
      key: target.key,
      knownHosts: home.knownHosts,
      user: `pkg-${target.packageId}`,
    };
    const session = spawn("ssh", [...sshArgs(login), "echo started; sleep 600"], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    session.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    session.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => session.on("close", resolve));
    try {
      await until(
        "the session to start",
        async () => {
          if (session.exitCode !== null) throw new Error(`ssh ended with ${session.exitCode}: ${stderr}`);
          return stdout.includes("started") ? true : undefined;
        },
        60_000,
      );
      const engineer = await a.signIn("se0@matsumoto.example");
      const me = await (await engineer.get("/api/v1/me")).json();
      const profile = await (await engineer.get(`/api/v1/engineers/${me.id}`)).json();
      const keyId = profile.sshKeys[0].id as string;
      expect((await engineer.delete(`/api/v1/engineers/${me.id}/ssh-keys/${keyId}`)).status).toBe(204);
      expect(await exited).toBe(255);
      expect(stderr).toContain("azusa: アクセスが取り消されたため、セッションを終了しました: SSH 鍵が削除されました");
    } finally {
      session.kill();
      rmSync(home.dir, { recursive: true, force: true });
    }
  }, 120_000);
});
