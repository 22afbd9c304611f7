// The storage folder several processes share (AZUSA_STORAGE_DIR): repositories are kept there, not in the data
// directory, and every process on the database finds them there.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { startTestAzusa } from "./support/harness.ts";

it("keeps repositories in the storage folder, for every process", async () => {
  const storage = mkdtempSync(join(tmpdir(), "azusa-storage-"));
  const a = await startTestAzusa({ dialect: "postgres", env: { AZUSA_STORAGE_DIR: storage } });
  const b = await startTestAzusa({ alongside: a, env: { AZUSA_STORAGE_DIR: storage } });
  try {
    for (const t of [a, b]) {
      expect(t.running.azusa.forge.pathOf({ name: "tenant-1/package-1.git", defaultBranch: "main" })).toBe(
        join(storage, "repos", "tenant-1", "package-1.git"),
      );
    }
  } finally {
    await b.stop();
    await a.stop();
    rmSync(storage, { recursive: true, force: true });
  }
});
