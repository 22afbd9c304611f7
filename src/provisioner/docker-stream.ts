// The byte plumbing of `docker exec`: Docker's 8-byte frame headers without a tty, raw bytes with one.
// dockerode's own demuxStream ignores backpressure; these sinks wait for a slow reader instead.
import { Writable } from "node:stream";

/**
 * Writes `chunk` to `target` and resolves when it may take more: at once, or at its next 'drain'.
 * A target that its reader destroyed or ended takes nothing more, so the output is discarded and
 * the command is never blocked by a reader that went away.
 */
export function deliver(target: Writable, chunk: Buffer): Promise<void> {
  if (target.destroyed || target.writableEnded) return Promise.resolve();
  if (target.write(chunk)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      target.off("drain", done);
      target.off("close", done);
      resolve();
    };
    target.on("drain", done);
    target.on("close", done);
  });
}

function endAll(targets: (Writable | null)[]): void {
  for (const t of targets) if (t && !t.destroyed && !t.writableEnded) t.end();
}

/**
 * A sink for a multiplexed exec stream: frame type 2 goes to `stderr`, every other type to
 * `stdout`. Headers and payloads may be split anywhere across chunks. Ending the sink ends both.
 */
export function createDemuxer(stdout: Writable, stderr: Writable): Writable {
  const header = Buffer.alloc(8);
  let headerFill = 0;
  let remaining = 0;
  let target: Writable = stdout;

  async function take(chunk: Buffer): Promise<void> {
    // The payloads of one chunk read that go to the same stream one after another are handed on as one write:
    // a command writing in small pieces (a few KiB a frame) then costs each reader (the recording, the SSH
    // channel) one step per chunk read rather than one per frame, and nothing waits for more to arrive.
    let run: Buffer[] = [];
    let runTarget: Writable = stdout;
    const handOn = async () => {
      if (!run.length) return;
      const data = run.length === 1 ? (run[0] as Buffer) : Buffer.concat(run);
      run = [];
      await deliver(runTarget, data);
    };
    let offset = 0;
    while (offset < chunk.length) {
      if (remaining === 0) {
        const n = Math.min(8 - headerFill, chunk.length - offset);
        chunk.copy(header, headerFill, offset, offset + n);
        headerFill += n;
        offset += n;
        if (headerFill < 8) break;
        headerFill = 0;
        target = header[0] === 2 ? stderr : stdout;
        remaining = header.readUInt32BE(4);
        continue;
      }
      const n = Math.min(remaining, chunk.length - offset);
      remaining -= n;
      if (target !== runTarget) await handOn();
      runTarget = target;
      run.push(chunk.subarray(offset, offset + n));
      offset += n;
    }
    await handOn();
  }

  return new Writable({
    highWaterMark: 64 * 1024,
    write(chunk: Buffer, _encoding, callback) {
      take(chunk).then(() => callback(), callback);
    },
    final(callback) {
      endAll([stdout, stderr]);
      callback();
    },
  });
}

/** A sink for a tty exec stream: bytes go to `stdout` unchanged; ending the sink ends it. */
export function createRelay(stdout: Writable): Writable {
  return new Writable({
    highWaterMark: 64 * 1024,
    write(chunk: Buffer, _encoding, callback) {
      deliver(stdout, chunk).then(() => callback(), callback);
    },
    final(callback) {
      endAll([stdout]);
      callback();
    },
  });
}

/** Splits a whole multiplexed buffer (e.g. `container.logs()` of a container without a tty). */
export function demuxBuffer(buffer: Buffer): { stdout: string; stderr: string } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    const type = buffer[offset];
    const size = buffer.readUInt32BE(offset + 4);
    const payload = buffer.subarray(offset + 8, offset + 8 + size);
    (type === 2 ? err : out).push(payload);
    offset += 8 + size;
  }
  return { stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
}
