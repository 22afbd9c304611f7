// A task batch as the task tests start from: the prime contractor's sample contract with one batch on it, its
// items imported from CSV, and its keyers named.
import { expect } from "vitest";
import { sampleContract } from "./fixtures.ts";
import type { Client, TestAzusa } from "./harness.ts";

/**
 * The people around a task batch, each signed in: the buyer and a lead of 東京システムインテグレーション, a buyer of
 * another tenant (大阪データサービス), and the engineers named (`name@north.example`); the lead's and engineers' ids.
 */
export async function taskPeople<E extends string>(
  t: TestAzusa,
  engineers: readonly E[],
): Promise<{ as: Record<"contractor" | "lead" | "otherContractor" | E, Client>; ids: Record<"lead" | E, string> }> {
  const tenant = await t.createTenant("東京システムインテグレーション");
  const other = await t.createTenant("大阪データサービス");
  await t.createUser("contractor", "buyer@tokyo-si.example", tenant.id);
  const ids = { lead: (await t.createUser("lead", "lead@tokyo-si.example", tenant.id)).id } as Record<
    "lead" | E,
    string
  >;
  await t.createUser("contractor", "buyer@osaka-ds.example", other.id);
  const as = {
    contractor: await t.signIn("buyer@tokyo-si.example"),
    lead: await t.signIn("lead@tokyo-si.example"),
    otherContractor: await t.signIn("buyer@osaka-ds.example"),
  } as Record<"contractor" | "lead" | "otherContractor" | E, Client>;
  for (const name of engineers) {
    ids[name] = (await t.createUser("engineer", `${name}@north.example`)).id;
    as[name] = await t.signIn(`${name}@north.example`);
  }
  return { as, ids };
}

/** The sample contract of `contractor`'s, led by `leadIds`, with `batch` created on it (201): both ids and the batch. */
export async function contractWithBatch(
  contractor: Client,
  batch: Record<string, unknown>,
  leadIds: string[] = [],
): Promise<{ contractId: string; batchId: string; created: Record<string, unknown> & { id: string } }> {
  const contract = await contractor.post("/api/v1/contracts", { ...sampleContract, leadIds });
  expect(contract.status).toBe(201);
  const contractId = (await contract.json()).id as string;
  const res = await contractor.post(`/api/v1/contracts/${contractId}/task-batches`, batch);
  expect(res.status).toBe(201);
  const created = await res.json();
  return { contractId, batchId: created.id, created };
}

/** Imports the rows of `csv` as the batch's items (201): each item's id by its number. */
export async function importItems(contractor: Client, batchId: string, csv: string): Promise<Record<number, string>> {
  expect((await contractor.post(`/api/v1/task-batches/${batchId}/items`, { csv })).status).toBe(201);
  const items = (await (await contractor.get(`/api/v1/task-batches/${batchId}/items`)).json()).items;
  return Object.fromEntries(items.map((i: { seq: number; id: string }) => [i.seq, i.id]));
}

/** Makes each engineer a keyer of the batch (201 each). */
export async function addKeyers(contractor: Client, batchId: string, engineerIds: string[]): Promise<void> {
  for (const engineerId of engineerIds) {
    expect((await contractor.post(`/api/v1/task-batches/${batchId}/keyers`, { engineerId })).status).toBe(201);
  }
}

/** A batch of dependants' declarations (扶養控除等申告書): a name, an individual number and an amount to key. */
export const dependantsBatch = {
  title: "扶養控除等申告書の確認",
  retentionUntil: "2027-12-31",
  fields: [
    { name: "氏名", type: "text", required: true },
    { name: "個人番号", type: "individual_number", required: true },
    { name: "金額", type: "yen" },
  ],
};
