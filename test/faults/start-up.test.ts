// Start-up with a setting that names something unusable: one line `azusa: …` naming it, exit code 2, no stack;
// and a second process on one SQLite file, refused the same way.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type CliResult, runCli, startServe } from "../support/cli.ts";

const dirs: string[] = [];
const dataDir = () => {
  const d = mkdtempSync(join(tmpdir(), "azusa-start-"));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** The command failed as a bad setting does: exit 2, one line on standard error, no stack trace. */
function expectOneLine(res: CliResult, ...names: string[]) {
  expect(res.code).toBe(2);
  const lines = res.stderr.trimEnd().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^azusa: /);
  for (const name of names) expect(lines[0]).toContain(name);
  expect(res.stderr).not.toMatch(/\n\s+at /);
  expect(res.stderr).not.toContain(".ts:");
}

describe("azusa serve refuses what its settings name, in one line", () => {
  it("a PostgreSQL that does not answer, without repeating its password", async () => {
    const res = await runCli(["serve"], {
      AZUSA_DATA_DIR: dataDir(),
      AZUSA_PORT: "0",
      AZUSA_SSH_PORT: "0",
      AZUSA_IDE_PORT: "off",
      DATABASE_URL: "postgres://azusa:hunter2-secret@127.0.0.1:1/azusa",
    });
    expectOneLine(res, "DATABASE_URL", "127.0.0.1:1/azusa");
    expect(res.stderr).not.toContain("hunter2-secret");
  });

  it("migrate likewise", async () => {
    const res = await runCli(["migrate"], {
      AZUSA_DATA_DIR: dataDir(),
      DATABASE_URL: "postgres://azusa:hunter2-secret@127.0.0.1:1/azusa",
    });
    expectOneLine(res, "DATABASE_URL", "127.0.0.1:1/azusa");
    expect(res.stderr).not.toContain("hunter2-secret");
  });

  it.each([
    ["AZUSA_PORT", { AZUSA_SSH_PORT: "0", AZUSA_IDE_PORT: "off" }],
    ["AZUSA_SSH_PORT", { AZUSA_PORT: "0", AZUSA_IDE_PORT: "off" }],
    ["AZUSA_IDE_PORT", { AZUSA_PORT: "0", AZUSA_SSH_PORT: "0" }],
  ] as const)("a port another program listens on, in %s", async (setting, others) => {
    // A listener of the test's own holds the port.
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    const { port } = holder.address() as AddressInfo;
    try {
      const res = await runCli(["serve"], {
        AZUSA_DATA_DIR: dataDir(),
        AZUSA_HOST: "127.0.0.1",
        AZUSA_SSH_HOST: "127.0.0.1",
        AZUSA_IMAGE_BUILD: "off",
        AZUSA_SCHEDULES: "off",
        ...others,
        [setting]: String(port),
      });
      expectOneLine(res, setting, `127.0.0.1:${port}`, "already in use");
    } finally {
      holder.close();
    }
  });

  it("a data directory that cannot be written", async () => {
    // A path below a plain file can never be a folder, even for root.
    const file = join(dataDir(), "not-a-folder");
    writeFileSync(file, "");
    const res = await runCli(["serve"], { AZUSA_DATA_DIR: join(file, "data"), AZUSA_PORT: "0", AZUSA_SSH_PORT: "0" });
    expectOneLine(res, "AZUSA_DATA_DIR", join(file, "data"));
  });

  it("a storage folder that cannot be written", async () => {
    const file = join(dataDir(), "not-a-folder");
    writeFileSync(file, "");
    const res = await runCli(["serve"], {
      AZUSA_DATA_DIR: dataDir(),
      AZUSA_STORAGE_DIR: join(file, "shared"),
      AZUSA_PORT: "0",
      AZUSA_SSH_PORT: "0",
    });
    expectOneLine(res, "AZUSA_STORAGE_DIR", join(file, "shared"));
  });

  it("a kept secret that cannot be read, which is never replaced by a new one", async () => {
    const dir = dataDir();
    // A folder where the secret file should be: reading it fails for root too.
    mkdirSync(join(dir, "secret"));
    const res = await runCli(["serve"], { AZUSA_DATA_DIR: dir, AZUSA_PORT: "0", AZUSA_SSH_PORT: "0" });
    expectOneLine(res, "AZUSA_SECRET", join(dir, "secret"));
  });

  it("a template refused at start-up, naming the folder and the file", async () => {
    const templates = dataDir();
    writeFileSync(join(templates, "broken.devcontainer.json"), '{ "image": 42 }');
    const res = await runCli(["serve"], {
      AZUSA_DATA_DIR: dataDir(),
      AZUSA_PORT: "0",
      AZUSA_SSH_PORT: "0",
      AZUSA_TEMPLATES_DIR: templates,
    });
    expectOneLine(res, "AZUSA_TEMPLATES_DIR", templates, "broken.devcontainer.json: image");
    expect(res.stderr).not.toContain("TemplateError");
  });
});

describe("one SQLite file serves one process", () => {
  it("refuses a second azusa serve on the same file, and takes over from one killed with -9", async () => {
    const dir = dataDir();
    const env = { AZUSA_DATA_DIR: dir, AZUSA_IMAGE_BUILD: "off", AZUSA_SCHEDULES: "off" };
    const first = await startServe(env);
    try {
      const second = await runCli(["serve"], { ...env, AZUSA_PORT: "0", AZUSA_SSH_PORT: "0", AZUSA_IDE_PORT: "off" });
      expectOneLine(second, "AZUSA_DATA_DIR", join(dir, "azusa.sqlite"), `pid ${first.child.pid}`, "PostgreSQL");
      // The first goes on serving.
      expect((await fetch(`http://127.0.0.1:${first.port}/healthz`)).status).toBe(200);
    } finally {
      first.child.kill("SIGKILL");
      await new Promise((r) => first.child.once("exit", r));
    }
    // The claim of a process that is gone is taken over; a clean stop gives it back.
    const third = await startServe(env);
    third.child.kill("SIGTERM");
    expect(await new Promise((r) => third.child.once("exit", r))).toBe(0);
    expect(existsSync(join(dir, "azusa.sqlite.owner"))).toBe(false);
  }, 180_000);
});
