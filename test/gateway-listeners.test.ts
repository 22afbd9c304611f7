// Remote port forwarding (ssh -R), agent forwarding (ssh -A) and X11 forwarding (ssh -Y) through the SSH
// gateway into a real Debian-base workspace, with the real OpenSSH client, ssh-agent and a loopback "X server".
import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ForwardEvent,
  type GatewayWorld,
  oneWorkspaceWorld,
  ssh2Login,
  forwardEvent as waitForEvent,
} from "./support/gateway-world.ts";
import type { Client } from "./support/harness.ts";
import { ensureBaseImage } from "./support/images.ts";
import { keyFile, run } from "./support/ssh-client.ts";

const docker = new Docker();

/** A loopback TCP server that answers each connection with `answer(what it was sent first)`. */
async function loopbackServer(port: number, answer: (first: Buffer) => Buffer | string): Promise<Server> {
  const server = createServer((socket: Socket) => {
    socket.once("data", (first: Buffer) => socket.end(answer(first)));
    socket.on("error", () => undefined);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  return server;
}

/** The port a server listens on. */
const portOf = (server: Server) => (server.address() as { port: number }).port;

/** An ssh process kept running, resolved once its command printed its first line. */
async function holding(args: string[], env: NodeJS.ProcessEnv = process.env) {
  const child = spawn("ssh", args, { env }) as ChildProcessWithoutNullStreams;
  let stdout = "";
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once("close", resolve));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      if (stdout.includes("\n")) resolve();
    });
    void exited.then((code) => reject(new Error(`ssh ended (${code}): ${stderr}`)));
  });
  return { child, exited, stdout: () => stdout, stderr: () => stderr };
}

/** Perl run in the workspace: lists the identities of the agent at $SSH_AUTH_SOCK (request 11, answer 12). */
const listIdentities = String.raw`perl -MIO::Socket::UNIX -MMIME::Base64 -e '
  my $s = IO::Socket::UNIX->new(Peer => $ENV{SSH_AUTH_SOCK}) or die "connect: $!\n";
  print $s pack("N C", 1, 11);
  read($s, my $len, 4) == 4 or die "no answer\n";
  read($s, my $body, unpack("N", $len));
  my ($type, $count) = unpack("C N", $body);
  print "answer $type, $count identities\n";
  my $at = 5;
  for (1 .. $count) {
    my $blob = unpack("N/a*", substr($body, $at)); $at += 4 + length $blob;
    my $comment = unpack("N/a*", substr($body, $at)); $at += 4 + length $comment;
    print encode_base64($blob, ""), " ", $comment, "\n";
  }'`;

/**
 * Perl run in the workspace: reads the MIT-MAGIC-COOKIE-1 cookie for $DISPLAY from $XAUTHORITY, opens
 * the display with an X11 connection setup carrying it, and prints the cookie and what the server answered.
 * It does not half-close: OpenSSH's client, like an X server, takes the end of a client's output as the end.
 */
const x11Client = String.raw`perl -MIO::Socket::INET -e '
  my ($host, $display) = $ENV{DISPLAY} =~ /^([^:]*):(\d+)/ or die "DISPLAY is $ENV{DISPLAY}\n";
  open(my $fh, "<", $ENV{XAUTHORITY}) or die "XAUTHORITY: $!\n"; binmode $fh; local $/; my $file = <$fh>;
  my ($family, $addr, $number, $name, $data) = unpack("n n/a* n/a* n/a* n/a*", $file);
  $number eq $display or die "no cookie for display $display\n";
  my $s = IO::Socket::INET->new(PeerAddr => $host eq "localhost" ? "127.0.0.1" : $host, PeerPort => 6000 + $display) or die "connect: $!\n";
  my $pad = sub { my $l = length shift; "\0" x ((4 - $l % 4) % 4) };
  print $s pack("a1 x n n n n x2", "B", 11, 0, length $name, length $data), $name, $pad->($name), $data, $pad->($data);
  my $answer = join "", <$s>;
  print unpack("H*", $data), " ", $answer, "\n";'`;

