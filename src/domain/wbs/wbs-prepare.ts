// What a WBS import computes before it writes: the file parsed and checked, leaves made package rows, parents
// groupings, dependencies expanded and planned. Pure and free of the database, so that it runs on a worker thread
// (wbs-thread.ts) while the event loop serves other requests.

import { randomUUID } from "node:crypto";
import type { WbsGroupTable, WorkPackageTable } from "../../db/schema.ts";
import { fail } from "../../kernel/errors.ts";
import { type Param, said, text, wbsField } from "../../kernel/messages.ts";
import { type ContractPlan, findCycle, type PlanNode, planOf } from "../packages/plan.ts";
import { parseWbs, type WbsFormat, type WbsItem, type WbsProblem } from "./wbs-parse.ts";

export interface WbsUpload {
  bytes: Uint8Array;
  filename?: string;
  contentType?: string;
  format?: WbsFormat;
}

export interface WbsImportResult {
  format: WbsFormat;
  ignoredColumns: string[];
  groups: number;
  packages: {
    id: string;
    wbsId: string;
    title: string;
    estimateHours: number;
    oversized: boolean;
    dependsOn: string[];
  }[];
  /** WBS ids of packages above the contract's package size, for the lead to split. */
  oversized: string[];
  plan: ContractPlan;
}

const DEFAULT_TEMPLATE = "default";
/** The most items (rows) one WBS may have; a larger one is refused with 413 before it is checked. */
export const MAX_WBS_ITEMS = 50_000;
const MAX_PROBLEMS = 100;

/** Refuses the file with every problem found, each naming its row and field. */
function refuse(problems: WbsProblem[]): never {
  const fields = problems.slice(0, MAX_PROBLEMS).map((p) => ({
    path: [p.row != null ? `row ${p.row}` : null, p.field].filter(Boolean).join(" ") || "file",
    message: p.message,
    ...(p.text ? { text: p.text } : {}),
  }));
  const p = problems[0];
  const where: Param[] = [
    ...(p?.row != null ? [text("wbs.row", { row: p.row })] : []),
    ...(p?.field ? [wbsField(p.field)] : []),
  ];
  const message = text("wbs.notImported", {
    path: where.length ? { code: fields[0]?.path ?? "file", text: where } : text("field.file"),
    message: p?.text ?? p?.message ?? "",
    more: problems.length > 1 ? text("wbs.andMore", { n: problems.length - 1 }) : "",
  });
  throw fail("VALIDATION", message, { fields });
}

/**
 * Checks the tree and the dependencies between items; returns leaves with dependencies expanded to leaves. Linear in
 * the items and the dependencies it expands to, and without recursion, so that neither a large WBS nor a deep one
 * (a parent chain thousands of levels long) costs more than its size.
 */
export function structure(items: WbsItem[]): {
  leaves: WbsItem[];
  groups: WbsItem[];
  dependsOn: Map<string, string[]>;
} {
  const problems: WbsProblem[] = [];
  const byId = new Map(items.map((i) => [i.wbsId, i]));
  const children = new Map<string, WbsItem[]>();
  for (const item of items) {
    if (item.parentId == null) continue;
    if (!byId.has(item.parentId)) {
      problems.push({ row: item.row, field: "parent", message: `parent "${item.parentId}" is not an id in this WBS` });
      continue;
    }
    const siblings = children.get(item.parentId);
    if (siblings) siblings.push(item);
    else children.set(item.parentId, [item]);
  }
  // A parent chain that loops would make an item its own ancestor. Each chain is walked once: what is known of an
  // ancestor (it reaches the top, or it reaches a loop) holds for everything below it.
  const reachesLoop = new Map<string, boolean>();
  for (const item of items) {
    const path: string[] = [];
    const onPath = new Set<string>();
    let up: WbsItem | undefined = item;
    let loops = false;
    while (up) {
      const known = reachesLoop.get(up.wbsId);
      if (known !== undefined) {
        loops = known;
        break;
      }
      if (onPath.has(up.wbsId)) {
        loops = true;
        break;
      }
      path.push(up.wbsId);
      onPath.add(up.wbsId);
      up = up.parentId ? byId.get(up.parentId) : undefined;
    }
    for (const id of path) reachesLoop.set(id, loops);
    if (loops) {
      problems.push({
        row: item.row,
        field: "parent",
        message: `"${item.wbsId}" is its own ancestor through its parents`,
      });
    }
  }
  const isGroup = (id: string) => children.has(id);
  const leaves = items.filter((i) => !isGroup(i.wbsId));
  const groups = items.filter((i) => isGroup(i.wbsId));
  // The leaves under each grouping asked about, found with a stack of our own and remembered; a grouping inside a
  // loop of parents has none (the file is refused anyway).
  const leavesOf = new Map<string, string[]>();
  const leavesUnder = (id: string): string[] => {
    if (!isGroup(id)) return [id];
    const remembered = leavesOf.get(id);
    if (remembered) return remembered;
    if (reachesLoop.get(id)) return [];
    const found: string[] = [];
    const stack = [id];
    while (stack.length) {
      const next = stack.pop() as string;
      const kids = children.get(next);
      if (!kids) {
        found.push(next);
        continue;
      }
      // in reverse, so that the leaves come out in the file's order
      for (let i = kids.length - 1; i >= 0; i--) stack.push((kids[i] as WbsItem).wbsId);
    }
    leavesOf.set(id, found);
    return found;
  };

  const dependsOn = new Map<string, Set<string>>();
  for (const leaf of leaves) {
    if (leaf.estimateHours == null) {
      problems.push({
        row: leaf.row,
        field: "estimate",
        message: `"${leaf.wbsId}" is a work package and needs an estimate in hours`,
      });
    }
    const deps = new Set<string>();
    for (const d of leaf.dependsOn) {
      if (!byId.has(d)) {
        problems.push({
          row: leaf.row,
          field: "dependsOn",
          message: `depends on "${d}", which is not an id in this WBS`,
        });
        continue;
      }
      // A dependency on a grouping means every package under it.
      for (const l of leavesUnder(d)) deps.add(l);
    }
    dependsOn.set(leaf.wbsId, deps);
  }
  for (const group of groups) {
    for (const d of group.dependsOn) {
      if (!byId.has(d)) {
        problems.push({
          row: group.row,
          field: "dependsOn",
          message: `depends on "${d}", which is not an id in this WBS`,
        });
      }
    }
    // A grouping's own dependencies hold for every package under it.
    const extra = group.dependsOn.filter((d) => byId.has(d)).flatMap(leavesUnder);
    if (extra.length === 0) continue;
    for (const leafId of leavesUnder(group.wbsId)) {
      const deps = dependsOn.get(leafId);
      if (deps) for (const d of extra) deps.add(d);
    }
  }
  const expanded = new Map<string, string[]>();
  for (const [id, deps] of dependsOn) expanded.set(id, [...deps]);
  if (problems.length === 0) {
    const nodes: PlanNode[] = leaves.map((l) => ({
      id: l.wbsId,
      label: l.wbsId,
      hours: l.estimateHours ?? 0,
      dependsOn: expanded.get(l.wbsId) ?? [],
    }));
    const cycle = findCycle(nodes);
    if (cycle) {
      const row = byId.get(cycle[0] as string)?.row ?? null;
      problems.push({
        row,
        field: "dependsOn",
        ...said(text("wbs.cycle", { cycle: cycle.join(" → ") })),
      });
    }
  }
  if (problems.length) refuse(problems);
  return { leaves, groups, dependsOn: expanded };
}

