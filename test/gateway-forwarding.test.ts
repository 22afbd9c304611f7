// Port forwarding and signals through the SSH gateway: `ssh -L` reaches a server listening on the
// workspace's own localhost when the template lists it, nothing else; a client's signal ends a command.
import { connect } from "node:net";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ForwardEvent,
  type GatewayWorld,
  oneWorkspaceWorld,
  ssh2Login,
  forwardEvent as waitForEvent,
} from "./support/gateway-world.ts";
import { type Client, freePort } from "./support/harness.ts";
import { holdingForwards, run } from "./support/ssh-client.ts";

/** Connects to a local port, sends `request`, and resolves with all it got back, or the error. */
function exchange(port: number, request: string): Promise<{ reply: string } | { error: string }> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    let reply = "";
    socket.on("connect", () => socket.write(request));
    socket.on("data", (d: Buffer) => {
      reply += d.toString();
    });
    socket.on("error", (err) => resolve({ error: err.message }));
    socket.on("close", () => resolve(reply ? { reply } : { error: "closed without an answer" }));
  });
}

describe("SSH port forwarding and signals", () => {
  let world: GatewayWorld;
  let operator: Client;
  const args = (extra: string[] = []) => world.args(extra);

  const forwardEvent = (match: (e: ForwardEvent) => boolean) => waitForEvent(operator, match);

  /** An ssh connection holding `forwards` (-L specs), resolved once its listeners are up. */
  const forwarding = (forwards: string[]) =>
    holdingForwards(args(["-o", "ExitOnForwardFailure=yes", ...forwards.flatMap((f) => ["-L", f])]));

  beforeAll(async () => {
    world = await oneWorkspaceWorld(new Docker(), {
      // httpd is a service: started by a session, it runs on after that session ends.
      azusa: {
        services: ["httpd"],
        ssh: { portForwarding: ["localhost:3000", "localhost:3002"], x11: true, remoteForwarding: [3005] },
      },
    });
    operator = await world.t.signIn("root@office.example");
    // A dev server on the workspace's own loopback: the workspace has no network, so only it can reach it.
    const server = await run("ssh", [
      ...args(),
      "mkdir -p /tmp/www && echo 'hello from the workspace' > /tmp/www/index.html && httpd -p 127.0.0.1:3000 -h /tmp/www",
    ]);
    expect(server.code).toBe(0);
  }, 120_000);

  afterAll(async () => {
    await world?.stop();
  });

  it("forwards a local port to the server on the workspace's localhost the template lists", async () => {
    const port = await freePort();
    const ssh = await forwarding([`${port}:localhost:3000`]);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/index.html`);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe("hello from the workspace\n");
      const event = await forwardEvent((e) => e.details.outcome === "closed");
      expect(event.details.destination).toBe("localhost:3000");
      expect(event.details.bytesIn).toBeGreaterThan(0);
      expect(event.details.bytesOut).toBeGreaterThan(25);
      // Read while the connection's own command still runs: its end would count as activity too.
      const ws = await world.t.running.azusa.db.kysely
        .selectFrom("workspace")
        .select("last_activity")
        .where("package_id", "=", world.target.packageId)
        .executeTakeFirstOrThrow();
      expect(ws.last_activity).toBe("ssh forward");
    } finally {
      ssh.kill();
    }
  }, 30_000);

  it("refuses a destination the template does not list (ssh -L, -D), says why in the engineer's language, and audits the refusal", async () => {
    const [allowed, otherPort, otherHost, socks] = [
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    const ssh = await holdingForwards(
      args([
        "-o",
        "ExitOnForwardFailure=yes",
        ...[`${allowed}:localhost:3000`, `${otherPort}:localhost:3001`, `${otherHost}:10.0.0.1:3000`].flatMap((f) => [
          "-L",
          f,
        ]),
        "-D",
        String(socks),
      ]),
    );
    let said = "";
    ssh.stderr.on("data", (d: Buffer) => {
      said += d.toString();
    });
    try {
      for (const port of [otherPort, otherHost]) {
        expect(await exchange(port, "GET / HTTP/1.0\r\n\r\n")).toHaveProperty("error");
      }
      // ssh -D: the destination a SOCKS client names is refused the same way.
      const socksed = await run("curl", [
        "-sS",
        "--max-time",
        "20",
        "--socks5-hostname",
        `127.0.0.1:${socks}`,
        "http://localhost:3003/",
      ]);
      expect(socksed.code).not.toBe(0);
      // The same connection still forwards where the template allows.
      const ok = await exchange(allowed, "GET /index.html HTTP/1.0\r\n\r\n");
      expect("reply" in ok && ok.reply).toContain("hello from the workspace");
      // The session on the connection says each refusal in the engineer's language (Japanese: they chose nothing
      // else), as the bytes OpenSSH prints them: on the channel's error output, never escaped.
      const lines = [
        "localhost:3001 へのポート転送を拒否しました",
        "10.0.0.1:3000 へのポート転送を拒否しました",
        "localhost:3003 へのポート転送を拒否しました",
      ];
      for (let i = 0; !lines.every((l) => said.includes(l)); i++) {
        expect(i, said).toBeLessThan(200);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(said).toContain(
        "azusa: localhost:3001 へのポート転送を拒否しました: ワークスペースのテンプレートはこの転送先へのポート転送を許可していません\r\n",
      );
      expect(said).not.toMatch(/\\\d{3}/);
    } finally {
      ssh.kill();
    }
    // A refused forward says why, as the client prints it (-W: one forward on standard input and output), in
    // English there: OpenSSH prints a refusal's other characters as octal escapes.
    // (OpenSSH prints the refusal at its INFO level; -v shows it over the tests' LogLevel=ERROR.)
    const stdio = await run("ssh", [...args(["-v", "-W", "localhost:3001"])]);
    expect(stdio.code).toBe(255);
    expect(stdio.stderr).toContain(
      "open failed: administratively prohibited: azusa: the workspace's template does not allow forwarding there",
    );
    for (const destination of ["localhost:3001", "10.0.0.1:3000", "localhost:3003"]) {
      const event = await forwardEvent((e) => e.details.destination === destination);
      expect(event.details).toMatchObject({
        outcome: "refused",
        code: "forward_not_listed",
        reason: "the workspace's template does not allow forwarding there",
      });
    }
  }, 60_000);

  it("closes a forward whose allowed destination has no server, and audits why", async () => {
    const port = await freePort();
    const ssh = await forwarding([`${port}:localhost:3002`]);
    try {
      expect(await exchange(port, "GET / HTTP/1.0\r\n\r\n")).toHaveProperty("error");
    } finally {
      ssh.kill();
    }
    const event = await forwardEvent((e) => e.details.destination === "localhost:3002");
    expect(event.details.outcome).toMatch(/^failed: .*refused/i);
    expect(event.details.bytesOut).toBe(0);
  }, 30_000);

  it("says why when the workspace has no perl to listen with for X11 or ssh -R, and audits it", async () => {
    // The busybox image has no perl: the template allows both, the workspace cannot listen.
    const x11 = await run(
      "ssh",
      [...args(["-Y", "-o", "XAuthLocation=/nonexistent"]), 'echo "DISPLAY=[$DISPLAY]"'],
      undefined,
      {
        ...process.env,
        DISPLAY: "127.0.0.1:59",
      },
    );
    expect(x11.stdout.toString()).toBe("DISPLAY=[]\n");
    expect(x11.stderr).toContain("azusa: X11 転送は使えません: ワークスペースに待ち受けに使う perl がありません\r\n");
    expect(x11.code).toBe(0);
    // Without ExitOnForwardFailure the session runs, and says why before its command.
    const told = await run("ssh", [...args(["-R", "3005:127.0.0.1:9"]), "echo ran"]);
    expect(told.stdout.toString()).toBe("ran\n");
    expect(told.stderr).toContain(
      "azusa: ポート 3005 からのリモート転送は使えません: ワークスペースに待ち受けに使う perl がありません\r\n",
    );
    const remote = await run("ssh", [...args(["-o", "ExitOnForwardFailure=yes", "-R", "3005:127.0.0.1:9"]), "true"]);
    expect(remote.code).toBe(255);
    expect(remote.stderr).toContain("remote port forwarding failed for listen port 3005");
    const event = await forwardEvent((e) => e.details.destination === "127.0.0.1:3005");
    expect(event.details.outcome).toBe("failed: the workspace has no perl to listen with");
  }, 30_000);

  it("delivers a client's TERM to the command, which ends with exit-signal TERM", async () => {
    const client = await ssh2Login(world);
    try {
      const ended = await new Promise<{ code: number | null; signal: string | undefined }>((resolve, reject) => {
        client.exec("echo started; exec sleep 60", (err, stream) => {
          if (err) return reject(err);
          stream.on("data", (d: Buffer) => {
            if (d.toString().includes("started")) stream.signal("TERM");
          });
          stream.stderr.resume();
          stream.once("exit", (code: number | null, signal?: string) => resolve({ code, signal }));
        });
      });
      // ssh2's client names the exit-signal "SIGTERM"; OpenSSH's would say "Killed by signal 15".
      expect(ended).toEqual({ code: null, signal: "SIGTERM" });
    } finally {
      client.end();
    }
  }, 30_000);
});
