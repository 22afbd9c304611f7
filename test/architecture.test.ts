// The layers, checked on every import in src/: data flows one way (http → api, web, gateway → domain →
// kernel, db, auth, provisioner, git), api, web and gateway never import each other, and the gateway keeps
// transport only (no database). A failure names the file, the line and the rule. File sizes are not checked
// here: several gateway files are still over the 400 lines the architecture aims at.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "..");
const src = join(root, "src");

/** Every source file under src/, as a path relative to the repository (tests beside the code included). */
function sourceFiles(dir = src): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return /\.(ts|tsx)$/.test(e.name) ? [relative(root, path)] : [];
  });
}

interface Edge {
  from: string;
  line: number;
  /** The specifier as written. */
  spec: string;
  /** The imported file relative to the repository, or null for a package. */
  to: string | null;
}

/** Every import, export-from and dynamic import of a file, with its line. */
function importsOf(file: string): Edge[] {
  const text = readFileSync(join(root, file), "utf8");
  const info = ts.preProcessFile(text, true, true);
  return info.importedFiles.map((f) => {
    const line = text.slice(0, f.pos).split("\n").length;
    const to = f.fileName.startsWith(".") ? relative(root, resolve(dirname(join(root, file)), f.fileName)) : null;
    return { from: file, line, spec: f.fileName, to };
  });
}

/**
 * The layer of a file and its rank: a file may import its own layer, or any layer of a lower rank.
 * Layers of one rank (api, web, gateway, jobs) may not import each other.
 */
function layerOf(file: string): { name: string; rank: number } | null {
  const top = file.split("/")[1] ?? "";
  if (file === "src/server.ts" || file === "src/cli.ts") return { name: "composition root", rank: 6 };
  if (file === "src/http/app.ts") return { name: "http (the application)", rank: 5 };
  if (top === "api" || top === "web" || top === "gateway" || top === "jobs") return { name: top, rank: 4 };
  if (top === "http") return { name: "http (shared: errors, client address, request context)", rank: 3.5 };
  if (top === "domain") return { name: "domain", rank: 3 };
  if (top === "db" || top === "auth" || top === "provisioner" || top === "git" || top === "templates")
    return { name: "db, auth, provisioner, git, templates", rank: 2 };
  if (top === "kernel") return { name: "kernel", rank: 1 };
  if (/^(logger|config)(\.test)?\.ts$/.test(top)) return { name: "logger, config", rank: 0 };
  return null;
}

const files = sourceFiles();
const edges = files.flatMap(importsOf);

describe("the layers of src/", () => {
  it("finds the source files and their imports", () => {
    expect(files.length).toBeGreaterThan(100);
    expect(edges.filter((e) => e.to).length).toBeGreaterThan(500);
  });

  it("imports only downward, or within the same layer", () => {
    const wrong: string[] = [];
    for (const e of edges) {
      if (!e.to?.startsWith("src/")) continue;
      const from = layerOf(e.from);
      const to = layerOf(e.to);
      if (!from || !to || from.name === to.name || to.rank < from.rank) continue;
      wrong.push(`${e.from}:${e.line} imports ${e.spec}: ${from.name} may not depend on ${to.name}`);
    }
    expect(wrong).toEqual([]);
  });

  it("keeps the database out of the gateway", () => {
    const wrong = edges
      .filter((e) => e.from.startsWith("src/gateway/"))
      .filter((e) => e.spec === "kysely" || e.spec.startsWith("kysely/") || e.to?.startsWith("src/db/"))
      .map((e) => `${e.from}:${e.line} imports ${e.spec}: the gateway reads and writes through src/domain/sessions`);
    expect(wrong).toEqual([]);
  });

  it("has a layer for every file (a new top-level folder is given one above)", () => {
    expect(files.filter((f) => !layerOf(f))).toEqual([]);
  });
});
