import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "src/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Most test files wait on the Docker engine, git, ssh or a browser rather than on a core, so three files run at
    // once even on a two-core machine; one at a time, the suite took 21 minutes there.
    maxWorkers: Math.max(3, availableParallelism()),
  },
});
