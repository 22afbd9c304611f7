import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, settings } from "./config.ts";

describe("loadConfig", () => {
  it("works with nothing set: port 8080, data under ./data, SQLite there, the local Docker socket", () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 8080,
      dataDir: "./data",
      database: { dialect: "sqlite", file: "./data/azusa.sqlite" },
      baseUrl: "http://localhost:8080",
      docker: { socketPath: "/var/run/docker.sock" },
    });
  });

  it("uses PostgreSQL when DATABASE_URL is set", () => {
    expect(loadConfig({ DATABASE_URL: "postgres://u:p@db/azusa" }).database).toEqual({
      dialect: "postgres",
      url: "postgres://u:p@db/azusa",
    });
  });

  it("keeps repositories and recordings in the data directory unless a shared storage folder is named", () => {
    expect(loadConfig({ AZUSA_DATA_DIR: "/var/lib/azusa" })).toMatchObject({
      storageDir: "/var/lib/azusa",
      audit: { checkpointFile: null },
    });
    // A storage folder outside the data directory also takes the audit checkpoints, unless a file is named.
    expect(loadConfig({ AZUSA_DATA_DIR: "/var/lib/azusa", AZUSA_STORAGE_DIR: "/srv/azusa" })).toMatchObject({
      storageDir: "/srv/azusa",
      audit: { checkpointFile: "/srv/azusa/audit-checkpoints.jsonl" },
    });
    const named = { AZUSA_STORAGE_DIR: "/srv/azusa", AZUSA_AUDIT_CHECKPOINT_FILE: "/srv/audit/checkpoints" };
    expect(loadConfig(named).audit.checkpointFile).toBe("/srv/audit/checkpoints");
    // Inside the data directory it holds no checkpoints: whoever can write the database could reach them.
    const inside = loadConfig({ AZUSA_DATA_DIR: "/var/lib/azusa", AZUSA_STORAGE_DIR: "/var/lib/azusa/shared" });
    expect(inside.audit.checkpointFile).toBeNull();
  });

  it("reads a TCP Docker engine address", () => {
    expect(loadConfig({ DOCKER_HOST: "tcp://127.0.0.1:2375" }).docker).toEqual({
      host: "127.0.0.1",
      port: 2375,
      protocol: "http",
    });
  });

  it("serves templates' own IDEs on port 8081 by default, at an address with the package in its host", () => {
    expect(loadConfig({}).ide).toEqual({ port: 8081, url: null });
    expect(loadConfig({ AZUSA_IDE_PORT: "off" }).ide).toBeNull();
    expect(loadConfig({ AZUSA_IDE_URL: "https://{package}.ide.azusa.example/" }).ide).toEqual({
      port: 8081,
      url: "https://{package}.ide.azusa.example",
    });
    for (const url of ["https://ide.azusa.example/{package}", "https://x{package}.ide.example", "ftp://{package}.x"]) {
      expect(() => loadConfig({ AZUSA_IDE_URL: url })).toThrow(/AZUSA_IDE_URL: must be http\(s\):\/\/\{package\}/);
    }
  });

  it("lists every bad value at once", () => {
    let caught: unknown;
    try {
      loadConfig({ AZUSA_PORT: "70000", AZUSA_SECRET: "short", DOCKER_HOST: "ftp://x", AZUSA_TRUST_PROXY: "yes" });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const names = (caught as ConfigError).problems.map((p) => p.split(":")[0]);
    expect(names.sort()).toEqual(["AZUSA_PORT", "AZUSA_SECRET", "AZUSA_TRUST_PROXY", "DOCKER_HOST"]);
    // A secret is never echoed back, even when it is wrong.
    expect((caught as ConfigError).message).not.toContain('"short"');
  });
});

describe("the README's settings table", () => {
  // The table is what operators read; it must name exactly the variables config.ts reads, with their defaults.
  const readme = readFileSync(join(import.meta.dirname, "..", "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("\n## Settings\n"), readme.indexOf("\n## Operations\n"));
  const rows = new Map(
    [...section.matchAll(/^\| `([A-Z_]+)` *\| *([^|]*?) *\|/gm)].map((m) => [m[1] as string, m[2] as string]),
  );

  it("lists every setting config.ts reads, and nothing else", () => {
    expect([...rows.keys()].sort()).toEqual(settings.map((s) => s.name).sort());
  });

  it("gives each fixed default as config.ts applies it", () => {
    for (const s of settings.filter((s) => s.default !== undefined)) {
      expect(rows.get(s.name), s.name).toBe(`\`${s.default}\``);
    }
  });
});
