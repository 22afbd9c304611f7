// Writes a prepared WBS import in one transaction: refused while a package of the contract has opened or been
// offered, else the contract's groupings and packages replaced whole and the import audited, so that a refused or
// interrupted import leaves nothing behind. Runs on the event loop's connection (PostgreSQL) or on the import
// thread's own connection (an SQLite file: see wbs-thread.ts).

import type { Transaction } from "kysely";
import type { Database } from "../../db/schema.ts";
import type { Actor } from "../../kernel/actor.ts";
import { fail } from "../../kernel/errors.ts";
import { stateText, text } from "../../kernel/messages.ts";
import type { AuditService } from "../audit/audit.service.ts";
import { replaceContractPackages } from "../packages/packages.service.ts";
import type { PreparedWbsImport } from "./wbs-prepare.ts";

/** Lets the event loop run what is waiting (timers, sockets) before going on. */
const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Who imports into which contract. */
export interface WbsWriteTarget {
  actor: Actor;
  contractId: string;
  tenantId: string;
}

export async function writeWbsImport(
  trx: Transaction<Database>,
  audit: AuditService,
  { actor, contractId, tenantId }: WbsWriteTarget,
  {
    groupRows,
    packageRows,
    edges,
    result,
  }: Pick<PreparedWbsImport, "groupRows" | "packageRows" | "edges"> & {
    result: Pick<PreparedWbsImport["result"], "format">;
  },
  /** Runs with the packages written and their dependencies not: the worst moment to die (a fault test's pause). */
  between: () => Promise<void>,
): Promise<void> {
  const live = await trx
    .selectFrom("work_package")
    .select(["wbs_id", "state"])
    .where("contract_id", "=", contractId)
    .where("state", "not in", ["draft", "cancelled"])
    .executeTakeFirst();
  if (live) {
    throw fail("INVALID_STATE", text("wbs.packageLive", { wbsId: live.wbs_id, state: stateText(live.state) }), {
      current: live.state,
    });
  }
  // Offers and assignments are evidence of who worked on what: a WBS that has had any stays.
  const offered = await trx
    .selectFrom("offer")
    .innerJoin("work_package", "work_package.id", "offer.package_id")
    .select("work_package.wbs_id")
    .where("work_package.contract_id", "=", contractId)
    .executeTakeFirst();
  if (offered) {
    throw fail("INVALID_STATE", text("wbs.packageOffered", { wbsId: offered.wbs_id }), { current: "offered" });
  }
  await trx.deleteFrom("wbs_group").where("contract_id", "=", contractId).execute();
  // Batches keep each statement under the engines' limits on bound parameters; between them the event loop gets a
  // turn (SQLite runs each statement synchronously), so a large WBS does not hold up other requests.
  for (let i = 0; i < groupRows.length; i += 500) {
    await trx
      .insertInto("wbs_group")
      .values(groupRows.slice(i, i + 500))
      .execute();
    await yieldToLoop();
  }
  await replaceContractPackages(trx, contractId, packageRows, edges, between);
  await audit.record(
    actor,
    "wbs.imported",
    `contract:${contractId}`,
    { format: result.format, packages: packageRows.length, groups: groupRows.length, dependencies: edges.length },
    { tenantId, trx },
  );
}
