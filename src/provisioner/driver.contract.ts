// The behaviour every WorkspaceDriver must show; each driver's test file calls runDriverContract once.
import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ExecRequest, ExecSession, OwnedObject, WorkspaceDriver, WorkspaceRef, WorkspaceSpec } from "./driver.ts";

/** What a driver's test file hands the suite. */
export interface DriverHarness {
  driver: WorkspaceDriver;
  /**
   * An image with a POSIX userland (sh, cat, echo, head, base64, id, stty, touch, ls) and a non-root
   * user `azusa`; test/support/images.ts builds one without a registry.
   */
  image: string;
  /** Removes whatever the suite made, even after a failure; runs after the suite's own clean-up. */
  cleanup(): Promise<void>;
}

/** The tenant label of every workspace this process's contract suites make, for a harness's sweep. */
export const contractTenantId = `contract-${randomBytes(4).toString("hex")}`;

const twentyMB = 20_000_000;

/** What `head -c 20000000 /dev/zero | base64` prints: 76-column lines, each ending in a newline. */
function expectedBase64OfZeros(bytes: number): string {
  const flat = Buffer.alloc(bytes).toString("base64");
  return `${flat.match(/.{1,76}/g)?.join("\n")}\n`;
}

/** Collects a finished command's output and status. */
export async function collect(session: ExecSession): Promise<{ stdout: string; stderr: string; code: number | null }> {
  let stdout = "";
  let stderr = "";
  session.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  session.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const outputDone = Promise.all([
    new Promise((resolve) => session.stdout.on("end", resolve)),
    session.stderr ? new Promise((resolve) => session.stderr?.on("end", resolve)) : undefined,
  ]);
  const { code } = await session.exit;
  await outputDone;
  return { stdout, stderr, code };
}

/** Resolves once `text` has appeared in the stream's output, and returns everything read so far. */
function waitFor(stream: NodeJS.ReadableStream, text: string, seen: { text: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (seen.text.includes(text)) {
        stream.off("data", onData);
        resolve();
      }
    };
    const onData = (chunk: Buffer) => {
      seen.text += chunk.toString();
      check();
    };
    stream.on("data", onData);
    stream.once("end", () =>
      reject(new Error(`output ended before "${text}" appeared; got ${JSON.stringify(seen.text)}`)),
    );
    check();
  });
}

/**
 * Registers the shared suite for one driver. `make` runs once before the suite; every workspace
 * the suite creates carries the tenant label `contractTenantId` and is destroyed afterwards.
 */
