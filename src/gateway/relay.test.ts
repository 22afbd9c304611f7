// The forward relay in real workspaces: with busybox's nc, and with perl where the image has it (the Debian base
// image), connecting from inside the workspace's own network namespace, and ending when the service closes.
import { randomBytes } from "node:crypto";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorkspaces } from "../../test/support/driver-workspaces.ts";
import { ensureBaseImage, ensureTestImage } from "../../test/support/images.ts";
import { createDockerDriver } from "../provisioner/docker-driver.ts";
import { collect } from "../provisioner/driver.contract.ts";
import type { WorkspaceRef } from "../provisioner/driver.ts";
import { relayCommand } from "./policy.ts";

const docker = new Docker();
const tenantId = `relay-${randomBytes(4).toString("hex")}`;
const driver = createDockerDriver({ docker, instance: `test-${randomBytes(6).toString("hex")}` });

/** Runs `cmd` in the workspace with `input`, and resolves with its output and exit code. */
async function run(ref: WorkspaceRef, cmd: string[], input = "") {
  const session = await driver.exec(ref, { cmd, tty: false });
  session.stdin.end(input);
  return collect(session);
}

const relay = (ref: WorkspaceRef, host: string, port: number, input: string) =>
  run(ref, relayCommand(host, port), input);

describe("forward relay", () => {
  const refs: Record<string, WorkspaceRef> = {};

  beforeAll(async () => {
    const images = { busybox: await ensureTestImage(docker), debian: await ensureBaseImage(docker) };
    Object.assign(refs, await startWorkspaces(driver, tenantId, images, "pkg-relay"));
  }, 300_000);

  afterAll(async () => {
    for (const ref of Object.values(refs)) await driver.destroy(ref);
  });

  it("reaches a server on the workspace's localhost through busybox's nc", async () => {
    const ref = refs.busybox as WorkspaceRef;
    const serve =
      "mkdir -p /tmp/www && echo 'from busybox' > /tmp/www/index.html && httpd -p 127.0.0.1:3000 -h /tmp/www";
    expect((await run(ref, ["/bin/sh", "-c", serve])).code).toBe(0);
    const res = await relay(ref, "localhost", 3000, "GET /index.html HTTP/1.0\r\n\r\n");
    expect(res.stdout).toMatch(/^HTTP\/1\.[01] 200/);
    expect(res.stdout).toContain("from busybox");
  });

  it("reaches a server on the workspace's localhost through perl, and ends when it closes", async () => {
    const ref = refs.debian as WorkspaceRef;
    expect((await run(ref, ["/bin/sh", "-c", "command -v nc || echo none"])).stdout).toBe("none\n");
    // A one-shot server (perl is in the base image) that answers the first line it reads. It says "up" once
    // it listens and then closes its output, which ends this command: no waiting on a clock.
    const serve =
      'perl -MIO::Socket::INET -e \'$s = IO::Socket::INET->new(LocalAddr => "127.0.0.1:3000", Listen => 1, ReuseAddr => 1) or die; print "up\\n"; close STDOUT; $c = $s->accept; $l = <$c>; print $c "you said $l"; close $c\' 2>/dev/null </dev/null &';
    expect((await run(ref, ["/bin/bash", "-c", serve])).stdout).toBe("up\n");
    // The client's side stays open: the relay ends because the server closed its end, as the client's must.
    const session = await driver.exec(ref, { cmd: relayCommand("127.0.0.1", 3000), tty: false });
    session.stdin.write("hello through perl\n");
    const res = await collect(session);
    expect(res).toMatchObject({ stdout: "you said hello through perl\n", code: 0 });
    session.stdin.end();
  });

  it("fails with the reason when nothing listens there", async () => {
    const res = await relay(refs.busybox as WorkspaceRef, "127.0.0.1", 3999, "");
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/refused/i);
  });
});
