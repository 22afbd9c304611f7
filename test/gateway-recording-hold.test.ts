// A recording that falls behind holds the SSH stream it records: with a recording disk slower than the input
// (test-only, a few MiB a second), 64 MiB typed through a real ssh client into a real workspace never wait in
// the gateway's memory beyond the recording's backlog bound, and every byte reaches both the command and the
// recording.
import { createHash, randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RECORDING_BACKLOG_BYTES } from "../src/domain/sessions/recorder.ts";
import { type GatewayWorld, oneWorkspaceWorld } from "./support/gateway-world.ts";
import { run } from "./support/ssh-client.ts";

const docker = new Docker();
/** What the slow disk takes of the compressed recording, in bytes a second. */
const DISK_BYTES_PER_SECOND = 4 * 1024 * 1024;

describe("a recording slower than the input", () => {
  let world: GatewayWorld;
  /** The most the recording had waiting, read by the disk at each write it took. */
  let peakBacklog = 0;
  let written = 0;

  /** A disk that takes DISK_BYTES_PER_SECOND: each write is done only once that much time has passed. */
  const slowDisk = (file: Writable, backlog: () => number) =>
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        peakBacklog = Math.max(peakBacklog, backlog());
        written += chunk.length;
        file.write(chunk, (err) => {
          if (err) return done(err);
          setTimeout(done, Math.ceil((chunk.length / DISK_BYTES_PER_SECOND) * 1000));
        });
      },
      final(done) {
        file.end(done);
      },
      destroy(err, done) {
        file.destroy();
        done(err);
      },
    });

  beforeAll(async () => {
    world = await oneWorkspaceWorld(docker, { tuning: { recordingSink: slowDisk } });
    const patched = await world.contractor.request("PATCH", `/api/v1/contracts/${world.contractId}`, {
      recordInput: true,
    });
    expect(patched.status).toBe(200);
  }, 300_000);

  afterAll(async () => {
    await world?.stop();
  });

  it("holds the client's input while the recording catches up, and loses no byte", async () => {
    // Hexadecimal text: it compresses to about half, so the disk is the slowest part by far.
    const typed = Buffer.from(randomBytes(32 * 1024 * 1024).toString("hex"));
    const hash = createHash("sha256").update(typed).digest("hex");
    const res = await run("ssh", [...world.args(), "sha256sum"], typed);
    expect(res.code).toBe(0);
    // Every byte reached the command.
    expect(res.stdout.toString().split(" ")[0]).toBe(hash);
    expect(written).toBeGreaterThan(0);
    // What waited for the disk stayed within the bound (plus the one chunk taken past it), far below what went in.
    expect(peakBacklog).toBeGreaterThan(0);
    expect(peakBacklog).toBeLessThanOrEqual(RECORDING_BACKLOG_BYTES + 256 * 1024);

    // Every byte is in the recording, in order, as typed.
    const items = (await (await world.lead.get(`/api/v1/packages/${world.target.packageId}/sessions`)).json()).items;
    expect(items).toHaveLength(1);
    const cast = await (await world.lead.get(`/api/v1/sessions/${items[0].id}/recording`)).text();
    const lines = cast.split("\n").filter(Boolean);
    const input = lines
      .slice(1)
      .map((line) => JSON.parse(line) as [number, string, string])
      .filter((e) => e[1] === "i")
      .map((e) => e[2])
      .join("");
    expect(input.length).toBe(typed.length);
    expect(createHash("sha256").update(input).digest("hex")).toBe(hash);
    expect(cast).toContain(hash);
  }, 600_000);
});
