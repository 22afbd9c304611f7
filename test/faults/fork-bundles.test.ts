// Fork bundles hold an engineer's commits: they live under the data directory, never the host's /tmp, and the
// ones a crashed process left are removed when Azusa starts.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startTestAzusa } from "../support/harness.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("fork bundles", () => {
  it("a crashed process's bundles are swept at start; a live process's are kept", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "azusa-bundles-"));
    dirs.push(dataDir);
    // A process that has ended: its pid names no process now.
    const dead = spawnSync(process.execPath, ["-e", "0"]).pid;
    const bundle = (pid: number) => {
      const dir = join(dataDir, "scratch", `fork-${hostname()}-${pid}-Ab12Cd`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "fork.bundle"), "the engineer's commits");
      return dir;
    };
    const left = bundle(dead);
    const live = bundle(process.pid);
    const t = await startTestAzusa({ env: { AZUSA_DATA_DIR: dataDir, AZUSA_SCHEDULES: "off" } });
    try {
      expect(existsSync(left)).toBe(false);
      expect(existsSync(live)).toBe(true);
      expect(t.logs.join("")).toContain('"swept":1');
    } finally {
      await t.stop();
    }
  });
});
