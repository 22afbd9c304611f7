// Bench runner: `npm run bench -- NAME [args]` runs bench/NAME.ts under tsx and exits with its status;
// `npm run bench -- NAME --help` prints what that bench measures (its opening comment) without running it.
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { constants } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const dir = dirname(fileURLToPath(import.meta.url));
const benches = readdirSync(dir)
  .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))
  .map((f) => f.slice(0, -".ts".length))
  .sort();
const [name, ...args] = process.argv.slice(2);
const wantsHelp = (list) => list.includes("--help") || list.includes("-h");
const usage = `usage: npm run bench -- NAME [--help]\navailable benches: ${benches.join(", ") || "(none)"}`;

if (!name || !benches.includes(name)) {
  const asked = !name || wantsHelp([name]);
  if (asked) console.log(usage);
  else console.error(`no bench "${name}"\n${usage}`);
  process.exit(asked && name ? 0 : 2);
}

if (wantsHelp(args)) {
  // A bench takes no options; its opening comment says what it measures, and its last line is one JSON object.
  const lines = readFileSync(join(dir, `${name}.ts`), "utf8").split("\n");
  const end = lines.findIndex((line) => !line.startsWith("//"));
  const about = lines.slice(0, end === -1 ? lines.length : end).map((line) => line.replace(/^\/\/ ?/, ""));
  console.log(
    `npm run bench -- ${name}\n\n${about.join("\n")}\n\nThe last line printed is one JSON object with the figures and their targets.`,
  );
  process.exit(0);
}

// tsx resolved from here rather than from the cwd, so the runner works from any directory.
const child = spawn(process.execPath, ["--import", import.meta.resolve("tsx"), join(dir, `${name}.ts`), ...args], {
  stdio: "inherit",
});
// A bench owns servers and temp dirs: let it clean up on a stop request instead of dying under it.
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => process.exit(code ?? 128 + (signal ? constants.signals[signal] : 1)));
