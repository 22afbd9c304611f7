// What leaves the workspace over SSH, tried with the real clients on the default Debian image: with the
// default template's transfer policy, scp in both modes and directions, sftp (also with sftp-server run by
// exec), rsync's server and Git over SSH are refused with a message the client prints, and audited; a
// restricted contract allows only interactive terminals with a pty, whatever the template says.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RESTRICTED_FORWARDS } from "../src/gateway/policy.ts";
import { forwardEvent, type GatewayWorld, oneWorkspaceWorld } from "./support/gateway-world.ts";
import type { Client } from "./support/harness.ts";
import { ensureBaseImage } from "./support/images.ts";
import { run } from "./support/ssh-client.ts";

const docker = new Docker();
const NO_TRANSFER = "azusa: file transfer is not allowed for this package";

/** `ssh.channel_refused` events of the world's workspace, newest first, as the operator reads them. */
async function refusals(operator: Client) {
  const items = (await (await operator.get("/api/v1/audit-events?limit=100")).json()).items as {
    action: string;
    details: Record<string, unknown>;
  }[];
  return items.filter((e) => e.action === "ssh.channel_refused").map((e) => e.details);
}

/** The OpenSSH options of `world` as one -e / GIT_SSH_COMMAND line (its known hosts and key). */
function sshCommand(world: GatewayWorld): string {
  return ["ssh", ...world.args().slice(0, -1)].join(" ");
}

describe("the transfer policy on the default template", () => {
  let world: GatewayWorld;
  let operator: Client;
  const target = () => `pkg-${world.target.packageId}@127.0.0.1`;
  const scpArgs = () =>
    world
      .args()
      .slice(0, -1)
      .map((a) => (a === "-p" ? "-P" : a));

  beforeAll(async () => {
    world = await oneWorkspaceWorld(docker, { image: await ensureBaseImage(docker) });
    operator = await world.t.signIn("root@office.example");
  }, 240_000);

  afterAll(async () => {
    await world?.stop();
  });

  it("runs an ordinary command without a pty", async () => {
    const r = await run("ssh", [...world.args(), "echo hello; ls -d /workspace"]);
    expect(r.stdout.toString()).toBe("hello\n/workspace\n");
    expect(r.code).toBe(0);
  });

  it("refuses scp in its original mode both ways, with the message, and writes nothing", async () => {
    const local = join(world.home.dir, "secret.txt");
    writeFileSync(local, "from the laptop\n");
    const up = await run("scp", ["-O", ...scpArgs(), local, `${target()}:/workspace/secret.txt`]);
    expect(up.code).not.toBe(0);
    expect(up.stderr).toContain(NO_TRANSFER);
    const down = await run("scp", ["-O", ...scpArgs(), `${target()}:/workspace/README.md`, world.home.dir]);
    expect(down.code).not.toBe(0);
    expect(down.stderr).toContain(NO_TRANSFER);
    const check = await run("ssh", [...world.args(), "test -e /workspace/secret.txt && echo there || echo absent"]);
    expect(check.stdout.toString()).toBe("absent\n");
    const events = await refusals(operator);
    expect(
      events.slice(0, 2).map((e) => [e.reason, e.kind, String(e.command).split(" ").slice(0, 2).join(" ")]),
    ).toEqual(
      expect.arrayContaining([
        ["file_transfer", "exec", "scp -t"],
        ["file_transfer", "exec", "scp -f"],
      ]),
    );
  });

  it("refuses scp over SFTP, sftp, and sftp-server run as a command", async () => {
    const modern = await run("scp", [...scpArgs(), `${target()}:/workspace/README.md`, world.home.dir]);
    expect(modern.code).not.toBe(0);
    expect(modern.stderr).toContain(NO_TRANSFER);
    const sftpArgs = scpArgs();
    const sftp = await run("sftp", ["-b", "-", ...sftpArgs, target()], "ls\n");
    expect(sftp.code).not.toBe(0);
    expect(sftp.stderr).toContain(NO_TRANSFER);
    const byPath = await run("sftp", ["-b", "-", "-s", "/usr/lib/openssh/sftp-server", ...sftpArgs, target()], "ls\n");
    expect(byPath.code).not.toBe(0);
    expect(byPath.stderr).toContain(NO_TRANSFER);
    const events = await refusals(operator);
    expect(events.slice(0, 3)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ reason: "file_transfer", kind: "subsystem", subsystem: "sftp" }),
        expect.objectContaining({ reason: "file_transfer", kind: "exec", command: "/usr/lib/openssh/sftp-server" }),
      ]),
    );
  });

  it("refuses rsync's server, however the command names it", async () => {
    for (const command of ["rsync --server --sender -e.LsfxC . /workspace/", "sh -c '/usr/bin/rsync --server . x'"]) {
      const r = await run("ssh", [...world.args(), command]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(NO_TRANSFER);
    }
  });

  it("refuses git clone and git push over SSH from outside, with the message git prints", async () => {
    const env = { ...process.env, GIT_SSH_COMMAND: sshCommand(world) };
    const url = `ssh://${target()}:${world.t.running.sshPort}/workspace`;
    const clone = await run("git", ["clone", url, join(world.home.dir, "stolen")], undefined, env);
    expect(clone.code).not.toBe(0);
    expect(clone.stderr).toContain("azusa: Git over SSH is not allowed for this package");
    const laptop = join(world.home.dir, "laptop");
    for (const args of [
      ["init", "-q", laptop],
      ["-C", laptop, "commit", "-q", "--allow-empty", "-m", "x"],
    ]) {
      const made = await run("git", ["-c", "user.name=x", "-c", "user.email=x@example.com", ...args]);
      expect(made.code).toBe(0);
    }
    const push = await run("git", ["-C", laptop, "push", url, "HEAD:refs/heads/from-laptop"], undefined, env);
    expect(push.code).not.toBe(0);
    expect(push.stderr).toContain("azusa: Git over SSH is not allowed for this package");
    const archive = await run("ssh", [...world.args(), "git upload-archive /workspace"]);
    expect(archive.stderr).toContain("Git over SSH is not allowed");
    const events = await refusals(operator);
    expect(events.slice(0, 3).map((e) => e.reason)).toEqual(["git", "git", "git"]);
  });
});

