// A forwarded connection ends when the service in the workspace closes it: `curl` through `ssh -L` and through
// `ssh -D` (SOCKS) gets the whole answer of a server that ends it by closing, and returns, with the real OpenSSH
// client and a server in a real Debian-base workspace.
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GatewayWorld, oneWorkspaceWorld } from "./support/gateway-world.ts";
import { freePort } from "./support/harness.ts";
import { ensureBaseImage } from "./support/images.ts";
import { holdingForwards, run } from "./support/ssh-client.ts";

const docker = new Docker();

/**
 * A server on the workspace's 127.0.0.1:3000 that reads a request, answers without a length (the end of the
 * answer is the end of the connection, as with HTTP/1.0) and closes; the client's side stays open meanwhile.
 */
const closingServer = String.raw`perl -MIO::Socket::INET -e '
  my $l = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 3000, Listen => 8, ReuseAddr => 1) or die "listen: $!";
  print "listening\n"; close STDOUT;
  while (my $c = $l->accept) {
    my $req = ""; sysread($c, $req, 65536);
    print $c "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nclosed by the workspace\n";
    close $c;
  }'`;

describe("a forwarded connection the workspace's service closes", () => {
  let world: GatewayWorld;

  beforeAll(async () => {
    world = await oneWorkspaceWorld(docker, {
      image: await ensureBaseImage(docker),
      azusa: { ssh: { portForwarding: ["localhost:3000"] } },
    });
    // Started beside the sessions (not by one), so that it outlives them.
    const exec = await docker.getContainer(world.target.containerId).exec({
      Cmd: ["sh", "-c", closingServer],
      AttachStdout: true,
      AttachStderr: true,
      User: "azusa",
    });
    const stream = await exec.start({});
    await new Promise<void>((resolve, reject) => {
      let said = "";
      stream.on("data", (d: Buffer) => {
        said += d.toString("latin1");
        if (said.includes("listening")) resolve();
      });
      stream.on("end", () => reject(new Error(`the server did not start: ${said}`)));
    });
  }, 240_000);

  afterAll(async () => {
    await world?.stop();
  });

  // curl waits for the end of the connection to end the answer; --max-time only keeps a hang from stalling
  // the suite: a forward that does not pass the close on makes curl fail with 28.
  const curl = (args: string[]) => run("curl", ["--silent", "--show-error", "--max-time", "60", ...args]);

  for (const [flag, through] of [
    ["-L", (port: number) => [`http://127.0.0.1:${port}/`]],
    ["-D", (port: number) => ["--socks5-hostname", `127.0.0.1:${port}`, "http://localhost:3000/"]],
  ] as const) {
    it(`ends curl's connection through ssh ${flag} with the whole answer`, async () => {
      const port = await freePort();
      const forward = flag === "-L" ? `${port}:localhost:3000` : `127.0.0.1:${port}`;
      const ssh = await holdingForwards(world.args(["-o", "ExitOnForwardFailure=yes", flag, forward]));
      try {
        // Twice: the first forward's end leaves the next one working.
        for (const _ of [1, 2]) {
          const res = await curl(through(port));
          expect(res.stderr).toBe("");
          expect(res.code).toBe(0);
          expect(res.stdout.toString()).toBe("closed by the workspace\n");
        }
      } finally {
        ssh.kill();
      }
    }, 180_000);
  }
});
