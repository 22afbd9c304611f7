// The workspace listener: its frames (fast, no Docker), and the perl listener itself in a real Debian-base
// workspace, where connections made inside reach a stream on this side both ways, with bounded memory.
import { randomBytes } from "node:crypto";
import { Duplex, PassThrough, Readable } from "node:stream";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorkspaces } from "../../test/support/driver-workspaces.ts";
import { ensureBaseImage, ensureTestImage } from "../../test/support/images.ts";
import { createDockerDriver } from "../provisioner/docker-driver.ts";
import { collect } from "../provisioner/driver.contract.ts";
import type { WorkspaceRef } from "../provisioner/driver.ts";
import { type Accepted, runListener, type WorkspaceListener } from "./listener.ts";
import { encodeFrame, FrameDecoder, listenerCommand, WINDOW } from "./listener-frames.ts";

describe("listener frames", () => {
  it("decodes frames whatever the chunking", () => {
    const wire = Buffer.concat([
      encodeFrame("O", 1, Buffer.from("127.0.0.1 40000")),
      encodeFrame("D", 1, Buffer.from("hello")),
      encodeFrame("E", 1),
      encodeFrame("C", 1),
    ]);
    const decoder = new FrameDecoder();
    const frames = [];
    for (const byte of wire) frames.push(...decoder.push(Buffer.from([byte])));
    expect(frames.map((f) => [f.type, f.id, f.payload.toString()])).toEqual([
      ["O", 1, "127.0.0.1 40000"],
      ["D", 1, "hello"],
      ["E", 1, ""],
      ["C", 1, ""],
    ]);
  });

  it("keeps a partial frame until the rest arrives", () => {
    const decoder = new FrameDecoder();
    const frame = encodeFrame("D", 7, Buffer.alloc(1000, 1));
    expect(decoder.push(frame.subarray(0, 500))).toEqual([]);
    const [done] = decoder.push(frame.subarray(500));
    expect(done?.id).toBe(7);
    expect(done?.payload.length).toBe(1000);
  });

  it("refuses a stream that is not frames", () => {
    expect(() => new FrameDecoder().push(Buffer.from("hello, world"))).toThrow(/unknown frame type/);
    expect(() => new FrameDecoder().push(encodeFrame("D", 1, Buffer.alloc(0)).fill(0xff, 5, 9))).toThrow(/too large/);
  });
});

const docker = new Docker();
const tenantId = `listen-${randomBytes(4).toString("hex")}`;
const driver = createDockerDriver({ docker, instance: `test-${randomBytes(6).toString("hex")}` });

/** Runs `script` with bash in the workspace and resolves with its output and exit code. */
async function bash(ref: WorkspaceRef, script: string, input = "") {
  const session = await driver.exec(ref, { cmd: ["/bin/bash", "-c", script], tty: false });
  session.stdin.end(input);
  return collect(session);
}

/** A stream pair: what the listener writes to `ours` comes out of `theirs`, and back. */
function pair(): { ours: Duplex; theirs: { input: PassThrough; output: PassThrough } } {
  const input = new PassThrough();
  const output = new PassThrough();
  const ours = Duplex.from({ readable: input, writable: output });
  return { ours, theirs: { input, output } };
}

