// SFTP on the default Debian image where the template allows it: the real OpenSSH sftp client puts a
// file into the workspace and gets it back, through the image's own sftp-server.
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { until } from "./support/cli.ts";
import { type GatewayWorld, oneWorkspaceWorld } from "./support/gateway-world.ts";
import { ensureBaseImage } from "./support/images.ts";
import { run } from "./support/ssh-client.ts";

describe("SFTP on the default image", () => {
  const docker = new Docker();
  let world: GatewayWorld;

  beforeAll(async () => {
    const image = await ensureBaseImage(docker);
    world = await oneWorkspaceWorld(docker, { image, azusa: { ssh: { sftp: true } } });
  }, 240_000);

  afterAll(async () => {
    await world?.stop();
  });

  it("puts a file into the workspace and gets it back with OpenSSH's sftp", async () => {
    const sent = randomBytes(64 * 1024);
    const local = join(world.home.dir, "up.bin");
    const back = join(world.home.dir, "back.bin");
    writeFileSync(local, sent);
    // sftp spells the port -P
    const args = world.args().map((a) => (a === "-p" ? "-P" : a));
    const sftp = await run(
      "sftp",
      ["-b", "-", ...args],
      `put ${local} /workspace/up.bin\nget /workspace/up.bin ${back}\n`,
    );
    expect(sftp.stderr).toBe("");
    expect(sftp.code).toBe(0);
    expect(readFileSync(back).equals(sent)).toBe(true);
    const inside = await run("ssh", [...world.args(), "wc -c < /workspace/up.bin"]);
    expect(inside.stdout.toString().trim()).toBe(String(sent.length));
  });

  it("asks the workspace to end nothing after an SFTP session, as it does after a command", async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    const lead = await world.t.signIn("lead@tokyo-si.example");
    /** The package's session whose command or subsystem `match` names, once it has ended. */
    const ended = (match: (s: Session) => boolean) =>
      until("the session to end", async () => {
        const items = (await (await lead.get(`/api/v1/packages/${world.target.packageId}/sessions`)).json())
          .items as Session[];
        return items.find((s) => match(s) && s.endedAt);
      });
    const args = world.args().map((a) => (a === "-p" ? "-P" : a));
    expect((await run("sftp", ["-b", "-", ...args], "ls /workspace\n")).code).toBe(0);
    const sftp = await ended((s) => s.subsystem === "sftp");
    expect((await run("ssh", [...world.args(), "echo reaped-after"])).code).toBe(0);
    const command = await ended((s) => s.command === "echo reaped-after");
    // The engine's own record of every exec it was asked for in the workspace: the reaper names its session.
    const created = await until("the command's reaper", async () => {
      const all = await execsCreated(world.target.containerId, since);
      return all.some((e) => e.includes(`azusa-reap ${command.id}`)) ? all : undefined;
    });
    expect(created.filter((e) => e.includes(sftp.id))).toEqual([]);
  });
});

interface Session {
  id: string;
  command: string | null;
  subsystem: string | null;
  endedAt: string | null;
}

/** The commands of the execs the engine created in `container` from `since` (seconds) until now. */
async function execsCreated(container: string, since: number): Promise<string[]> {
  const docker = new Docker();
  const stream = (await docker.getEvents({
    since,
    until: Math.ceil(Date.now() / 1000),
    filters: { container: [container], event: ["exec_create"] },
  })) as NodeJS.ReadableStream;
  let text = "";
  for await (const chunk of stream) text += chunk.toString();
  return text
    .split("\n")
    .filter(Boolean)
    .map((line) => String((JSON.parse(line) as { Action?: string }).Action ?? ""));
}
