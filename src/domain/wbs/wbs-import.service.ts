// Turns a WBS file into a contract's packages: leaves become packages, parents groupings, dependencies
// checked and planned on a worker thread (wbs-prepare.ts); then all written in one transaction (wbs-write.ts), so a
// refused file leaves nothing behind: by that thread, on its own connection (a memory database has only one).

import type { Kysely } from "kysely";
import type { Database } from "../../db/schema.ts";
import type { Actor } from "../../kernel/actor.ts";
import { forbidden, notFound } from "../../kernel/errors.ts";
import { text } from "../../kernel/messages.ts";
import { noPause, type PausePoint } from "../../kernel/pause.ts";
import type { AuditService } from "../audit/audit.service.ts";
import { visibleContracts } from "../contracts/contracts.service.ts";
import type { WbsImportResult, WbsUpload } from "./wbs-prepare.ts";
import { createWbsThread, type WbsThread, type WbsThreadWrite } from "./wbs-thread.ts";
import { writeWbsImport } from "./wbs-write.ts";

/** The actor as data the import thread can be sent: what the audit event records of it. */
const plainActor = (actor: Actor): Actor =>
  actor.kind === "user"
    ? {
        kind: "user",
        userId: actor.userId,
        email: actor.email,
        role: actor.role,
        tenantId: actor.tenantId,
        via: actor.via,
      }
    : { kind: "system", name: actor.name };

export function createWbsImportService({
  db,
  audit,
  thread = createWbsThread(),
  pause = noPause,
  writeOnThread,
}: {
  db: Kysely<Database>;
  audit: AuditService;
  thread?: WbsThread;
  /** The database and the audit chain's key: the import thread writes there (see wbs-thread.ts). */
  writeOnThread?: Pick<WbsThreadWrite, "database" | "auditKey"> | undefined;
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
      const target = {
        contractId,
        tenantId: contract.tenant_id,
        maxPackageHours: Number(contract.max_package_hours),
        now: new Date().toISOString(),
      };
      const between = () => pause("wbs.writing");
      if (writeOnThread) {
        const { result } = await thread.prepare(upload, target, {
          ...writeOnThread,
          actor: plainActor(actor),
          // On SQLite, Kysely's one connection is held and runs nothing else until the thread has committed: a
          // statement there would wait synchronously on the thread's write lock, the event loop with it.
          turn:
            writeOnThread.database.dialect === "sqlite"
              ? (write) => db.connection().execute(write)
              : (write) => write(),
          between,
        });
        return result;
      }
      const prepared = await thread.prepare(upload, target);
      await db
        .transaction()
        .execute((trx) =>
          writeWbsImport(trx, audit, { actor, contractId, tenantId: contract.tenant_id }, prepared, between),
        );
      return prepared.result;
    },

    /** Ends the import thread. */
    close: () => thread.close(),
  };
}

export type WbsImportService = ReturnType<typeof createWbsImportService>;
