// A 3 GiB recording downloaded from a real `azusa serve`: streamed from disk with the server's memory
// growing by less than 64 MiB, played by `asciinema cat`, a byte range served from its far end; a failure
// to read it is an error, and only a missing file is "recording not found".
import { execFileSync, spawn } from "node:child_process";
import {
  closeSync,
  createWriteStream,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as NodeReadableStream } from "node:stream/web";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, startServe } from "./support/cli.ts";
import { Client, PASSWORD } from "./support/harness.ts";

const GiB = 1024 ** 3;
/** One output event's text: 1 MiB less the line's JSON framing, ending in a newline. */
const TEXT = `${"0123456789abcdef".repeat(65_535)}\r\n`;

/** The server's resident memory in bytes, from /proc. */
function rss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m?.[1]) * 1024;
}

/** Writes an asciicast v2 file of at least `bytes` bytes the fast way; returns its event count and size. */
function writeBigCast(file: string, bytes: number): { events: number; size: number } {
  const fd = openSync(file, "w", 0o600);
  let size = 0;
  const put = (s: string) => {
    const b = Buffer.from(s);
    writeSync(fd, b);
    size += b.length;
  };
  put(`${JSON.stringify({ version: 2, width: 80, height: 24, timestamp: 1795000000, title: "exec make" })}\n`);
  let events = 0;
  const line = (t: number) => `[${t.toFixed(6)},"o",${JSON.stringify(TEXT)}]\n`;
  while (size < bytes) put(line(++events / 1000));
  closeSync(fd);
  return { events, size };
}

describe("downloading a recording", () => {
  let dir: string;
  let server: Awaited<ReturnType<typeof startServe>>;
  let client: Client;
  let big: { events: number; size: number };
  let tenantDir: string;

  /** Adds a session row naming `recording` (below the data directory). */
  const session = (id: string, recording: string) => {
    const db = new Database(join(dir, "azusa.sqlite"));
    db.prepare(
      `insert into workspace_session (id, workspace_id, package_id, tenant_id, engineer_id, channel, kind,
       source_address, started_at, ended_at, end_reason, exit_code, recording)
       values (?, 'ws-1', 'pkg-1', 'tenant-1', 'engineer-1', 'ssh', 'exec', '192.0.2.7',
       '2026-11-20T01:00:00.000Z', '2026-11-20T02:00:00.000Z', 'exited', 0, ?)`,
    ).run(id, recording);
    db.close();
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "azusa-download-"));
    const env = { AZUSA_DATA_DIR: dir, AZUSA_BASE_URL: "http://127.0.0.1", AZUSA_SCHEDULES: "off" };
    expect((await runCli(["admin", "create", "--email", "root@office.example"], env, `${PASSWORD}\n`)).code).toBe(0);
    tenantDir = join(dir, "recordings", "tenant-1");
    mkdirSync(tenantDir, { recursive: true });
    big = writeBigCast(join(tenantDir, "big.cast"), 3 * GiB);
    session("big", "recordings/tenant-1/big.cast");
    server = await startServe(env);
    client = new Client(`http://127.0.0.1:${server.port}`, { origin: "http://127.0.0.1" });
    const signIn = await client.post("/api/auth/sign-in/email", { email: "root@office.example", password: PASSWORD });
    expect(signIn.status).toBe(200);
  }, 120_000);

  afterAll(() => {
    server?.child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  it("streams 3 GiB with the server's memory growing by less than 64 MiB, and asciinema plays it", async () => {
    const pid = server.child.pid as number;
    // Warm: the route, the session lookup and the audit write have run once before the baseline.
    await (await client.request("GET", "/api/v1/sessions/big/recording", undefined, { range: "bytes=0-99" })).text();
    const before = rss(pid);
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rss(pid));
    }, 50);

    const res = await client.get("/api/v1/sessions/big/recording");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-length")).toBe(String(big.size));
    // asciinema opens /dev/tty even for `cat`: it gets a terminal from `script`, and reads the download
    // from a named pipe as it arrives.
    const fifo = join(dir, "download.fifo");
    execFileSync("mkfifo", [fifo]);
    const player = spawn("script", ["-qec", `asciinema cat ${fifo}`, "/dev/null"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let played = 0;
    let tail = "";
    player.stdout.on("data", (d: Buffer) => {
      played += d.length;
      tail = (tail + d.toString("latin1")).slice(-200);
    });
    const exited = new Promise<number | null>((resolve) => player.on("close", resolve));
    let downloaded = 0;
    const counted = Readable.fromWeb(res.body as NodeReadableStream<Uint8Array>).on("data", (chunk: Buffer) => {
      downloaded += chunk.length;
    });
    await pipeline(counted, createWriteStream(fifo));
    const code = await exited;
    clearInterval(sampler);
    peak = Math.max(peak, rss(pid));

    expect(downloaded).toBe(big.size);
    expect(code).toBe(0);
    // Every event's text, as it was recorded.
    expect(played).toBe(big.events * Buffer.byteLength(TEXT));
    expect(tail.endsWith("0123456789abcdef\r\n")).toBe(true);
    expect(peak - before, `RSS from ${before} to ${peak} bytes`).toBeLessThan(64 * 1024 ** 2);
  }, 600_000);

  it("serves a byte range from the far end of the file", async () => {
    const res = await client.request("GET", "/api/v1/sessions/big/recording", undefined, {
      range: `bytes=${big.size - 100}-`,
    });
    expect(res.status).toBe(206);
    expect(res.headers.get("content-range")).toBe(`bytes ${big.size - 100}-${big.size - 1}/${big.size}`);
    const text = await res.text();
    expect(text).toHaveLength(100);
    expect(text.endsWith(`\\r\\n"]\n`)).toBe(true);

    const past = await client.request("GET", "/api/v1/sessions/big/recording", undefined, {
      range: `bytes=${big.size}-`,
    });
    expect(past.status).toBe(416);
    expect(past.headers.get("content-range")).toBe(`bytes */${big.size}`);
    expect((await past.json()).error.code).toBe("RANGE_NOT_SATISFIABLE");
  });

  it("answers a missing file as not found, and a file it cannot read as an error", async () => {
    session("gone", "recordings/tenant-1/gone.cast");
    const gone = await client.get("/api/v1/sessions/gone/recording");
    expect(gone.status).toBe(404);
    expect((await gone.json()).error).toMatchObject({ code: "NOT_FOUND", message: "recording not found" });

    // A folder where the file should be: reading it fails, and that is not "not found".
    mkdirSync(join(tenantDir, "folder.cast"));
    session("folder", "recordings/tenant-1/folder.cast");
    const broken = await client.get("/api/v1/sessions/folder/recording");
    expect(broken.status).toBe(500);
    expect((await broken.json()).error.code).toBe("INTERNAL");
  });
});
