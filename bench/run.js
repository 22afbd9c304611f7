// Bench runner: `npm run bench -- NAME [args]` runs bench/NAME.ts under tsx and exits with its status.
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { constants } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const dir = dirname(fileURLToPath(import.meta.url));
const benches = readdirSync(dir)
  .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))
  .map((f) => f.slice(0, -".ts".length))
  .sort();
const [name, ...args] = process.argv.slice(2);

if (!name || !benches.includes(name)) {
  console.error(`usage: npm run bench -- NAME [args]\navailable benches: ${benches.join(", ") || "(none)"}`);
  process.exit(2);
}

// tsx resolved from here rather than from the cwd, so the runner works from any directory.
const child = spawn(process.execPath, ["--import", import.meta.resolve("tsx"), join(dir, `${name}.ts`), ...args], {
  stdio: "inherit",
});
// A bench owns servers and temp dirs: let it clean up on a stop request instead of dying under it.
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => process.exit(code ?? 128 + (signal ? constants.signals[signal] : 1)));
