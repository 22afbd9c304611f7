// The layers, checked on every import in src/: data flows one way (http → api, web, gateway → domain →
// kernel, db, auth, provisioner, git), api, web and gateway never import each other, and the gateway keeps
// transport only (no database), in files of at most 400 lines and functions of at most 150. The composition
// root builds each part after what it uses, and each table is written from its one owner module only. A failure
// names the file, the line and the rule.
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
  /**
   * The one module that writes each table (insert, update, delete); every other module calls it. A table added to
   * the schema is given its owner here.
   */
  const owners: Record<string, string> = {
    // accounts, tenants, authentication
    user: "src/domain/accounts",
    invitation: "src/domain/accounts",
    user_preference: "src/domain/accounts",
    sign_in_attempt: "src/domain/accounts",
    sign_in_lock: "src/domain/accounts",
    tenant: "src/domain/tenants",
    // better-auth writes its own sessions; Azusa only ends API keys through the credential store
    session: "src/auth",
    apikey: "src/auth",
    audit_event: "src/domain/audit",
    audit_head: "src/domain/audit",
    // contracts and their packages
    contract: "src/domain/contracts",
    contract_lead: "src/domain/contracts",
    wbs_group: "src/domain/wbs",
    work_package: "src/domain/packages",
    package_dependency: "src/domain/packages",
    offer: "src/domain/offers",
    assignment: "src/domain/offers",
    // engineers and leads, their skills, vetting and keys
    engineer_profile: "src/domain/engineers",
    engineer_skill: "src/domain/engineers",
    vetting_record: "src/domain/engineers",
    lead_vetting: "src/domain/engineers",
    ssh_key: "src/domain/engineers",
    availability: "src/domain/availability",
    availability_window: "src/domain/availability",
    availability_exception: "src/domain/availability",
    // offices, their guides, and the interest strangers register
    office: "src/domain/offices",
    office_member: "src/domain/offices",
    office_admin: "src/domain/offices",
    office_guide_section: "src/domain/offices",
    interest_registration: "src/domain/offices",
    // task work
    task_batch: "src/domain/tasks",
    task_item: "src/domain/tasks",
    task_keyer: "src/domain/tasks",
    task_adjudicator: "src/domain/tasks",
    task_entry: "src/domain/tasks",
    task_disposal: "src/domain/tasks",
    task_document: "src/domain/tasks",
    // workspaces, their hosts and sessions
    workspace: "src/domain/workspaces",
    workspace_host: "src/domain/workspace-hosts",
    workspace_session: "src/domain/sessions",
    session_activity: "src/domain/sessions",
    // the forge and GitHub
    repository: "src/domain/pulls",
    pull_request: "src/domain/pulls",
    pull_review: "src/domain/pulls",
    review_comment: "src/domain/pulls",
    tenant_github: "src/domain/pulls",
    // hours, money and delivery
    time_entry: "src/domain/timesheets",
    timesheet: "src/domain/timesheets",
    settlement_adjustment: "src/domain/timesheets",
    settlement_close: "src/domain/timesheets",
    delivery: "src/domain/delivery",
    // notices, mail and webhooks
    notification: "src/domain/notifications",
    mail_outbox: "src/domain/notifications",
    webhook: "src/domain/notifications",
    webhook_delivery: "src/domain/notifications",
    webhook_attempt: "src/domain/notifications",
    // leases of work in flight, shared by every process
    job_lock: "src/jobs",
  };

  /** The module a file belongs to for table ownership: its folder under src/domain/, else its top folder. */
  const moduleOf = (file: string) => {
    const parts = file.split("/");
    return parts[1] === "domain" ? parts.slice(0, 3).join("/") : parts.slice(0, 2).join("/");
  };

  /** The tables of the schema (the `Database` interface of src/db/schema.ts). */
  function schemaTables(): string[] {
    const file = "src/db/schema.ts";
    const source = ts.createSourceFile(file, readFileSync(join(root, file), "utf8"), ts.ScriptTarget.Latest, true);
    const database = source.statements.find(
      (s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === "Database",
    );
    if (!database) throw new Error("interface Database not found in src/db/schema.ts");
    return database.members.flatMap((m) => (m.name && ts.isIdentifier(m.name) ? [m.name.text] : []));
  }

  /**
   * Every write (insertInto, updateTable, deleteFrom) outside tests and migrations, with each table its first
   * argument may name (both of `lead ? "lead_vetting" : "vetting_record"`); none when the name is not written out.
   */
  function findWrites(): { at: string; module: string; tables: string[] }[] {
    const found: { at: string; module: string; tables: string[] }[] = [];
    for (const file of files) {
      if (/\.test\.tsx?$/.test(file) || file.startsWith("src/db/migrations/")) continue;
      const source = ts.createSourceFile(file, readFileSync(join(root, file), "utf8"), ts.ScriptTarget.Latest, true);
      const visit = (node: ts.Node) => {
        if (
          ts.isCallExpression(node) &&
          ts.isPropertyAccessExpression(node.expression) &&
          ["insertInto", "updateTable", "deleteFrom"].includes(node.expression.name.text) &&
          node.arguments[0]
        ) {
          const tables: string[] = [];
          const names = (n: ts.Node) => {
            if (ts.isStringLiteralLike(n)) tables.push(n.text);
            ts.forEachChild(n, names);
          };
          names(node.arguments[0]);
          const line = source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
          found.push({ at: `${file}:${line}`, module: moduleOf(file), tables });
        }
        ts.forEachChild(node, visit);
      };
      visit(source);
    }
    return found;
  }

  const writes = findWrites();

  it("finds the writes", () => {
    const all = writes;
    expect(all.length).toBeGreaterThan(150);
    expect(all.filter((w) => w.tables.includes("lead_vetting")).map((w) => w.module)).toEqual(["src/domain/engineers"]);
  });

  it("each have an owner, and the owners name tables of the schema", () => {
    const tables = schemaTables();
    expect(tables.length).toBeGreaterThan(50);
    expect(tables.filter((t) => !owners[t])).toEqual([]);
    // better-auth's API keys are its own table, outside the schema Azusa declares
    expect(Object.keys(owners).filter((t) => !tables.includes(t) && t !== "apikey")).toEqual([]);
  });

  it("are each written (insert, update, delete) from their owner only; others call it", () => {
    const wrong: string[] = [];
    for (const w of writes) {
      if (w.tables.length === 0) wrong.push(`${w.at} writes a table it does not name: write the name out`);
      for (const table of w.tables) {
        const owner = owners[table];
        if (!owner) wrong.push(`${w.at} writes ${table}, which has no owner: give it one above`);
        else if (owner !== w.module) wrong.push(`${w.at} writes ${table}, which ${owner} owns: call it there`);
      }
    }
    expect(wrong).toEqual([]);
  });
});
