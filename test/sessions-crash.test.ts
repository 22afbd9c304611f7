// Killing Azusa (SIGKILL) during an SSH session, on SQLite and PostgreSQL: its recording keeps the events
// up to about a second before the kill and plays in asciinema, and the next start closes the session row
// ("azusa stopped unexpectedly", ended at the recording's last event) and ends the processes the sessions left
// (no reaper ran), the template's service spared.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import Docker from "dockerode";
import { afterAll, describe, expect, it } from "vitest";
import { exited, runCli, startServe, until } from "./support/cli.ts";
import { createTestDatabase, dialects, type TestDatabase } from "./support/databases.ts";
import { sweepInstance } from "./support/docker.ts";
import { Client, freePort, PASSWORD } from "./support/harness.ts";
import { ensureTestImage } from "./support/images.ts";
import { keyFile, run, sshArgs, sshHome } from "./support/ssh-client.ts";
import { prepareWorkspaces } from "./support/workspace-setup.ts";

const docker = new Docker();

/** The command line of every process in the instance's one workspace, read from its /proc (busybox has no procps). */
async function commandLines(instance: string): Promise<string[]> {
  const [container] = await docker.listContainers({
    filters: { label: [`io.azusa.instance=${instance}`, "io.azusa.role=workspace"] },
  });
  if (!container) throw new Error("no running workspace");
  const exec = await docker.getContainer(container.Id).exec({
    Cmd: ["/bin/sh", "-c", 'for d in /proc/[0-9]*; do tr "\\0" " " < "$d/cmdline"; echo; done'],
    AttachStdout: true,
    AttachStderr: true,
    // With a terminal the output arrives raw, without the engine's stream headers between chunks.
    Tty: true,
  });
  const stream = await exec.start({ Tty: true });
  const output = await new Promise<string>((resolve) => {
    let all = "";
    stream.on("data", (d: Buffer) => {
      all += d.toString("latin1");
    });
    stream.on("end", () => resolve(all));
  });
  return output.split(/\r?\n/).map((line) => line.trim());
}

