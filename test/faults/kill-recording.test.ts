// A real `azusa serve` killed with SIGKILL at the worst moment of a session's evidence (held there by the test-only
// AZUSA_TEST_PAUSE_AT): the command has ended and all its output is recorded, but the recording is not closed (its
// gzip stream has no end) and the session's end is not written. Started again, the recording downloads whole and
// plays in asciinema, the session is ended with a reason, and the workspace takes a new session. On SQLite and
// PostgreSQL, with the real Docker engine and the real OpenSSH client.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import Docker from "dockerode";
import { afterAll, describe, expect, it } from "vitest";
import { exited, runCli, startServe, until } from "../support/cli.ts";
import { createTestDatabase, dialects, type TestDatabase } from "../support/databases.ts";
import { sweepInstance } from "../support/docker.ts";
import { Client, freePort, PASSWORD } from "../support/harness.ts";
import { ensureTestImage } from "../support/images.ts";
import { keyFile, run, sshArgs, sshHome } from "../support/ssh-client.ts";
import { prepareWorkspaces } from "../support/workspace-setup.ts";

const docker = new Docker();

interface SessionItem {
  id: string;
  command: string | null;
  startedAt: string;
  endedAt: string | null;
  endReason: string | null;
  recorded: boolean;
}

describe.each(dialects)("killed while a session's recording is still open (%s)", (dialect) => {
  const instance = `test-killrec-${randomBytes(5).toString("hex")}`;
  let db: TestDatabase | undefined;
  const children: ChildProcess[] = [];
  const scratch: string[] = [];

  afterAll(async () => {
    for (const child of children) {
      child.kill("SIGKILL");
      await exited(child);
    }
    await sweepInstance(docker, instance);
    await db?.drop();
    for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
  });

  it("downloads the whole recording after the restart, ends the session with a reason and takes a new one", {
    timeout: 300_000,
  }, async () => {
    const image = await ensureTestImage(docker);
    db = await createTestDatabase(dialect);
    const templates = mkdtempSync(join(tmpdir(), "azusa-killrec-templates-"));
    scratch.push(templates);
    writeFileSync(
      join(templates, "default.devcontainer.json"),
      JSON.stringify({ image, remoteUser: "azusa", customizations: { azusa: { resources: { memoryMiB: 128 } } } }),
    );
    const [port, sshPort] = [await freePort(), await freePort()];
    const base = `http://127.0.0.1:${port}`;
    const env = {
      ...db.env,
      AZUSA_TEMPLATES_DIR: templates,
      AZUSA_PORT: String(port),
      AZUSA_SSH_PORT: String(sshPort),
      AZUSA_BASE_URL: base,
      AZUSA_INSTANCE_ID: instance,
      AZUSA_SCHEDULES: "off",
      AZUSA_SIGNIN_LIMIT: "1000",
    };
    expect((await runCli(["admin", "create", "--email", "root@office.example"], env, PASSWORD)).code).toBe(0);
    const first = await startServe({ ...env, AZUSA_TEST_PAUSE_AT: "sessions.ending" });
    children.push(first.child);
    const operator = new Client(base);
    await operator.post("/api/auth/sign-in/email", { email: "root@office.example", password: PASSWORD });
    const s = await prepareWorkspaces(base, operator);
    await s.accept("2.3");
    const packageId = s.pkg["2.3"]?.id as string;
    await until(
      "the workspace to run",
      async () => {
        const ws = await (await s.sato.get(`/api/v1/packages/${packageId}/workspace`)).json();
        return ws.state === "running" ? ws : undefined;
      },
      120_000,
    );
    const home = sshHome(readFileSync(join(db.dataDir, "ssh_host_ed25519_key.pub"), "utf8").trim(), sshPort);
    scratch.push(home.dir);
    const key = keyFile(home.dir, "sato");
    expect((await s.sato.post(`/api/v1/engineers/${s.satoId}/ssh-keys`, { publicKey: key.publicKey })).status).toBe(
      201,
    );
    const ssh = (command: string) =>
      sshArgs({ port: sshPort, key: key.path, knownHosts: home.knownHosts, user: `pkg-${packageId}` }).concat(command);

    // A command that prints 300 numbered lines and a last word, then exits: the session reaches its end.
    const command = "i=0; while [ $i -lt 300 ]; do i=$((i+1)); echo line $i; done; echo all-done";
    const client = spawn("ssh", ssh(command), { stdio: ["ignore", "pipe", "pipe"] });
    children.push(client);
    await until(
      "azusa serve to pause at sessions.ending",
      async () => (first.output().includes(`"point":"sessions.ending"`) ? true : undefined),
      120_000,
    );
    const lead = s.lead;
    await lead.post("/api/auth/sign-in/email", { email: "lead@tokyo-si.example", password: PASSWORD });
    const ours = async () =>
      ((await (await lead.get(`/api/v1/packages/${packageId}/sessions`)).json()).items as SessionItem[]).find(
        (i) => i.command === command,
      );
    const held = await ours();
    expect(held).toMatchObject({ endedAt: null, recorded: true });
    // The recording is still open (flushed each second, never ended): what a download reads of it now has it all.
    await until("the open recording to hold the last line", async () => {
      const res = await lead.get(`/api/v1/sessions/${held?.id}/recording`);
      // Its events, not its header (which names the command, and so the last word too).
      const events = res.status === 200 ? (await res.text()).split("\n").slice(1).join("\n") : "";
      return events.includes("all-done") ? true : undefined;
    });
    first.child.kill("SIGKILL");
    await exited(first.child);
    await exited(client);

    const second = await startServe(env);
    children.push(second.child);
    await lead.post("/api/auth/sign-in/email", { email: "lead@tokyo-si.example", password: PASSWORD });
    const ended = await ours();
    expect(ended).toMatchObject({ endReason: "azusa stopped unexpectedly", recorded: true });
    expect(ended?.endedAt).toEqual(expect.any(String));

    const res = await lead.get(`/api/v1/sessions/${ended?.id}/recording`);
    expect(res.status).toBe(200);
    const cast = await res.text();
    const [header, ...lines] = cast.trim().split("\n");
    expect(JSON.parse(header as string)).toMatchObject({ version: 2, command });
    const events = lines.map((l) => JSON.parse(l) as [number, string, string]);
    const output = events.map((e) => e[2]).join("");
    for (const n of [1, 150, 300]) expect(output).toContain(`line ${n}\n`);
    expect(output).toContain("all-done");
    // Its end is the recording's last event.
    const last = events.at(-1)?.[0] as number;
    expect(Date.parse(ended?.endedAt as string)).toBe(Date.parse(ended?.startedAt as string) + Math.round(last * 1000));
    const file = join(home.dir, "killed.cast");
    writeFileSync(file, cast);
    // asciinema opens /dev/tty even for `cat`: give it a terminal.
    const played = (await run("script", ["-qec", `asciinema cat ${file}`, "/dev/null"], new PassThrough())).stdout;
    expect(played.toString()).toContain("all-done");

    // Nothing is left stuck: no session of the package is open, and the workspace takes a new one, recorded.
    const items = (await (await lead.get(`/api/v1/packages/${packageId}/sessions`)).json()).items as SessionItem[];
    expect(items.filter((i) => !i.endedAt)).toEqual([]);
    const again = await run("ssh", ssh("echo back again"));
    expect({ code: again.code, stdout: again.stdout.toString() }).toEqual({ code: 0, stdout: "back again\n" });
    const next = await until("the new session's end to be written", async () => {
      const list = (await (await lead.get(`/api/v1/packages/${packageId}/sessions`)).json()).items as SessionItem[];
      return list.find((i) => i.command === "echo back again" && i.endedAt);
    });
    expect(next).toMatchObject({ endReason: "exited", recorded: true });
  });
});
