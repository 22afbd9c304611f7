// The `azusa` command end to end: start-up checks, the first operator, migrations, shutdown.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runCli, startServe } from "./support/cli.ts";
import { Client, PASSWORD } from "./support/harness.ts";

const dirs: string[] = [];
const dataDir = () => {
  const d = mkdtempSync(join(tmpdir(), "azusa-cli-"));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("azusa serve", () => {
  it("refuses to start on bad settings and names every one", async () => {
    const res = await runCli(["serve"], {
      AZUSA_DATA_DIR: dataDir(),
      AZUSA_PORT: "eighty",
      DATABASE_URL: "mysql://localhost/azusa",
      AZUSA_LOG_LEVEL: "loud",
    });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain("invalid configuration");
    expect(res.stderr).toContain('AZUSA_PORT: Invalid input: expected number, received NaN (got "eighty")');
    expect(res.stderr).toContain("DATABASE_URL: must be a postgres:// URL (leave unset for SQLite)\n");
    expect(res.stderr).not.toContain("mysql://localhost/azusa"); // a database URL can hold a password
    expect(res.stderr).toMatch(/AZUSA_LOG_LEVEL: .*"loud"/);
  });

  it("starts with nothing but a data directory, lets the CLI's operator sign in, and stops on SIGTERM", async () => {
    const dir = dataDir();
    const created = await runCli(
      ["admin", "create", "--email", "first@office.example", "--name", "最初の運用者"],
      { AZUSA_DATA_DIR: dir },
      `${PASSWORD}\n`,
    );
    expect(created.stderr).toBe("");
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^operator created: first@office.example/);

    const server = await startServe({ AZUSA_DATA_DIR: dir, AZUSA_BASE_URL: "http://127.0.0.1" });
    try {
      // The server's base URL is http://127.0.0.1, so that is the origin its pages would have.
      const client = new Client(`http://127.0.0.1:${server.port}`, { origin: "http://127.0.0.1" });
      expect((await client.get("/healthz")).status).toBe(200);
      expect(
        (await client.post("/api/auth/sign-in/email", { email: "first@office.example", password: PASSWORD })).status,
      ).toBe(200);
      expect(await (await client.get("/api/v1/me")).json()).toMatchObject({ role: "operator", name: "最初の運用者" });
    } finally {
      server.child.kill("SIGTERM");
    }
    const code = await new Promise((r) => server.child.once("exit", r));
    expect(code).toBe(0);
    expect(server.output()).toContain('"signal":"SIGTERM"');
  });

  it("refuses a second account with the same email and a short password", async () => {
    const dir = dataDir();
    await runCli(["admin", "create", "--email", "a@office.example"], { AZUSA_DATA_DIR: dir }, PASSWORD);
    const again = await runCli(["admin", "create", "--email", "A@office.example"], { AZUSA_DATA_DIR: dir }, PASSWORD);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("an account for a@office.example already exists");
    const short = await runCli(["admin", "create", "--email", "b@office.example"], { AZUSA_DATA_DIR: dir }, "short");
    expect(short.code).toBe(2);
    expect(short.stderr).toContain("at least 12 characters");
  });
});

describe("azusa migrate", () => {
  it("creates the schema from empty, then has nothing to do", async () => {
    const dir = dataDir();
    const first = await runCli(["migrate"], { AZUSA_DATA_DIR: dir });
    expect(first.code).toBe(0);
    expect(first.stdout).toContain("applied: 2026-11-25T1910-tenants-and-invitations, 2026-11-25T1911-audit-log");
    const second = await runCli(["migrate"], { AZUSA_DATA_DIR: dir });
    expect(second.stdout).toBe("database is up to date\n");
  });
});
