// What a person reads when the SSH gateway refuses them, with the real OpenSSH client, PuTTY's plink and
// dropbear's dbclient as people run them (the default log level, a UTF-8 locale): the refusal before
// "Permission denied" and the lines a session says, in the engineer's language, never as octal escapes.
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GatewayWorld, oneWorkspaceWorld } from "./support/gateway-world.ts";
import { keyFile, run, sshArgs } from "./support/ssh-client.ts";

/** A person's terminal: a UTF-8 locale. */
const utf8 = { ...process.env, LC_ALL: "C.UTF-8" };

/** How OpenSSH, plink and dbclient print a byte they would not print as it is. */
const escaped = /\\\d{3}|\\x[0-9a-f]{2}|\?\?\?/i;

describe("SSH refusals in the engineer's language, as OpenSSH, plink and dbclient print them", () => {
  let world: GatewayWorld;
  let stranger: { path: string; fingerprint: string };

  /** `ssh` as a person runs it: the default log level, which prints the server's banner. */
  const asPerson = (extra: string[], key = world.target.key, user = `pkg-${world.target.packageId}`) =>
    sshArgs({ port: world.t.running.sshPort, key, knownHosts: world.home.knownHosts, user }, extra).map((arg) =>
      arg === "LogLevel=ERROR" ? "LogLevel=INFO" : arg,
    );

  /** plink with the engineer's key (converted by puttygen), checking the gateway's host key by its fingerprint. */
  const plinkArgs = (): [string[]] => {
    const ppk = join(world.home.dir, "engineer.ppk");
    execFileSync("puttygen", [world.target.key, "-O", "private", "-o", ppk]);
    const hostPub = join(world.home.dir, "host.pub");
    writeFileSync(hostPub, `${world.t.running.azusa.sshGateway.hostPublicKey}\n`);
    const fingerprint = execFileSync("ssh-keygen", ["-lf", hostPub], { encoding: "utf8" }).split(" ")[1] as string;
    return [["-ssh", "-P", String(world.t.running.sshPort), "-i", ppk, "-hostkey", fingerprint]];
  };
  const plink = (user: string, command: string, extra: string[] = []) =>
    run("plink", ["-batch", ...plinkArgs()[0], ...extra, `${user}@127.0.0.1`, command], undefined, utf8);

  /** plink in a terminal with no command (as a person opens a shell): what the terminal showed. */
  const plinkInTerminal = async (user: string) => {
    const [args] = plinkArgs();
    const res = await run(
      "script",
      ["-qec", ["plink", ...args, `${user}@127.0.0.1`].join(" "), "/dev/null"],
      undefined,
      utf8,
    );
    return res.stdout.toString();
  };

  /** dbclient with the engineer's key (converted by dropbearconvert), the host key in its own known_hosts. */
  const dbclient = (user: string, command: string, extra: string[] = []) => {
    const key = join(world.home.dir, "engineer.dropbear");
    execFileSync("dropbearconvert", ["openssh", "dropbear", world.target.key, key], { stdio: "ignore" });
    const home = join(world.home.dir, "dbhome");
    mkdirSync(join(home, ".ssh"), { recursive: true });
    writeFileSync(join(home, ".ssh", "known_hosts"), `127.0.0.1 ${world.t.running.azusa.sshGateway.hostPublicKey}\n`);
    const args = ["-i", key, "-p", String(world.t.running.sshPort), ...extra, `${user}@127.0.0.1`, command];
    return run("dbclient", args, undefined, { ...utf8, HOME: home });
  };

  beforeAll(async () => {
    world = await oneWorkspaceWorld(new Docker());
    const key = keyFile(world.home.dir, "stranger");
    const fingerprint = execFileSync("ssh-keygen", ["-lf", `${key.path}.pub`], { encoding: "utf8" }).split(" ")[1];
    stranger = { path: key.path, fingerprint: fingerprint as string };
  }, 120_000);

  afterAll(async () => {
    await world?.stop();
  });

  it("tells the holder of a key nobody registered, in Japanese and in English, once, before Permission denied", async () => {
    const res = await run("ssh", [...asPerson([], stranger.path), "echo in"], undefined, utf8);
    expect(res.code).toBe(255);
    expect(res.stdout.toString()).toBe("");
    expect(res.stderr).toContain(
      `azusa: 鍵 ${stranger.fingerprint} はどのエンジニアにも登録されていません（登録済みの鍵で接続してください）\r\n`,
    );
    expect(res.stderr).toContain(
      `azusa: the key ${stranger.fingerprint} is not registered to any engineer; log in with a registered key\r\n`,
    );
    expect(res.stderr).toContain("Permission denied (publickey)");
    expect(res.stderr).not.toMatch(escaped);
    // The registered key offered after an unknown one still logs in; the unknown one was said once.
    const both = await run("ssh", [...asPerson(["-i", world.target.key], stranger.path), "echo in"], undefined, utf8);
    expect(both.stdout.toString()).toBe("in\n");
    expect(both.stderr.split("どのエンジニアにも登録されていません").length).toBe(2);
  });

  it("tells an engineer a package not theirs in Japanese with OpenSSH and plink, in English with dbclient (which drops other bytes)", async () => {
    const other = "pkg-0f0f0f0f-0f0f-4f0f-8f0f-0f0f0f0f0f0f";
    const said = "azusa: このパッケージはあなたにアサインされていません";
    const ssh = await run("ssh", [...asPerson([], world.target.key, other), "echo in"], undefined, utf8);
    expect(ssh.code).toBe(255);
    expect(ssh.stderr).toContain(`${said}\r\n`);
    expect(ssh.stderr).not.toMatch(escaped);
    // plink prints a banner when run in a terminal (as a person does) or with -v; it does not escape it.
    const putty = await plinkInTerminal(other);
    expect(putty).toContain(`| ${said}\r\n`);
    expect(putty).not.toMatch(escaped);
    // dbclient drops every byte of a banner outside printable ASCII: it is told in English.
    const dropbear = await dbclient(other, "echo in");
    expect(dropbear.code).not.toBe(0);
    expect(dropbear.stderr).toContain("azusa: the package is not assigned to this engineer\n");
  }, 30_000);

  it("says what a session says in Japanese with plink and dbclient too: a refused remote forward, a workspace starting", async () => {
    const ws = await world.t.running.azusa.db.kysely
      .selectFrom("workspace")
      .select("id")
      .where("package_id", "=", world.target.packageId)
      .executeTakeFirstOrThrow();
    const user = `pkg-${world.target.packageId}`;
    for (const client of [plink, dbclient]) {
      expect((await world.lead.post(`/api/v1/workspaces/${ws.id}/stop`)).status).toBe(200);
      // The template allows no remote forward: the session says so before its command.
      const res = await client(user, "echo back", ["-R", "7001:127.0.0.1:9"]);
      expect(res.stdout.toString()).toBe("back\n");
      expect(res.stderr).toContain(
        "azusa: ワークスペースのテンプレートはポート 7001 からのリモート転送を許可していません\r\n",
      );
      expect(res.stderr).toContain("azusa: ワークスペースを起動しています…");
      expect(res.stderr).toMatch(/azusa: ワークスペースが起動しました（[\d.]+ 秒）/);
      expect(res.stderr).not.toMatch(escaped);
    }
  }, 60_000);

  it("translates a failed workspace's stored reason in the refusal, as its pages do", async () => {
    const db = world.t.running.azusa.db.kysely;
    const row = await db
      .selectFrom("workspace")
      .select(["id", "state", "reason"])
      .where("package_id", "=", world.target.packageId)
      .executeTakeFirstOrThrow();
    await db
      .updateTable("workspace")
      .set({ state: "failed", reason: "provisioning failed: image azusa/missing:1 not found" })
      .where("id", "=", row.id)
      .execute();
    try {
      const res = await run("ssh", [...asPerson([]), "echo in"], undefined, utf8);
      expect(res.code).toBe(255);
      expect(res.stderr).toContain(
        "azusa: ワークスペースは使えません（準備に失敗しました: イメージ azusa/missing:1 がエンジンにありません）\r\n",
      );
      expect(res.stderr).not.toContain("provisioning failed");
      expect(res.stderr).not.toMatch(escaped);
    } finally {
      await db
        .updateTable("workspace")
        .set({ state: row.state, reason: row.reason })
        .where("id", "=", row.id)
        .execute();
    }
  });
});