export function runDriverContract(name: string, make: () => Promise<DriverHarness>): void {
  describe(`${name} workspace driver contract`, () => {
    let harness: DriverHarness | undefined;
    const made: WorkspaceRef[] = [];
    let counter = 0;

    const h = (): DriverHarness => {
      if (!harness) throw new Error("the harness did not start; see the beforeAll failure");
      return harness;
    };

    function spec(overrides: Partial<WorkspaceSpec> = {}): WorkspaceSpec {
      return {
        id: `${contractTenantId}-${++counter}`,
        tenantId: contractTenantId,
        packageId: `pkg-${counter}`,
        image: h().image,
        user: "azusa",
        env: { AZUSA_CONTRACT: "yes" },
        resources: { cpus: 1, memoryMiB: 256, pids: 128 },
        readOnlyRootFs: true,
        workspaceFolder: "/workspace",
        ...overrides,
      };
    }

    async function create(overrides: Partial<WorkspaceSpec> = {}): Promise<WorkspaceRef> {
      const ref = await h().driver.create(spec(overrides));
      made.push(ref);
      return ref;
    }

    async function run(ref: WorkspaceRef, cmd: string[], extra: Partial<ExecRequest> = {}) {
      const session = await h().driver.exec(ref, { cmd, tty: false, ...extra });
      session.stdin.end();
      return collect(session);
    }

    // an engine the harness starts itself (and loads an image into) may take minutes on a busy machine
    beforeAll(async () => {
      harness = await make();
    }, 240_000);

    afterAll(async () => {
      if (!harness) return;
      try {
        const listed = await harness.driver.list({ "io.azusa.tenant": contractTenantId }).catch(() => []);
        for (const ref of [...made, ...listed]) await harness.driver.destroy(ref).catch(() => undefined);
      } finally {
        await harness.cleanup();
      }
    });

    describe("lifecycle", () => {
      it("a created workspace is stopped until started", async () => {
        const ref = await create();
        expect(await h().driver.status(ref)).toBe("stopped");
      });

      it("start makes it running, and starting again changes nothing", async () => {
        const ref = await create();
        await h().driver.start(ref);
        await h().driver.start(ref);
        expect(await h().driver.status(ref)).toBe("running");
      });

      it("stop makes it stopped, and stopping again resolves", async () => {
        const ref = await create();
        await h().driver.start(ref);
        await h().driver.stop(ref);
        await h().driver.stop(ref);
        expect(await h().driver.status(ref)).toBe("stopped");
      });

      it("list returns the workspace with its labels and status", async () => {
        const s = spec();
        const ref = await h().driver.create(s);
        made.push(ref);
        const listed = await h().driver.list({ "io.azusa.workspace": s.id });
        expect(listed).toHaveLength(1);
        expect(listed[0]).toMatchObject({
          id: s.id,
          containerId: ref.containerId,
          volume: ref.volume,
          status: "stopped",
          labels: {
            "io.azusa.managed": "true",
            "io.azusa.workspace": s.id,
            "io.azusa.tenant": s.tenantId,
            "io.azusa.package": s.packageId,
          },
        });
      });

      it("list without labels returns only Azusa's workspaces, this one among them", async () => {
        const ref = await create();
        const listed = await h().driver.list();
        expect(listed.map((w) => w.containerId)).toContain(ref.containerId);
        for (const w of listed) expect(w.labels["io.azusa.managed"]).toBe("true");
      });

      it("a file the user writes to the workspace folder survives stop and start", async () => {
        const ref = await create();
        await h().driver.start(ref);
        const write = await run(ref, ["sh", "-c", "echo kept > /workspace/notes.txt"]);
        expect(write).toMatchObject({ code: 0, stderr: "" });
        await h().driver.stop(ref);
        await h().driver.start(ref);
        expect(await run(ref, ["cat", "/workspace/notes.txt"])).toMatchObject({ code: 0, stdout: "kept\n" });
      });

      it("a stopped workspace's files carry into another with their names, links, owners and modes", async () => {
        const from = await create();
        await h().driver.start(from);
        const make =
          "cd /workspace && mkdir d && chmod 700 d && echo x > 'd/odd name ü' && chmod 640 'd/odd name ü' && ln -s 'd/odd name ü' link";
        expect(await run(from, ["sh", "-c", make])).toMatchObject({ code: 0, stderr: "" });
        const listing = (ref: WorkspaceRef) =>
          run(ref, ["sh", "-c", "cd /workspace && find . -exec stat -c '%n|%a|%u:%g|%F|%s' {} + | sort"]);
        const before = await listing(from);
        expect(before.stdout).toContain("./d/odd name ü|640|");
        // a running workspace's files are not carried: they could change under the copy
        await expect(h().driver.exportFiles(from)).rejects.toMatchObject({ code: "INVALID_STATE" });
        await h().driver.stop(from);
        const to = await create();
        await h().driver.importFiles(to, await h().driver.exportFiles(from));
        await h().driver.start(to);
        expect(await listing(to)).toEqual(before);
        expect(await run(to, ["cat", "/workspace/link"])).toMatchObject({ code: 0, stdout: "x\n" });
      });

      it("destroy removes the workspace; destroying again resolves", async () => {
        const ref = await create();
        await h().driver.start(ref);
        await h().driver.destroy(ref);
        expect(await h().driver.status(ref)).toBe("missing");
        await expect(h().driver.destroy(ref)).resolves.toBeUndefined();
        expect(await h().driver.list({ "io.azusa.workspace": ref.id })).toEqual([]);
      });

      it("inventory lists a workspace's container and volume; discarding each leaves nothing", async () => {
        const ref = await create();
        const mine = (await h().driver.inventory()).filter((o) => o.workspaceId === ref.id);
        expect(mine.map((o) => `${o.kind}:${o.role}`).sort()).toEqual(["container:workspace", "volume:volume"]);
        expect(mine.find((o) => o.kind === "container")).toMatchObject({ id: ref.containerId, volume: ref.volume });
        for (const o of mine) await h().driver.discard(o);
        await expect(h().driver.discard(mine[0] as OwnedObject)).resolves.toBeUndefined();
        expect((await h().driver.inventory()).filter((o) => o.workspaceId === ref.id)).toEqual([]);
        expect(await h().driver.status(ref)).toBe("missing");
      });

      it("destroy removes the volume: the same id starts again with an empty folder", async () => {
        const s = spec();
        const first = await h().driver.create(s);
        made.push(first);
        await h().driver.start(first);
        expect((await run(first, ["touch", "/workspace/old"])).code).toBe(0);
        await h().driver.destroy(first);
        const second = await h().driver.create(s);
        made.push(second);
        await h().driver.start(second);
        expect(await run(second, ["ls", "-A", "/workspace"])).toMatchObject({ code: 0, stdout: "" });
      });

      it("exec in a stopped workspace fails with INVALID_STATE", async () => {
        const ref = await create();
        await expect(h().driver.exec(ref, { cmd: ["true"], tty: false })).rejects.toMatchObject({
          code: "INVALID_STATE",
        });
      });

      it("a root user is refused", async () => {
        await expect(h().driver.create(spec({ user: "root" }))).rejects.toMatchObject({ code: "VALIDATION" });
        await expect(h().driver.create(spec({ user: "0:0" }))).rejects.toMatchObject({ code: "VALIDATION" });
      });
    });

    describe("exec", () => {
      let ref: WorkspaceRef;
      beforeAll(async () => {
        ref = await create();
        await h().driver.start(ref);
      });

      it("echo prints to stdout and exits 0", async () => {
        expect(await run(ref, ["echo", "hello"])).toEqual({ stdout: "hello\n", stderr: "", code: 0 });
      });

      it("stderr arrives apart from stdout, with the exit code", async () => {
        const result = await run(ref, ["sh", "-c", "echo out; echo err >&2; exit 3"]);
        expect(result).toEqual({ stdout: "out\n", stderr: "err\n", code: 3 });
      });

      it("stdin reaches the command, and ending it ends the command", async () => {
        const session = await h().driver.exec(ref, { cmd: ["cat"], tty: false });
        const result = collect(session);
        session.stdin.write("line one\n");
        session.stdin.end("line two\n");
        expect(await result).toEqual({ stdout: "line one\nline two\n", stderr: "", code: 0 });
      });

      it("the workspace's and the request's environment reach the command", async () => {
        const result = await run(ref, ["sh", "-c", 'echo "$AZUSA_CONTRACT $EXTRA"'], { env: { EXTRA: "too" } });
        expect(result).toMatchObject({ stdout: "yes too\n", code: 0 });
      });

      it("commands run as a user that is not root", async () => {
        const result = await run(ref, ["id", "-u"]);
        expect(result.code).toBe(0);
        expect(Number(result.stdout.trim())).toBeGreaterThan(0);
      });

      it("a tty carries output both ways, takes the initial size and resizes", async () => {
        const session = await h().driver.exec(ref, { cmd: ["sh"], tty: true, cols: 100, rows: 30 });
        expect(session.stderr).toBeNull();
        const seen = { text: "" };
        const sized = waitFor(session.stdout, "30 100", seen);
        session.stdin.write("stty size\n");
        await sized;
        await session.resize(120, 40);
        const resized = waitFor(session.stdout, "40 120", seen);
        session.stdin.write("stty size\n");
        await resized;
        session.stdin.write("exit 5\n");
        expect(await session.exit).toMatchObject({ code: 5 });
      });

      it("a tty command's exit status survives the end of its output", async () => {
        const session = await h().driver.exec(ref, { cmd: ["sh", "-c", "printf done; exit 4"], tty: true });
        const result = await collect(session);
        expect(result).toMatchObject({ stdout: "done", code: 4 });
      });

      it("with a tty, ending stdin neither ends the command nor loses its output", async () => {
        const session = await h().driver.exec(ref, { cmd: ["sh", "-c", "sleep 0.3; echo late; exit 6"], tty: true });
        session.stdin.end();
        expect(await collect(session)).toMatchObject({ stdout: "late\r\n", code: 6 });
      });

      it("20 MB of output arrive complete while the reader is slow, without piling up in memory", async () => {
        const session = await h().driver.exec(ref, {
          cmd: ["sh", "-c", `head -c ${twentyMB} /dev/zero | base64`],
          tty: false,
        });
        session.stdin.end();
        const stdout = session.stdout as NodeJS.ReadableStream & { readableLength: number };
        stdout.pause();
        const before = process.memoryUsage().arrayBuffers;
        // Nobody reads for a while: a driver that ignores backpressure keeps taking the command's output
        // (about 60 MB/s here) into memory, one that respects it leaves the command blocked on a full pipe.
        await new Promise((resolve) => setTimeout(resolve, 300));
        const buffered = process.memoryUsage().arrayBuffers - before;
        const hash = createHash("sha256");
        let length = 0;
        stdout.on("data", (chunk: Buffer) => {
          hash.update(chunk);
          length += chunk.length;
        });
        stdout.resume();
        session.stderr?.resume();
        const { code } = await session.exit;
        await new Promise((resolve) => (stdout.readable ? stdout.once("end", resolve) : resolve(undefined)));
        const expected = expectedBase64OfZeros(twentyMB);
        expect(code).toBe(0);
        expect(length).toBe(expected.length);
        expect(hash.digest("hex")).toBe(createHash("sha256").update(expected).digest("hex"));
        expect(buffered).toBeLessThan(4 * 1024 * 1024);
      });
    });
  });
}
