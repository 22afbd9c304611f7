// A command's output on its way to the client, gathered while it streams. The engine hands output over a few KiB
// at a time (9.7 KiB on average for `yes`), each piece its own SSH packet, encryption and wake-up of the client;
// pieces that come back to back are gathered into writes of up to 32 KiB (one SSH packet), which cost the OpenSSH
// client about a third less CPU per MiB. Output that comes now and then goes on at once, as it came.
import { Transform } from "node:stream";

/** Gathered output goes on once this much is waiting (OpenSSH's largest session packet). */
export const GATHER_BYTES = 32 * 1024;
/** A piece that comes within this long of the one before is gathered, and waits at most this long. */
export const GATHER_MS = 1;

/** A pass-through that gathers pieces arriving back to back (see above); every byte goes on, in order. */
export function gatheringOutput(now: () => number = () => performance.now()): Transform {
  let held: Buffer[] = [];
  let heldBytes = 0;
  let last = Number.NEGATIVE_INFINITY;
  let timer: NodeJS.Timeout | null = null;
  const release = () => {
    if (timer) clearTimeout(timer);
    timer = null;
    if (!heldBytes) return;
    const data = held.length === 1 ? (held[0] as Buffer) : Buffer.concat(held, heldBytes);
    held = [];
    heldBytes = 0;
    stream.push(data);
  };
  const stream = new Transform({
    // As much as the engine's output stream held before it (docker-driver.ts).
    highWaterMark: 64 * 1024,
    transform(chunk: Buffer, _encoding, callback) {
      const t = now();
      const streaming = t - last < GATHER_MS;
      last = t;
      // A piece after a pause, with nothing waiting, goes on as it is: typing and prompts wait for nothing.
      if (!streaming && !heldBytes) return callback(null, chunk);
      held.push(chunk);
      heldBytes += chunk.length;
      if (heldBytes >= GATHER_BYTES) release();
      else timer ??= setTimeout(release, GATHER_MS);
      callback();
    },
    flush(callback) {
      release();
      callback();
    },
    destroy(err, callback) {
      if (timer) clearTimeout(timer);
      callback(err);
    },
  });
  return stream;
}
