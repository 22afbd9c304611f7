// Data that several test files share.
import type { Actor } from "../../src/kernel/actor.ts";
import type { Client } from "./harness.ts";
import { SAMPLE_WBS_ROWS, utf8Csv } from "./wbs-files.ts";

/** A 請負 contract as a prime contractor would enter it. */
export const sampleContract = {
  client: "株式会社信州銀行",
  title: "販売管理システム刷新",
  type: "ukeoi",
  confidentiality: "confidential",
  budgetYen: 24_000_000,
  periodStart: "2027-01-04",
  periodEnd: "2027-06-30",
};

/** A contractor of `tenantId` as services see one, for benchmarks that call services without HTTP. */
export function benchContractor(tenantId: string): Actor {
  return { kind: "user", userId: "bench", email: "bench@example.com", role: "contractor", tenantId, via: "session" };
}

/**
 * The sample contract, led by `leadId`, with the sample WBS imported: its id and its packages by WBS id, as the
 * lead lists them.
 */
export async function sampleContractWithWbs(
  contractor: Client,
  lead: Client,
  leadId: string,
): Promise<{ contractId: string; packages: Record<string, { id: string; state: string }> }> {
  const contractId = (
    await (await contractor.post("/api/v1/contracts", { ...sampleContract, leadIds: [leadId] })).json()
  ).id as string;
  await contractor.request("POST", `/api/v1/contracts/${contractId}/wbs`, utf8Csv(SAMPLE_WBS_ROWS), {
    "content-type": "text/csv",
  });
  const items = (await (await lead.get(`/api/v1/contracts/${contractId}/packages`)).json()).items;
  return { contractId, packages: Object.fromEntries(items.map((p: { wbsId: string }) => [p.wbsId, p])) };
}