describe.each(dialects)("a crash during a session (%s)", (dialect) => {
  const instance = `test-crash-${randomBytes(5).toString("hex")}`;
  let db: TestDatabase | undefined;
  let child: ChildProcess | undefined;

  afterAll(async () => {
    if (child) {
      child.kill("SIGKILL");
      await exited(child);
    }
    await sweepInstance(docker, instance);
    await db?.drop();
  });

  it("keeps the recording up to about a second before the kill; the next start closes the session and ends its processes", {
    timeout: 180_000,
  }, async () => {
    const image = await ensureTestImage(docker);
    db = await createTestDatabase(dialect);
    const dataDir = db.dataDir;
    const templates = mkdtempSync(join(tmpdir(), "azusa-crash-templates-"));
    writeFileSync(
      join(templates, "default.devcontainer.json"),
      JSON.stringify({
        image,
        remoteUser: "azusa",
        customizations: { azusa: { resources: { memoryMiB: 128 }, services: ["tail"] } },
      }),
    );
    const [port, sshPort] = [await freePort(), await freePort()];
    const env = {
      ...db.env,
      AZUSA_TEMPLATES_DIR: templates,
      AZUSA_PORT: String(port),
      AZUSA_SSH_PORT: String(sshPort),
      AZUSA_BASE_URL: `http://127.0.0.1:${port}`,
      AZUSA_INSTANCE_ID: instance,
      AZUSA_SCHEDULES: "off",
      AZUSA_SIGNIN_LIMIT: "1000",
    };
    expect((await runCli(["admin", "create", "--email", "root@office.example"], env, PASSWORD)).code).toBe(0);
    const first = await startServe(env);
    child = first.child;
    const base = env.AZUSA_BASE_URL;
    const operator = new Client(base);
    await operator.post("/api/auth/sign-in/email", { email: "root@office.example", password: PASSWORD });
    const s = await prepareWorkspaces(base, operator);
    await s.accept("2.3");
    const packageId = s.pkg["2.3"]?.id as string;
    await until("the workspace to run", async () => {
      const ws = await (await s.sato.get(`/api/v1/packages/${packageId}/workspace`)).json();
      return ws.state === "running" ? ws : undefined;
    });
    const home = sshHome(readFileSync(join(dataDir, "ssh_host_ed25519_key.pub"), "utf8").trim(), sshPort);
    const key = keyFile(home.dir, "sato");
    expect((await s.sato.post(`/api/v1/engineers/${s.satoId}/ssh-keys`, { publicKey: key.publicKey })).status).toBe(
      201,
    );

    // A command printing a numbered line every 50 ms, killed with Azusa once 60 lines have arrived.
    const command = "i=0; while true; do i=$((i+1)); echo line $i; sleep 0.05; done";
    const client = spawn(
      "ssh",
      [...sshArgs({ port: sshPort, key: key.path, knownHosts: home.knownHosts, user: `pkg-${packageId}` }), command],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let seen = "";
    let errors = "";
    client.stdout.on("data", (d: Buffer) => {
      seen += d.toString();
    });
    client.stderr.on("data", (d: Buffer) => {
      errors += d.toString();
    });
    await until("60 lines of output", async () => (/line 60\n/.test(seen) ? true : undefined)).catch((err) => {
      throw new Error(`${err.message}; the client said ${JSON.stringify(errors)}, exit ${client.exitCode}`);
    });
    // A second session leaves a service (the template's) and a sleep running in the background when Azusa is
    // killed (the engine may kill an exec's own process once its client is gone, never what it started).
    const leaving = spawn(
      "ssh",
      [
        ...sshArgs({ port: sshPort, key: key.path, knownHosts: home.knownHosts, user: `pkg-${packageId}` }),
        "tail -f /dev/null 77 & sleep 1000 & wait",
      ],
      { stdio: ["ignore", "ignore", "ignore"] },
    );
    await until("the sleep and the service to run", async () => {
      const lines = await commandLines(instance);
      return lines.includes("sleep 1000") && lines.includes("tail -f /dev/null 77") ? true : undefined;
    });
    const shown = Number([...seen.matchAll(/line (\d+)\n/g)].at(-1)?.[1]);
    first.child.kill("SIGKILL");
    await exited(first.child);
    await exited(client);
    await exited(leaving);
    // Nothing ended them: the kill left no reaper.
    const before = await commandLines(instance);
    expect(before, JSON.stringify(before)).toContain("sleep 1000");

    const second = await startServe(env);
    child = second.child;
    // Ended before the restarted process serves: the sleep and the printing loop, the service spared.
    const after = await commandLines(instance);
    expect(after).not.toContain("sleep 1000");
    expect(after.filter((l) => l.includes("echo line"))).toEqual([]);
    expect(after).toContain("tail -f /dev/null 77");
    const lead = s.lead;
    await lead.post("/api/auth/sign-in/email", { email: "lead@tokyo-si.example", password: PASSWORD });
    await operator.post("/api/auth/sign-in/email", { email: "root@office.example", password: PASSWORD });
    const items = (await (await lead.get(`/api/v1/packages/${packageId}/sessions`)).json()).items;
    const session = items.find((i: { command: string | null }) => i.command === command);
    expect(session).toMatchObject({ kind: "exec", endReason: "azusa stopped unexpectedly", recorded: true });

    const res = await lead.get(`/api/v1/sessions/${session.id}/recording`);
    expect(res.status).toBe(200);
    const cast = await res.text();
    const events = cast
      .trim()
      .split("\n")
      .slice(1)
      .map((l) => JSON.parse(l) as [number, string, string]);
    const recorded = Number(
      [
        ...events
          .map((e) => e[2])
          .join("")
          .matchAll(/line (\d+)\n/g),
      ].at(-1)?.[1],
    );
    // Flushed at least every second: at most about 20 lines (a second) and a flush's slack are lost.
    expect(recorded).toBeGreaterThanOrEqual(shown - 30);
    const last = events.at(-1)?.[0] as number;
    expect(Date.parse(session.endedAt)).toBe(Date.parse(session.startedAt) + Math.round(last * 1000));

    // Audited once, naming both sessions; the service is listed with the session that started it.
    const audit = (await (await operator.get("/api/v1/audit-events?limit=200")).json()).items as {
      action: string;
      details: { sessions: string[]; processes: number };
    }[];
    const ended = audit.filter((e) => e.action === "workspace.processes_ended");
    expect(ended).toHaveLength(1);
    const sleeper = items.find((i: { command: string | null }) => i.command?.includes("sleep 1000"));
    expect(ended[0]?.details.sessions.sort()).toEqual([session.id, sleeper.id].sort());
    const ws = await (await lead.get(`/api/v1/packages/${packageId}/workspace`)).json();
    expect(ws.services).toEqual([expect.objectContaining({ name: "tail", sessionId: sleeper.id })]);

    const file = join(home.dir, "crash.cast");
    writeFileSync(file, cast);
    // asciinema opens /dev/tty even for `cat`: give it a terminal.
    const played = (await run("script", ["-qec", `asciinema cat ${file}`, "/dev/null"], new PassThrough())).stdout;
    expect(played.toString()).toContain(`line ${recorded}`);
    rmSync(templates, { recursive: true, force: true });
  });
});