/** The contract a WBS is imported into, as far as preparing the rows needs it. */
export interface WbsImportTarget {
  contractId: string;
  tenantId: string;
  maxPackageHours: number;
  /** The moment the rows are created at (ISO 8601). */
  now: string;
}

/** Everything an import writes, and the answer it gives once written. */
export interface PreparedWbsImport {
  groupRows: WbsGroupTable[];
  packageRows: WorkPackageTable[];
  edges: { package_id: string; depends_on_id: string }[];
  result: WbsImportResult;
}

/**
 * Parses and checks an upload and prepares the rows of its import and the answer to it. Throws the AppError the
 * caller answers with: 413 for a file past its limits, 400 naming every problem.
 */
export async function prepareWbsImport(upload: WbsUpload, target: WbsImportTarget): Promise<PreparedWbsImport> {
  const parsed = await parseWbs(upload);
  if (!parsed.ok) {
    if (parsed.tooLarge) throw fail("PAYLOAD_TOO_LARGE", parsed.tooLarge);
    refuse(parsed.problems);
  }
  if (parsed.items.length > MAX_WBS_ITEMS) {
    throw fail("PAYLOAD_TOO_LARGE", text("wbs.tooMany", { n: parsed.items.length, max: MAX_WBS_ITEMS }));
  }
  const { leaves, groups, dependsOn } = structure(parsed.items);
  const { contractId, tenantId, now } = target;
  const idOf = new Map(leaves.map((l) => [l.wbsId, randomUUID()]));
  const packageRows: WorkPackageTable[] = leaves.map((l) => ({
    id: idOf.get(l.wbsId) as string,
    contract_id: contractId,
    tenant_id: tenantId,
    wbs_id: l.wbsId,
    title: l.title,
    parent_wbs_id: l.parentId,
    skills: JSON.stringify(l.skills),
    estimate_hours: l.estimateHours ?? 0,
    acceptance_criteria: l.acceptanceCriteria,
    template: l.template ?? DEFAULT_TEMPLATE,
    state: "draft",
    state_reason: null,
    source_row: l.row,
    created_at: now,
    updated_at: now,
  }));
  const groupRows: WbsGroupTable[] = groups.map((g) => ({
    id: randomUUID(),
    contract_id: contractId,
    wbs_id: g.wbsId,
    title: g.title,
    parent_wbs_id: g.parentId,
  }));
  const depsById = new Map<string, string[]>();
  const edges = leaves.flatMap((l) => {
    const packageId = idOf.get(l.wbsId) as string;
    const deps = (dependsOn.get(l.wbsId) ?? []).map((d) => idOf.get(d) as string);
    depsById.set(packageId, deps);
    return deps.map((d) => ({ package_id: packageId, depends_on_id: d }));
  });
  const nodes = new Map<string, PlanNode>(
    packageRows.map((r) => [
      r.id,
      { id: r.id, label: r.wbs_id, hours: r.estimate_hours, dependsOn: depsById.get(r.id) ?? [] },
    ]),
  );
  const packages = packageRows.map((r) => ({
    id: r.id,
    wbsId: r.wbs_id,
    title: r.title,
    estimateHours: r.estimate_hours,
    oversized: r.estimate_hours > target.maxPackageHours,
    dependsOn: depsById.get(r.id) ?? [],
  }));
  return {
    groupRows,
    packageRows,
    edges,
    result: {
      format: parsed.format,
      ignoredColumns: parsed.ignoredColumns,
      groups: groupRows.length,
      packages,
      oversized: packages.filter((p) => p.oversized).map((p) => p.wbsId),
      plan: planOf(nodes),
    },
  };
}
