// Runs every migration: better-auth's tables first (programmatically), then Azusa's own, in date order.
import { type Migration, type MigrationResultSet, Migrator } from "kysely";
import type { Db } from "./db.ts";
import * as tenantsAndInvitations from "./migrations/2026-11-25T1910-tenants-and-invitations.ts";
import * as auditLog from "./migrations/2026-11-25T1911-audit-log.ts";
import * as contractsAndPackages from "./migrations/2026-11-25T2000-contracts-and-packages.ts";
import * as engineersAndOffers from "./migrations/2026-11-25T2100-engineers-and-offers.ts";
import * as workspaces from "./migrations/2026-11-25T2200-workspaces.ts";
import * as sessionsAndActivity from "./migrations/2026-11-25T2230-sessions-and-activity.ts";
import * as gateway from "./migrations/2026-11-25T2320-gateway.ts";
import * as forge from "./migrations/2026-11-25T2330-forge.ts";
import * as hoursAndDelivery from "./migrations/2026-11-25T2340-hours-and-delivery.ts";
import * as monthClose from "./migrations/2026-11-26T0200-month-close.ts";
import * as workspacePrepared from "./migrations/2026-11-26T0330-workspace-prepared.ts";
import * as offices from "./migrations/2026-11-26T0500-offices.ts";
import * as availability from "./migrations/2026-11-26T0510-availability.ts";
import * as taskBatches from "./migrations/2026-11-26T0600-task-batches.ts";
import * as sessionEvidence from "./migrations/2026-12-07T1200-session-evidence.ts";
import * as auditKey from "./migrations/2026-12-07T1300-audit-key.ts";
import * as signInThrottle from "./migrations/2026-12-07T1400-sign-in-throttle.ts";
import * as workspaceHosts from "./migrations/2026-12-07T1500-workspace-hosts.ts";
import * as taskEntries from "./migrations/2026-12-07T1600-task-entries.ts";
import * as taskDisposal from "./migrations/2026-12-07T1700-task-disposal.ts";
import * as officeGuide from "./migrations/2026-12-07T1800-office-guide.ts";
import * as deliveryPaid from "./migrations/2026-12-07T1900-delivery-paid.ts";
import * as taskVetting from "./migrations/2026-12-07T1910-task-vetting.ts";
import * as taskReclaim from "./migrations/2026-12-07T1920-task-reclaim.ts";
import * as interestRegistrations from "./migrations/2026-12-07T1950-interest-registrations.ts";
import * as mailOutbox from "./migrations/2026-12-07T2000-mail-outbox.ts";
import * as contractOffices from "./migrations/2026-12-07T2100-contract-offices.ts";
import * as contractHostLabels from "./migrations/2026-12-07T2140-contract-host-labels.ts";
import * as hostUnlimitedVolumes from "./migrations/2026-12-07T2230-host-unlimited-volumes.ts";
import * as taskDocuments from "./migrations/2026-12-07T2250-task-documents.ts";
import * as userPreferences from "./migrations/2026-12-07T2300-user-preferences.ts";
import * as taskAdjudicators from "./migrations/2026-12-08T0100-task-adjudicators.ts";
import * as largestPackage from "./migrations/2026-12-08T0130-largest-package.ts";
import * as invitationLanguage from "./migrations/2026-12-08T0200-invitation-language.ts";
import * as taskEntryHeld from "./migrations/2026-12-08T0210-task-entry-held.ts";
import * as settlementTaskLines from "./migrations/2026-12-08T0400-settlement-task-lines.ts";

/** Azusa's migrations, keyed by dated name; the migrator applies them in name order. */
export const migrations: Record<string, Migration> = {
  "2026-11-25T1910-tenants-and-invitations": tenantsAndInvitations,
  "2026-11-25T1911-audit-log": auditLog,
  "2026-11-25T2000-contracts-and-packages": contractsAndPackages,
  "2026-11-25T2100-engineers-and-offers": engineersAndOffers,
  "2026-11-25T2200-workspaces": workspaces,
  "2026-11-25T2230-sessions-and-activity": sessionsAndActivity,
  "2026-11-25T2320-gateway": gateway,
  "2026-11-25T2330-forge": forge,
  "2026-11-25T2340-hours-and-delivery": hoursAndDelivery,
  "2026-11-26T0200-month-close": monthClose,
  "2026-11-26T0330-workspace-prepared": workspacePrepared,
  "2026-11-26T0500-offices": offices,
  "2026-11-26T0510-availability": availability,
  "2026-11-26T0600-task-batches": taskBatches,
  "2026-12-07T1200-session-evidence": sessionEvidence,
  "2026-12-07T1300-audit-key": auditKey,
  "2026-12-07T1400-sign-in-throttle": signInThrottle,
  "2026-12-07T1500-workspace-hosts": workspaceHosts,
  "2026-12-07T1600-task-entries": taskEntries,
  "2026-12-07T1700-task-disposal": taskDisposal,
  "2026-12-07T1800-office-guide": officeGuide,
  "2026-12-07T1900-delivery-paid": deliveryPaid,
  "2026-12-07T1910-task-vetting": taskVetting,
  "2026-12-07T1920-task-reclaim": taskReclaim,
  "2026-12-07T1950-interest-registrations": interestRegistrations,
  "2026-12-07T2000-mail-outbox": mailOutbox,
  "2026-12-07T2100-contract-offices": contractOffices,
  "2026-12-07T2140-contract-host-labels": contractHostLabels,
  "2026-12-07T2230-host-unlimited-volumes": hostUnlimitedVolumes,
  "2026-12-07T2250-task-documents": taskDocuments,
  "2026-12-07T2300-user-preferences": userPreferences,
  "2026-12-08T0100-task-adjudicators": taskAdjudicators,
  "2026-12-08T0130-largest-package": largestPackage,
  "2026-12-08T0200-invitation-language": invitationLanguage,
  "2026-12-08T0210-task-entry-held": taskEntryHeld,
  "2026-12-08T0400-settlement-task-lines": settlementTaskLines,
};

/** The part of the auth module that migrations need: a function that brings its tables up to date. */
export interface AuthSchema {
  migrate(): Promise<void>;
}

/** Brings the database up to date; running it again is a no-op. Returns the names applied now. */
export async function migrate(db: Db, auth: AuthSchema): Promise<string[]> {
  await auth.migrate();
  const migrator = new Migrator({
    db: db.kysely,
    provider: { getMigrations: async () => migrations },
    migrationTableName: "azusa_migration",
    migrationLockTableName: "azusa_migration_lock",
  });
  const result: MigrationResultSet = await migrator.migrateToLatest();
  if (result.error) {
    const failed = result.results?.find((r) => r.status === "Error")?.migrationName ?? "unknown";
    throw new Error(`migration ${failed} failed: ${String(result.error)}`);
  }
  return (result.results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName);
}
