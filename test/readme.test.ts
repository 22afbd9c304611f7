// The README's commands and benchmark table name what exists: every `npm run` script it shows is in
// package.json, and its benchmark table lists exactly the benches in bench/, which `npm run bench -- NAME` runs.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..");
const readme = readFileSync(join(root, "README.md"), "utf8");

describe("the README", () => {
  it("carries no leftover merge-conflict markers", () => {
    expect(readme).not.toMatch(/^(<{7}|={7}|>{7})( |$)/m);
  });

  it("shows only npm scripts that package.json defines", () => {
    const scripts = Object.keys(JSON.parse(readFileSync(join(root, "package.json"), "utf8")).scripts);
    const shown = new Set([...readme.matchAll(/npm run ([a-z][a-z:-]*)/g)].map((m) => m[1] as string));
    expect(shown.size).toBeGreaterThan(0);
    for (const name of shown) expect(scripts, `npm run ${name}`).toContain(name);
  });

  it("lists in its benchmark table exactly the benches in bench/", () => {
    const section = readme.slice(readme.indexOf("\n## Benchmarks\n"));
    const listed = [...section.matchAll(/^\| `([a-z]+)` \|/gm)].map((m) => m[1] as string).sort();
    const benches = readdirSync(join(root, "bench"))
      .filter((f) => f.endsWith(".ts"))
      .map((f) => f.slice(0, -".ts".length))
      .sort();
    expect(listed).toEqual(benches);
  });
});