describe("a restricted contract", () => {
  let world: GatewayWorld;
  const RESTRICTED = "azusa: this package's contract is restricted";

  beforeAll(async () => {
    // a template that allows everything: restricted wins over it
    world = await oneWorkspaceWorld(docker, {
      image: await ensureBaseImage(docker),
      azusa: { ssh: { fileTransfer: true, git: true, portForwarding: ["localhost:8080"], agentForwarding: true } },
    });
    const db = world.t.running.azusa.db.kysely;
    const pkg = await db
      .selectFrom("work_package")
      .innerJoin("workspace", "workspace.package_id", "work_package.id")
      .select(["work_package.contract_id", "workspace.engineer_id"])
      .where("work_package.id", "=", world.target.packageId)
      .executeTakeFirstOrThrow();
    await db.updateTable("contract").set({ confidentiality: "restricted" }).where("id", "=", pkg.contract_id).execute();
    const operator = await world.t.signIn("root@office.example");
    for (const kind of ["background_check", "security_training", "restricted_clearance"]) {
      const res = await operator.post(`/api/v1/engineers/${pkg.engineer_id}/vetting`, {
        kind,
        issuedOn: "2026-01-01",
        expiresOn: "2028-01-01",
      });
      expect(res.status).toBe(201);
    }
  }, 240_000);

  afterAll(async () => {
    await world?.stop();
  });

  it("lets an interactive terminal with a pty in", async () => {
    const r = await run("ssh", ["-tt", ...world.args(), "echo inside; exit 3"]);
    expect(r.stdout.toString()).toContain("inside");
    expect(r.code).toBe(3);
  });

  it("refuses a command without a pty, a shell without one, SFTP, and forwards", async () => {
    const exec = await run("ssh", ["-T", ...world.args(), "cat /workspace/README.md"]);
    expect(exec.code).toBe(1);
    expect(exec.stderr).toContain(RESTRICTED);
    const shell = await run("ssh", ["-T", ...world.args()], "echo leaked\n");
    expect(shell.stdout.toString()).not.toContain("leaked");
    expect(shell.stderr).toContain(RESTRICTED);
    const sftp = await run(
      "sftp",
      [
        "-b",
        "-",
        ...world
          .args()
          .slice(0, -1)
          .map((a) => (a === "-p" ? "-P" : a)),
        `pkg-${world.target.packageId}@127.0.0.1`,
      ],
      "ls\n",
    );
    expect(sftp.code).not.toBe(0);
    expect(sftp.stderr).toContain(RESTRICTED);
    const forward = await run("ssh", [...world.args(["-W", "localhost:8080"])]);
    expect(forward.code).not.toBe(0);
    const event = await forwardEvent(
      await world.t.signIn("root@office.example"),
      (e) => e.details.outcome === "refused",
    );
    expect(event.details).toMatchObject({ destination: "localhost:8080", reason: RESTRICTED_FORWARDS.reason });
  });
});
