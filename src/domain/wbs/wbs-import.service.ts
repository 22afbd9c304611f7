// Turns a WBS file into a contract's packages: leaves become packages, parents groupings, dependencies
// checked and planned on a worker thread (wbs-prepare.ts); then all written in one transaction, so a refused file
// leaves nothing behind.

import type { Kysely } from "kysely";
import type { Database } from "../../db/schema.ts";
import type { Actor } from "../../kernel/actor.ts";
import { fail, forbidden, notFound } from "../../kernel/errors.ts";
import { stateText, text } from "../../kernel/messages.ts";
import { noPause, type PausePoint } from "../../kernel/pause.ts";
import type { AuditService } from "../audit/audit.service.ts";
import { visibleContracts } from "../contracts/contracts.service.ts";
import { replaceContractPackages } from "../packages/packages.service.ts";
import type { WbsImportResult, WbsUpload } from "./wbs-prepare.ts";
import { createWbsThread, type WbsThread } from "./wbs-thread.ts";

/** Lets the event loop run what is waiting (timers, sockets) before going on. */
const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export function createWbsImportService({
  db,
  audit,
  thread = createWbsThread(),
  pause = noPause,
}: {
  db: Kysely<Database>;
  audit: AuditService;
  thread?: WbsThread;
  /** Test-only: where a test may hold the process to kill it (AZUSA_TEST_PAUSE_AT). */
  pause?: PausePoint;
}) {
  return {
    /**
     * Imports a WBS into a contract. A contract whose packages are all still drafts (or has none) is
     * replaced whole; once a package has opened, the WBS is edited package by package instead.
     */
    async import(actor: Actor, contractId: string, upload: WbsUpload): Promise<WbsImportResult> {
      const contract = await visibleContracts(db, actor)
        .select(["contract.id", "contract.tenant_id", "contract.max_package_hours"])
        .where("contract.id", "=", contractId)
        .executeTakeFirst();
      if (!contract) throw notFound("contract");
      if (actor.kind === "user" && actor.role !== "contractor" && actor.role !== "lead") {
        throw forbidden(text("wbs.whoImports"));
      }
      const { groupRows, packageRows, edges, result } = await thread.prepare(upload, {
        contractId,
        tenantId: contract.tenant_id,
        maxPackageHours: Number(contract.max_package_hours),
        now: new Date().toISOString(),
      });
      await db.transaction().execute(async (trx) => {
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
        // Batches keep each statement under the engines' limits on bound parameters; between them the event loop
        // gets a turn (SQLite runs each statement synchronously), so a large WBS does not hold up other requests.
        for (let i = 0; i < groupRows.length; i += 500) {
          await trx
            .insertInto("wbs_group")
            .values(groupRows.slice(i, i + 500))
            .execute();
          await yieldToLoop();
        }
        // Half written: the worst moment to die, the packages in and their dependencies not.
        await replaceContractPackages(trx, contractId, packageRows, edges, () => pause("wbs.writing"));
        await audit.record(
          actor,
          "wbs.imported",
          `contract:${contractId}`,
          { format: result.format, packages: packageRows.length, groups: groupRows.length, dependencies: edges.length },
          { tenantId: contract.tenant_id, trx },
        );
      });

      return result;
    },

    /** Ends the import thread. */
    close: () => thread.close(),
  };
}

export type WbsImportService = ReturnType<typeof createWbsImportService>;
