// Git's smart HTTP protocol, read side only: the ref advertisement and upload-pack, served by the real
// `git upload-pack --stateless-rpc` (protocol v0, which every git client speaks).
import { spawn } from "node:child_process";
import { Readable } from "node:stream";
import { createGunzip } from "node:zlib";

/** A pkt-line: four hex digits of length (including themselves), then the payload. */
const pktLine = (s: string) => `${(s.length + 4).toString(16).padStart(4, "0")}${s}`;

function stream(dir: string, args: string[], input?: ReadableStream<Uint8Array> | null, gzip = false): Response {
  const child = spawn("git", ["upload-pack", "--stateless-rpc", ...args, dir], {
    stdio: ["pipe", "pipe", "pipe"],
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", GIT_CONFIG_NOSYSTEM: "1", HOME: "/nonexistent" },
  });
  child.stderr.resume();
  if (input) {
    const body = Readable.fromWeb(input as import("node:stream/web").ReadableStream<Uint8Array>);
    (gzip ? body.pipe(createGunzip()) : body).on("error", () => child.kill()).pipe(child.stdin);
  } else child.stdin.end();
  child.stdin.on("error", () => undefined);
  return new Response(Readable.toWeb(child.stdout) as ReadableStream<Uint8Array>, { status: 200 });
}

/** `GET …/info/refs?service=git-upload-pack`: the refs a reader may fetch (refs/azusa is hidden). */
export function advertiseRefs(dir: string): Response {
  const res = stream(dir, ["--advertise-refs"]);
  const preamble = `${pktLine("# service=git-upload-pack\n")}0000`;
  const body = res.body as ReadableStream<Uint8Array>;
  const joined = new ReadableStream<Uint8Array>({
    async start(controller) {
      controller.enqueue(new TextEncoder().encode(preamble));
      const reader = body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        controller.enqueue(value);
      }
      controller.close();
    },
  });
  return new Response(joined, {
    status: 200,
    headers: {
      "content-type": "application/x-git-upload-pack-advertisement",
      "cache-control": "no-cache",
    },
  });
}

/** `POST …/git-upload-pack`: the pack the client asked for. */
export function uploadPack(dir: string, body: ReadableStream<Uint8Array> | null, gzip: boolean): Response {
  const res = stream(dir, [], body, gzip);
  return new Response(res.body, {
    status: 200,
    headers: { "content-type": "application/x-git-upload-pack-result", "cache-control": "no-cache" },
  });
}
