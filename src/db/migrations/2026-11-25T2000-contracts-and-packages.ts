// Contracts, their leads, the WBS groupings and the work packages with their dependencies.
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("contract")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("tenant_id", "text", (c) => c.notNull().references("tenant.id"))
    .addColumn("client", "text", (c) => c.notNull())
    .addColumn("title", "text", (c) => c.notNull())
    .addColumn("type", "text", (c) => c.notNull())
    .addColumn("confidentiality", "text", (c) => c.notNull())
    .addColumn("budget_yen", "bigint")
    .addColumn("period_start", "text", (c) => c.notNull())
    .addColumn("period_end", "text", (c) => c.notNull())
    // 準委任 only: the monthly band and the rates above and below it.
    .addColumn("monthly_fee_yen", "bigint")
    .addColumn("band_min_hours", "double precision")
    .addColumn("band_max_hours", "double precision")
    .addColumn("over_rate_yen", "bigint")
    .addColumn("under_rate_yen", "bigint")
    .addColumn("source_repository", "text")
    .addColumn("max_package_hours", "double precision", (c) => c.notNull())
    .addColumn("created_by", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("contract_tenant").on("contract").column("tenant_id").execute();

  await db.schema
    .createTable("contract_lead")
    .addColumn("contract_id", "text", (c) => c.notNull().references("contract.id").onDelete("cascade"))
    .addColumn("user_id", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("contract_lead_pk", ["contract_id", "user_id"])
    .execute();
  await db.schema.createIndex("contract_lead_user").on("contract_lead").column("user_id").execute();

  await db.schema
    .createTable("wbs_group")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("contract_id", "text", (c) => c.notNull().references("contract.id").onDelete("cascade"))
    .addColumn("wbs_id", "text", (c) => c.notNull())
    .addColumn("title", "text", (c) => c.notNull())
    .addColumn("parent_wbs_id", "text")
    .addUniqueConstraint("wbs_group_wbs_id", ["contract_id", "wbs_id"])
    .execute();

  await db.schema
    .createTable("work_package")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("contract_id", "text", (c) => c.notNull().references("contract.id").onDelete("cascade"))
    .addColumn("tenant_id", "text", (c) => c.notNull())
    .addColumn("wbs_id", "text", (c) => c.notNull())
    .addColumn("title", "text", (c) => c.notNull())
    .addColumn("parent_wbs_id", "text")
    .addColumn("skills", "text", (c) => c.notNull())
    .addColumn("estimate_hours", "double precision", (c) => c.notNull())
    .addColumn("acceptance_criteria", "text", (c) => c.notNull())
    .addColumn("template", "text", (c) => c.notNull())
    .addColumn("state", "text", (c) => c.notNull())
    .addColumn("state_reason", "text")
    .addColumn("source_row", "integer")
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .addUniqueConstraint("work_package_wbs_id", ["contract_id", "wbs_id"])
    .execute();
  await db.schema
    .createIndex("work_package_contract_state")
    .on("work_package")
    .columns(["contract_id", "state"])
    .execute();

  await db.schema
    .createTable("package_dependency")
    .addColumn("package_id", "text", (c) => c.notNull().references("work_package.id").onDelete("cascade"))
    .addColumn("depends_on_id", "text", (c) => c.notNull().references("work_package.id").onDelete("cascade"))
    .addPrimaryKeyConstraint("package_dependency_pk", ["package_id", "depends_on_id"])
    .execute();
  await db.schema.createIndex("package_dependency_on").on("package_dependency").column("depends_on_id").execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ["package_dependency", "work_package", "wbs_group", "contract_lead", "contract"]) {
    await db.schema.dropTable(t).execute();
  }
}
