// The layers, checked on every import in src/: data flows one way (http → api, web, gateway → domain →
// kernel, db, auth, provisioner, git), api, web and gateway never import each other, and the gateway keeps
// transport only (no database), in files of at most 400 lines and functions of at most 150. The composition
// root builds each part after what it uses, and each table is written from one module only. A failure names
// the file, the line and the rule.
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

/** Each function (declared, expression or arrow) of a file with a body, with its first line and its length in lines. */
function functionsOf(file: string): { line: number; lines: number }[] {
  const text = readFileSync(join(root, file), "utf8");
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: { line: number; lines: number }[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isFunctionLike(node) && "body" in node && node.body) {
      const first = source.getLineAndCharacterOfPosition(node.getStart()).line;
      const last = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      found.push({ line: first + 1, lines: last - first + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe("the size of the gateway", () => {
  const gateway = files.filter((f) => f.startsWith("src/gateway/") && !f.endsWith(".test.ts"));

  it("finds the gateway's files", () => {
    expect(gateway.length).toBeGreaterThan(10);
  });

  it("keeps every gateway file to 400 lines", () => {
    const long = gateway
      .map((f) => ({ f, lines: readFileSync(join(root, f), "utf8").split("\n").length }))
      .filter(({ lines }) => lines > 400)
      .map(({ f, lines }) => `${f} has ${lines} lines: split it by concern (at most 400)`);
    expect(long).toEqual([]);
  });

  it("keeps every gateway function to 150 lines", () => {
    const long = gateway.flatMap((f) =>
      functionsOf(f)
        .filter((fn) => fn.lines > 150)
        .map((fn) => `${f}:${fn.line} is a function of ${fn.lines} lines (at most 150)`),
    );
    expect(long).toEqual([]);
  });
});

describe("the composition root", () => {
  /**
   * Every use, in buildAzusa, of a part declared further down (in a callback too): a part that needs one built
   * after it is a hidden cycle; two parts that need each other say so with an explicit registration instead.
   */
  function forwardReferences(): string[] {
    const file = "src/server.ts";
    const text = readFileSync(join(root, file), "utf8");
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
    const build = source.statements.find(
      (s): s is ts.FunctionDeclaration => ts.isFunctionDeclaration(s) && s.name?.text === "buildAzusa",
    );
    if (!build?.body) throw new Error("buildAzusa not found in src/server.ts");
    const declaredAt = new Map<string, number>();
    for (const statement of build.body.statements) {
      if (!ts.isVariableStatement(statement)) continue;
      for (const d of statement.declarationList.declarations) {
        const names = ts.isIdentifier(d.name)
          ? [d.name]
          : (d.name.elements as ts.NodeArray<ts.ArrayBindingElement | ts.BindingElement>)
              .filter(ts.isBindingElement)
              .map((e) => e.name)
              .filter(ts.isIdentifier);
        for (const n of names) declaredAt.set(n.text, statement.getStart(source));
      }
    }
    const wrong: string[] = [];
    const visit = (node: ts.Node) => {
      if (ts.isIdentifier(node) && declaredAt.has(node.text)) {
        const parent = node.parent;
        const isName =
          (ts.isPropertyAccessExpression(parent) && parent.name === node) ||
          (ts.isPropertyAssignment(parent) && parent.name === node) ||
          (ts.isVariableDeclaration(parent) && parent.name === node) ||
          (ts.isBindingElement(parent) && parent.name === node) ||
          ts.isParameter(parent);
        const at = declaredAt.get(node.text) ?? 0;
        if (!isName && node.getStart(source) < at) {
          const line = source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
          wrong.push(`${file}:${line} uses ${node.text} before it is built`);
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(build.body);
    return wrong;
  }

  it("builds every part after the parts it uses, with no forward reference", () => {
    expect(forwardReferences()).toEqual([]);
  });
});

describe("the tables", () => {
  /** The module a file belongs to for table ownership: its folder under src/domain/, else its top folder. */
  const moduleOf = (file: string) => {
    const parts = file.split("/");
    return parts[1] === "domain" ? parts.slice(0, 3).join("/") : parts.slice(0, 2).join("/");
  };

  it("are each written (insert, update, delete) from one module; others call it", () => {
    const writers = new Map<string, Map<string, string[]>>();
    for (const file of files) {
      if (/\.test\.tsx?$/.test(file) || file.startsWith("src/db/migrations/")) continue;
      const text = readFileSync(join(root, file), "utf8");
      for (const m of text.matchAll(/\.(insertInto|updateTable|deleteFrom)\(\s*"(\w+)"/g)) {
        const table = m[2] as string;
        const line = text.slice(0, m.index).split("\n").length;
        const byModule = writers.get(table) ?? new Map<string, string[]>();
        const module = moduleOf(file);
        byModule.set(module, [...(byModule.get(module) ?? []), `${file}:${line}`]);
        writers.set(table, byModule);
      }
    }
    expect(writers.get("work_package")?.size).toBe(1);
    const shared = [...writers]
      .filter(([, byModule]) => byModule.size > 1)
      .map(([table, byModule]) => `${table} is written from ${[...byModule.values()].map((at) => at[0]).join(", ")}`);
    expect(shared).toEqual([]);
  });
});