/** `args` with the agent at `socket` instead of none: OpenSSH forwards an agent only when it has one itself. */
const withAgent = (args: string[], socket: string) =>
  args.map((a) => (a === "IdentityAgent=none" ? `IdentityAgent=${socket}` : a));

describe("SSH remote, agent and X11 forwarding into a Debian workspace", () => {
  let allowing: GatewayWorld;
  let refusing: GatewayWorld;
  let operator: Client;
  let scratch: string;
  // The client's own agent (a real ssh-agent on a socket of ours) holding one key.
  let agent: ChildProcessWithoutNullStreams;
  let agentSocket: string;
  let publicKey: string;

  beforeAll(async () => {
    const image = await ensureBaseImage(docker);
    [allowing, refusing] = await Promise.all([
      oneWorkspaceWorld(docker, {
        image,
        azusa: { ssh: { remoteForwarding: [7000], agentForwarding: true, x11: true } },
      }),
      oneWorkspaceWorld(docker, { image }),
    ]);
    operator = await allowing.t.signIn("root@office.example");
    scratch = mkdtempSync(join(tmpdir(), "azusa-listeners-"));
    agentSocket = join(scratch, "agent.sock");
    agent = spawn("ssh-agent", ["-D", "-a", agentSocket]) as ChildProcessWithoutNullStreams;
    await new Promise<void>((resolve) => agent.stdout.once("data", () => resolve()));
    const key = keyFile(scratch, "signing");
    publicKey = key.publicKey;
    execFileSync("ssh-add", [key.path], { env: { ...process.env, SSH_AUTH_SOCK: agentSocket }, stdio: "ignore" });
  }, 240_000);

  afterAll(async () => {
    agent?.kill();
    await Promise.all([allowing?.stop(), refusing?.stop()]);
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  const forwardEvent = (match: (e: ForwardEvent) => boolean) => waitForEvent(operator, match);

  describe("remote forwarding", () => {
    it("lets a command in the workspace reach the client's loopback server through a port the template lists", async () => {
      const server = await loopbackServer(0, (first) => `the client side got ${first.toString().trim()}\n`);
      try {
        const res = await run("ssh", [
          ...allowing.args(["-o", "ExitOnForwardFailure=yes", "-R", `7000:127.0.0.1:${portOf(server)}`]),
          "bash -c 'exec 3<>/dev/tcp/127.0.0.1/7000; echo ping >&3; cat <&3'",
        ]);
        expect(res.stderr).toBe("");
        expect(res.stdout.toString()).toBe("the client side got ping\n");
        expect(res.code).toBe(0);
      } finally {
        server.close();
      }
      const event = await forwardEvent((e) => e.details.kind === "remote" && e.details.outcome === "closed");
      expect(event.details).toMatchObject({ destination: "127.0.0.1:7000", bytesIn: 25 });
    }, 30_000);

    it("refuses a port the template does not list, and a bind address other than the workspace's loopback", async () => {
      for (const spec of ["7001:127.0.0.1:9", "0.0.0.0:7000:127.0.0.1:9"]) {
        const res = await run("ssh", [...allowing.args(["-o", "ExitOnForwardFailure=yes", "-R", spec]), "true"]);
        expect(res.code).not.toBe(0);
        expect(res.stderr).toMatch(/remote port forwarding failed for listen port 700[01]/);
      }
      const res = await run("ssh", [
        ...refusing.args(["-o", "ExitOnForwardFailure=yes", "-R", "7000:127.0.0.1:9"]),
        "true",
      ]);
      expect(res.code).not.toBe(0);
      const event = await forwardEvent((e) => e.details.destination === "127.0.0.1:7001");
      expect(event.details).toMatchObject({
        kind: "remote",
        outcome: "refused",
        code: "remote_not_listed",
        reason: "the workspace's template does not allow remote forwarding from port 7001",
      });
      // SSH refuses a remote forward without words: the session the client goes on with says why, before its
      // command, in the engineer's language (Japanese: they chose nothing else).
      const told = await run("ssh", [
        ...allowing.args(["-R", "7001:127.0.0.1:9", "-R", "0.0.0.0:7000:127.0.0.1:9"]),
        "echo ran",
      ]);
      expect(told.stdout.toString()).toBe("ran\n");
      expect(told.stderr).toContain(
        "azusa: ワークスペースのテンプレートはポート 7001 からのリモート転送を許可していません\r\n",
      );
      expect(told.stderr).toContain(
        "azusa: リモート転送で待ち受けられるのはワークスペースの 127.0.0.1 だけです（0.0.0.0 は使えません）\r\n",
      );
      expect(told.code).toBe(0);
    }, 30_000);

    it("stops listening when the client cancels the forward", async () => {
      // OpenSSH cancels only from its interactive escape or a mux master; ssh2's client says it directly.
      const client = await ssh2Login(allowing);
      client.on("tcp connection", (_info, accept) => accept().end("from the client\n"));
      const probe = () =>
        new Promise<string>((resolve, reject) => {
          client.exec("bash -c 'exec 3<>/dev/tcp/127.0.0.1/7000 && cat <&3' 2>/dev/null || echo closed", (err, ch) => {
            if (err) return reject(err);
            let out = "";
            ch.on("data", (d: Buffer) => {
              out += d.toString();
            });
            ch.stderr.resume();
            ch.once("close", () => resolve(out));
          });
        });
      try {
        await new Promise<void>((resolve, reject) =>
          client.forwardIn("localhost", 7000, (err) => (err ? reject(err) : resolve())),
        );
        expect(await probe()).toBe("from the client\n");
        await new Promise<void>((resolve, reject) =>
          client.unforwardIn("localhost", 7000, (err) => (err ? reject(err) : resolve())),
        );
        const ended = await forwardEvent((e) => e.details.outcome === "cancelled by the client");
        expect(ended.details).toMatchObject({ kind: "remote", destination: "127.0.0.1:7000" });
        expect(await probe()).toBe("closed\n");
      } finally {
        client.end();
      }
    }, 30_000);
  });

  describe("agent forwarding", () => {
    it("gives the session an SSH_AUTH_SOCK where the client's agent lists its keys", async () => {
      const res = await run("ssh", [...withAgent(allowing.args(["-A"]), agentSocket), listIdentities]);
      expect(res.stderr).toBe("");
      const [blob] = publicKey.split(" ").slice(1);
      expect(res.stdout.toString()).toBe(`answer 12, 1 identities\n${blob} signing@matsumoto\n`);
      expect(res.code).toBe(0);
      const event = await forwardEvent((e) => e.details.kind === "agent" && e.details.outcome === "closed");
      expect(event.details.bytesIn).toBeGreaterThan(50);
    }, 30_000);

    it("leaves SSH_AUTH_SOCK unset when the template does not allow agent forwarding", async () => {
      const res = await run("ssh", [
        ...withAgent(refusing.args(["-A"]), agentSocket),
        'echo "SSH_AUTH_SOCK=[$SSH_AUTH_SOCK]"',
      ]);
      expect(res.stdout.toString()).toBe("SSH_AUTH_SOCK=[]\n");
      // OpenSSH asks for it without waiting for an answer: the session says why, in the engineer's language.
      expect(res.stderr).toBe("azusa: ワークスペースのテンプレートはエージェント転送を許可していません\r\n");
      expect(res.code).toBe(0);
    }, 30_000);
  });

  describe("X11 forwarding", () => {
    let display: number;
    let xserver: Server;
    const received: Buffer[] = [];

    beforeAll(async () => {
      // A fake X server on the client's side: it records the connection setup and answers with a greeting.
      for (display = 40; ; display++) {
        try {
          xserver = await loopbackServer(6000 + display, (first) => {
            received.push(first);
            return "hello from the X server";
          });
          break;
        } catch (err) {
          if (display > 90) throw err;
        }
      }
    });

    afterAll(() => {
      xserver?.close();
    });

    // -Y: trusted, so the client needs no xauth to make an untrusted cookie; without xauth data (there
    // is no real X server) it makes up the real cookie too, and still swaps in it for its stand-in.
    const x11 = ["-Y", "-o", "XAuthLocation=/nonexistent"];
    const clientEnv = () => ({ ...process.env, DISPLAY: `127.0.0.1:${display}`, XAUTHORITY: join(scratch, "none") });

    it("gives the session a DISPLAY whose connections reach the client's X server, cookie swapped by the client", async () => {
      const res = await run("ssh", [...allowing.args(x11), x11Client], undefined, clientEnv());
      expect(res.stdout.toString()).toMatch(/^[0-9a-f]{32} hello from the X server\n$/);
      expect(res.code).toBe(0);
      // The workspace holds the client's stand-in cookie; the X server sees the real one the client put back.
      const workspaceCookie = res.stdout.toString().split(" ")[0] as string;
      const setup = received.at(-1) as Buffer;
      expect(setup.subarray(0, 1).toString()).toBe("B");
      expect(setup.toString("latin1")).toContain("MIT-MAGIC-COOKIE-1");
      expect(setup.toString("hex")).not.toContain(workspaceCookie);
      const event = await forwardEvent((e) => e.details.kind === "x11" && e.details.outcome === "closed");
      expect(event.details.bytesIn).toBeGreaterThan(0);
    }, 30_000);

    it("sets no DISPLAY when the template does not allow X11", async () => {
      const res = await run("ssh", [...refusing.args(x11), 'echo "DISPLAY=[$DISPLAY]"'], undefined, clientEnv());
      expect(res.stdout.toString()).toBe("DISPLAY=[]\n");
      expect(res.stderr).toContain("X11 forwarding request failed");
      expect(res.stderr).toContain("azusa: ワークスペースのテンプレートは X11 転送を許可していません\r\n");
    }, 30_000);
  });

  it("ends the listeners within moments of the key being removed", async () => {
    const server = await loopbackServer(0, () => "still here\n");
    try {
      const live = await holding([
        ...withAgent(allowing.args(["-A", "-R", `7000:127.0.0.1:${portOf(server)}`]), agentSocket),
        'echo "$SSH_AUTH_SOCK"; exec sleep 600',
      ]);
      const inWorkspace = live.stdout().trim();
      expect(inWorkspace).toMatch(/^\/tmp\/azusa-agent-[0-9a-f]+\/socket$/);
      const key = await allowing.t.running.azusa.db.kysely
        .selectFrom("ssh_key")
        .select(["id", "user_id"])
        .executeTakeFirstOrThrow();
      const engineer = await allowing.t.signIn("se0@matsumoto.example");
      expect((await engineer.delete(`/api/v1/engineers/${key.user_id}/ssh-keys/${key.id}`)).status).toBe(204);
      expect(await live.exited).toBe(255);
      expect(live.stderr()).toContain(
        "azusa: アクセスが取り消されたため、セッションを終了しました: SSH 鍵が削除されました",
      );
      // Nothing listens in the workspace any more: neither the forwarded port nor the agent's socket.
      const check = await docker.getContainer(allowing.target.containerId).exec({
        Cmd: [
          "bash",
          "-c",
          `(exec 3<>/dev/tcp/127.0.0.1/7000) 2>/dev/null && echo port open; test -e ${inWorkspace} && echo socket there; echo checked`,
        ],
        AttachStdout: true,
        AttachStderr: true,
        User: "azusa",
      });
      const stream = await check.start({});
      const output = await new Promise<string>((resolve) => {
        let all = "";
        stream.on("data", (d: Buffer) => {
          all += d.toString("latin1");
        });
        stream.on("end", () => resolve(all));
      });
      expect(output).toContain("checked");
      expect(output).not.toContain("port open");
      expect(output).not.toContain("socket there");
      const ended = await forwardEvent(
        (e) => e.details.kind === "remote" && e.details.outcome.startsWith("access revoked"),
      );
      expect(ended.details.outcome).toBe("access revoked: the SSH key was removed");
    } finally {
      server.close();
    }
  }, 30_000);
});
