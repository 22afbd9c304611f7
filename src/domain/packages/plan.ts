// Dependency checks and the schedule of a contract's packages: earliest starts, slack, the critical path.
import { compareWbs } from "./wbs-order.ts";

/** One package as the planner sees it: its hours and what must finish before it starts. */
export interface PlanNode {
  id: string;
  /** What people call it (the WBS id), used in messages and to order ties. */
  label: string;
  hours: number;
  dependsOn: readonly string[];
}

export interface ScheduledPackage {
  earliestStartHours: number;
  earliestFinishHours: number;
  slackHours: number;
  critical: boolean;
}

export interface Plan {
  /** Hours from the first start to the last finish, with unlimited engineers. */
  totalHours: number;
  /** Ids along one longest chain, first to last. */
  criticalPath: string[];
  schedule: Map<string, ScheduledPackage>;
}

const EPSILON = 1e-9;

function topologicalOrder(nodes: readonly PlanNode[]): { order: PlanNode[]; stuck: PlanNode[] } {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const indegree = new Map<string, number>();
  const dependents = new Map<string, string[]>();
  for (const n of nodes) {
    indegree.set(n.id, n.dependsOn.filter((d) => byId.has(d)).length);
    for (const d of n.dependsOn) {
      if (!byId.has(d)) continue;
      const list = dependents.get(d);
      if (list) list.push(n.id);
      else dependents.set(d, [n.id]);
    }
  }
  const ready = nodes.filter((n) => indegree.get(n.id) === 0);
  const order: PlanNode[] = [];
  for (let i = 0; i < ready.length; i++) {
    const n = ready[i] as PlanNode;
    order.push(n);
    for (const m of dependents.get(n.id) ?? []) {
      const left = (indegree.get(m) ?? 0) - 1;
      indegree.set(m, left);
      if (left === 0) ready.push(byId.get(m) as PlanNode);
    }
  }
  const placed = new Set(order.map((n) => n.id));
  return { order, stuck: nodes.filter((n) => !placed.has(n.id)) };
}

/** WBS ids in the order people read them: 1.2 before 1.10 (the one comparator, wbs-order.ts). */
const labels = { compare: compareWbs };

/** One dependency cycle as labels, first label repeated at the end (`a → b → a`), or null when there is none. */
export function findCycle(nodes: readonly PlanNode[]): string[] | null {
  const { stuck } = topologicalOrder(nodes);
  if (stuck.length === 0) return null;
  // Every stuck node lies on or behind a cycle: walk dependencies inside the stuck set until one repeats.
  const inStuck = new Map(stuck.map((n) => [n.id, n]));
  const sorted = [...stuck].sort((a, b) => labels.compare(a.label, b.label));
  let current = sorted[0] as PlanNode;
  const seenAt = new Map<string, number>();
  const walk: PlanNode[] = [];
  while (!seenAt.has(current.id)) {
    seenAt.set(current.id, walk.length);
    walk.push(current);
    const next = current.dependsOn.find((d) => inStuck.has(d));
    current = inStuck.get(next as string) as PlanNode;
  }
  const cycle = walk.slice(seenAt.get(current.id));
  return [...cycle.map((n) => n.label), current.label];
}

/** Schedules acyclic packages as early as their dependencies allow. Throws on a cycle (check with findCycle first). */
export function computePlan(nodes: readonly PlanNode[]): Plan {
  const { order, stuck } = topologicalOrder(nodes);
  if (stuck.length) throw new Error("computePlan needs an acyclic graph");
  const finish = new Map<string, number>();
  const start = new Map<string, number>();
  for (const n of order) {
    let es = 0;
    for (const d of n.dependsOn) es = Math.max(es, finish.get(d) ?? 0);
    start.set(n.id, es);
    finish.set(n.id, es + n.hours);
  }
  let totalHours = 0;
  for (const f of finish.values()) totalHours = Math.max(totalHours, f);

  // Backward pass: the latest each package may finish without delaying the whole.
  const latestFinish = new Map<string, number>();
  for (const n of order) latestFinish.set(n.id, totalHours);
  for (let i = order.length - 1; i >= 0; i--) {
    const n = order[i] as PlanNode;
    const ls = (latestFinish.get(n.id) as number) - n.hours;
    for (const d of n.dependsOn) {
      if (latestFinish.has(d)) latestFinish.set(d, Math.min(latestFinish.get(d) as number, ls));
    }
  }

  const schedule = new Map<string, ScheduledPackage>();
  for (const n of order) {
    const es = start.get(n.id) as number;
    const slack = (latestFinish.get(n.id) as number) - n.hours - es;
    schedule.set(n.id, {
      earliestStartHours: es,
      earliestFinishHours: es + n.hours,
      slackHours: Math.max(0, slack),
      critical: slack < EPSILON,
    });
  }

  // One longest chain: from a critical package that finishes last, back through critical predecessors.
  // The first by label of the candidates, in one pass (a sort of thousands of ties would cost more than the plan).
  const firstByLabel = (candidates: Iterable<PlanNode>): PlanNode | undefined => {
    let first: PlanNode | undefined;
    for (const n of candidates) if (!first || labels.compare(n.label, first.label) < 0) first = n;
    return first;
  };
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const backwards: string[] = [];
  let cursor = firstByLabel(
    order.filter((n) => schedule.get(n.id)?.critical && Math.abs((finish.get(n.id) as number) - totalHours) < EPSILON),
  );
  while (cursor) {
    backwards.push(cursor.id);
    const es = start.get(cursor.id) as number;
    cursor = firstByLabel(
      cursor.dependsOn
        .map((d) => byId.get(d))
        .filter(
          (p): p is PlanNode =>
            !!p && !!schedule.get(p.id)?.critical && Math.abs((finish.get(p.id) as number) - es) < EPSILON,
        ),
    );
  }
  return { totalHours, criticalPath: backwards.reverse(), schedule };
}

/** A contract's plan in the API's shape: packages by id and WBS id. */
export interface ContractPlan {
  totalHours: number;
  criticalPath: { id: string; wbsId: string }[];
  packages: {
    id: string;
    wbsId: string;
    earliestStartHours: number;
    earliestFinishHours: number;
    slackHours: number;
    critical: boolean;
  }[];
}

/** The plan of a dependency graph, in the API's shape. */
export function planOf(nodes: Map<string, PlanNode>): ContractPlan {
  const plan = computePlan([...nodes.values()]);
  const label = (id: string) => nodes.get(id)?.label ?? id;
  return {
    totalHours: plan.totalHours,
    criticalPath: plan.criticalPath.map((id) => ({ id, wbsId: label(id) })),
    packages: [...plan.schedule].map(([id, s]) => ({ id, wbsId: label(id), ...s })),
  };
}
