// Data that several test files share.
import type { Actor } from "../../src/kernel/actor.ts";

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
