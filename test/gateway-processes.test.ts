// A session's processes end with it, in a real Debian-base workspace with the real OpenSSH client: what a
// command left in the background, nohup'ed or moved to a session of its own with setsid ends when the
// session ends, when the client goes away and when Azusa stops; a service the template names runs on.
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { until } from "./support/cli.ts";
import { type GatewayWorld, oneWorkspaceWorld } from "./support/gateway-world.ts";
import { ensureBaseImage } from "./support/images.ts";
import { getPage } from "./support/pages.ts";
import { run } from "./support/ssh-client.ts";

const docker = new Docker();

/** The command lines of every process in the workspace, from `ps` run there beside the sessions. */
async function processes(world: GatewayWorld, columns = "args"): Promise<string[]> {
  const exec = await docker.getContainer(world.target.containerId).exec({
    Cmd: ["ps", "-eo", columns],
    AttachStdout: true,
    AttachStderr: true,
    User: "azusa",
  });
  const stream = await exec.start({});
  const output = await new Promise<string>((resolve) => {
    let all = "";
    stream.on("data", (d: Buffer) => {
      all += d.toString("latin1");
    });
    stream.on("end", () => resolve(all));
  });
  return output.split("\n").map((line) => line.replace(/[^\x20-\x7e]/g, "").trim());
}

/** Starts background work that would outlive a shell: plain, nohup'ed, in its own session, and the service. */
const leaveBehind = (n: number) =>
  [
    `sleep ${n}1 >/dev/null 2>&1 &`,
    `nohup sleep ${n}2 >/dev/null 2>&1 &`,
    `setsid sleep ${n}3 >/dev/null 2>&1 &`,
    `tail -f /dev/null ${n} >/dev/null 2>&1 &`,
  ].join(" ");

/** Resolves once the three sleeps `n` left are running (setsid's may start a moment after the shell moved on). */
const started = (world: GatewayWorld, n: number) =>
  until(`the sleeps of ${n}`, async () =>
    (await processes(world)).filter((p) => p.startsWith(`sleep ${n}`)).length === 3 ? true : undefined,
  );

/** Resolves once the sleeps `n` left are gone (ended just after the session's end is written); its service runs on. */
async function expectEnded(world: GatewayWorld, n: number) {
  const ps = await until(`the sleeps of ${n} to end`, async () => {
    const now = await processes(world);
    return now.some((p) => p.startsWith(`sleep ${n}`)) ? undefined : now;
  });
  expect(ps).toContain(`tail -f /dev/null ${n}`);
}

/** A shell with a pty (`ssh -tt`) that ran `line` and printed "ready". */
async function shell(world: GatewayWorld, line: string): Promise<ChildProcessWithoutNullStreams> {
  const child = spawn("ssh", world.args(["-tt"])) as ChildProcessWithoutNullStreams;
  let out = "";
  await new Promise<void>((resolve, reject) => {
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      if (/^ready/m.test(out)) resolve();
    });
    child.once("close", (code) => reject(new Error(`ssh ended (${code}): ${out}`)));
    child.stdin.write(`${line} echo re""ady\n`);
  });
  return child;
}

describe("a session's processes", () => {
  let world: GatewayWorld;

  beforeAll(async () => {
    world = await oneWorkspaceWorld(docker, { image: await ensureBaseImage(docker), azusa: { services: ["tail"] } });
  }, 240_000);

  afterAll(async () => {
    await world?.stop();
  });

  it("end with the command that started them, the template's service running on", async () => {
    const res = await run("ssh", [...world.args(), `${leaveBehind(10)} echo started`]);
    expect(res.stdout.toString()).toBe("started\n");
    await expectEnded(world, 10);
  }, 60_000);

  it("leave the template's services listed on the workspace's answer and page, for those who may see it", async () => {
    const res = await run("ssh", [...world.args(), `${leaveBehind(15)} echo started`]);
    expect(res.stdout.toString()).toBe("started\n");
    await expectEnded(world, 15);
    const lead = await world.t.signIn("lead@tokyo-si.example");
    const sessions = (await (await lead.get(`/api/v1/packages/${world.target.packageId}/sessions`)).json()).items as {
      id: string;
      command: string | null;
    }[];
    const session = sessions.find((i) => i.command?.includes("tail -f /dev/null 15"));
    expect(session).toBeDefined();
    const pids = (await processes(world, "pid,args")).filter((p) => p.endsWith("tail -f /dev/null 15"));
    expect(pids).toHaveLength(1);
    const pid = Number.parseInt(pids[0] as string, 10);

    const engineer = await world.t.signIn("se0@matsumoto.example");
    for (const who of [lead, engineer]) {
      const ws = await (await who.get(`/api/v1/packages/${world.target.packageId}/workspace`)).json();
      const listed = ws.services.find((s: { pid: number }) => s.pid === pid);
      expect(listed).toMatchObject({ name: "tail", pid, sessionId: session?.id });
      // Started during the session, which began before it.
      expect(Date.parse(listed.since)).toBeGreaterThanOrEqual(Date.parse(ws.createdAt) - 1000);
      expect(Date.parse(listed.since)).toBeLessThanOrEqual(Date.now() + 1000);
    }
    const page = await getPage(lead, `/packages/${world.target.packageId}?lang=en`);
    expect(page.html).toContain(`tail (pid ${pid})`);
    expect(page.html).toContain(session?.id);

    const other = await world.t.createTenant("大阪SI");
    await world.t.createUser("contractor", "buyer@osaka-si.example", other.id);
    const stranger = await world.t.signIn("buyer@osaka-si.example");
    const refused = await stranger.get(`/api/v1/packages/${world.target.packageId}/workspace`);
    expect(refused.status).toBe(404);
    // Only the refusal: no workspace, no services (a pid's digits could be anywhere in a request id).
    expect(Object.keys(await refused.json())).toEqual(["error"]);
  }, 60_000);

  it("end when the client goes away from a login shell", async () => {
    const ssh = await shell(world, leaveBehind(20));
    await started(world, 20);
    ssh.kill("SIGKILL");
    await expectEnded(world, 20);
  }, 60_000);

  it("end when Azusa stops", async () => {
    const ssh = await shell(world, leaveBehind(30));
    try {
      await started(world, 30);
      await world.t.running.stop();
      await expectEnded(world, 30);
    } finally {
      ssh.kill();
    }
  }, 60_000);
});
