// A Node stream handed to a Response body, pulled one chunk at a time: a slow client holds back the reads
// from disk instead of letting them pile up in memory.
import type { Readable } from "node:stream";

/** A web stream that reads `source` only when the response wants more, and destroys it when cancelled. */
export function streamOf(source: Readable): ReadableStream<Uint8Array> {
  const chunks = source[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const { value, done } = await chunks.next();
        if (done) controller.close();
        else controller.enqueue(typeof value === "string" ? Buffer.from(value) : new Uint8Array(value));
      },
      cancel(reason) {
        source.destroy(reason instanceof Error ? reason : undefined);
      },
    },
    { highWaterMark: 0 },
  );
}