describe("workspace listener", () => {
  const refs: Record<string, WorkspaceRef> = {};

  beforeAll(async () => {
    const images = { debian: await ensureBaseImage(docker), busybox: await ensureTestImage(docker) };
    Object.assign(refs, await startWorkspaces(driver, tenantId, images, "pkg-listen"));
  }, 300_000);

  afterAll(async () => {
    for (const ref of Object.values(refs)) await driver.destroy(ref);
  });

  const listen = async (ref: WorkspaceRef, spec: Parameters<typeof listenerCommand>[0]) => {
    const accepted: Accepted[] = [];
    let arrived: (a: Accepted) => void = () => {};
    const exec = await driver.exec(ref, { cmd: listenerCommand(spec), tty: false });
    const listener = await runListener(exec, (a) => {
      accepted.push(a);
      arrived(a);
    });
    const next = () =>
      new Promise<Accepted>((resolve) => {
        const waiting = accepted.shift();
        if (waiting) return resolve(waiting);
        arrived = (a) => {
          accepted.shift();
          resolve(a);
        };
      });
    return { listener, next };
  };

  it("carries a TCP connection made in the workspace to this side and back", async () => {
    const ref = refs.debian as WorkspaceRef;
    const { listener, next } = await listen(ref, { kind: "tcp", first: 7100, last: 7100 });
    try {
      expect(listener.bound).toBe("7100");
      const client = bash(ref, "exec 3<>/dev/tcp/127.0.0.1/7100; printf 'ping\\n' >&3; head -c 5 <&3");
      const conn = await next();
      expect(conn.origin.address).toBe("127.0.0.1");
      const { ours, theirs } = pair();
      const carried = conn.attach(ours);
      let heard = "";
      theirs.output.on("data", (d: Buffer) => {
        heard += d.toString();
        if (heard === "ping\n") theirs.input.end("pong\n");
      });
      const result = await client;
      expect(result).toMatchObject({ code: 0, stdout: "pong\n" });
      expect(await carried).toEqual({ in: 5, out: 5 });
    } finally {
      await listener.close();
    }
  }, 30_000);

  it("listens on a unix socket only its user may use, and removes it when closed", async () => {
    const ref = refs.debian as WorkspaceRef;
    const dir = `/tmp/azusa-test-${randomBytes(4).toString("hex")}`;
    const { listener, next } = await listen(ref, { kind: "unix", dir });
    let closed: WorkspaceListener | undefined = listener;
    try {
      expect(listener.bound).toBe(`${dir}/socket`);
      const mode = await bash(ref, `stat -c '%a %U' ${dir} ${dir}/socket`);
      expect(mode.stdout).toBe("700 azusa\n600 azusa\n");
      const client = bash(
        ref,
        `perl -MIO::Socket::UNIX -e '$s = IO::Socket::UNIX->new(Peer => "${dir}/socket") or die $!; print $s "hi"; shutdown($s, 1); print <$s>'`,
      );
      const conn = await next();
      const { ours, theirs } = pair();
      void conn.attach(ours);
      theirs.output.on("data", (d: Buffer) => theirs.input.end(`${d.toString()} back`));
      expect(await client).toMatchObject({ code: 0, stdout: "hi back" });
      await listener.close();
      closed = undefined;
      expect((await bash(ref, `test -e ${dir} || echo gone`)).stdout).toBe("gone\n");
    } finally {
      await closed?.close();
    }
  }, 30_000);

  it("reads a connection no faster than this side takes it", async () => {
    const ref = refs.debian as WorkspaceRef;
    const { listener, next } = await listen(ref, { kind: "tcp", first: 7101, last: 7101 });
    try {
      // 8 MiB from the workspace into a stream nobody reads: the listener stops after about one window.
      const client = bash(ref, "exec 3<>/dev/tcp/127.0.0.1/7101; head -c 8388608 /dev/zero >&3; echo sent");
      const conn = await next();
      const slow = new PassThrough({ highWaterMark: 16 * 1024 });
      const input = new PassThrough();
      const carried = conn.attach(Duplex.from({ readable: input, writable: slow }));
      // A bound can only be watched over time: however long this waits, no more than a window may pile up.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(slow.readableLength + slow.writableLength).toBeLessThanOrEqual(WINDOW + 64 * 1024);
      // Reading it all lets the sender finish.
      let total = 0;
      slow.on("data", (d: Buffer) => {
        total += d.length;
      });
      expect(await client).toMatchObject({ code: 0, stdout: "sent\n" });
      input.end();
      expect((await carried).out).toBe(8388608);
      expect(total).toBe(8388608);
    } finally {
      await listener.close();
    }
  }, 60_000);

  it("stops taking this side's bytes while the workspace does not read them", async () => {
    const ref = refs.debian as WorkspaceRef;
    const { listener, next } = await listen(ref, { kind: "tcp", first: 7104, last: 7104 });
    const size = 32 * 1024 * 1024;
    try {
      // The reader in the workspace connects, then reads only once told to.
      const go = `/tmp/go-${randomBytes(4).toString("hex")}`;
      const client = bash(
        ref,
        `exec 3<>/dev/tcp/127.0.0.1/7104; until [ -e ${go} ]; do sleep 0.1; done; head -c ${size} <&3 | wc -c`,
      );
      const conn = await next();
      // This side offers 32 MiB in 64 KiB pieces, each only once the last was taken.
      let offered = 0;
      const source = Readable.from(
        (function* () {
          for (; offered < size; offered += 64 * 1024) yield Buffer.alloc(64 * 1024, 7);
        })(),
      );
      const carried = conn.attach(Duplex.from({ readable: source, writable: new PassThrough() }));
      // Again watched over time: a window plus the kernel's socket buffers may leave, not the rest.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(offered).toBeLessThan(size / 2);
      await bash(ref, `touch ${go}`);
      expect(await client).toMatchObject({ code: 0, stdout: `${size}\n` });
      expect((await carried).in).toBe(size);
    } finally {
      await listener.close();
    }
  }, 60_000);

  it("says why when the port is taken", async () => {
    const ref = refs.debian as WorkspaceRef;
    const first = await listen(ref, { kind: "tcp", first: 7102, last: 7102 });
    try {
      await expect(listen(ref, { kind: "tcp", first: 7102, last: 7102 })).rejects.toThrow(
        /cannot listen on 127.0.0.1:7102/,
      );
      // A range takes the next free port, as X11 displays do.
      const second = await listen(ref, { kind: "tcp", first: 7102, last: 7105 });
      expect(second.listener.bound).toBe("7103");
      await second.listener.close();
    } finally {
      await first.listener.close();
    }
  }, 30_000);

  it("says so when the workspace has no perl", async () => {
    const ref = refs.busybox as WorkspaceRef;
    await expect(listen(ref, { kind: "tcp", first: 7100, last: 7100 })).rejects.toThrow(
      "the workspace has no perl to listen with",
    );
  }, 30_000);
});
