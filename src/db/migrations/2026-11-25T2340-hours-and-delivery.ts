// Hours (time entries, weekly timesheets, 準委任 settlement adjustments), 請負 deliveries, in-app
// notifications and signed webhooks, and the lock that keeps two instances from running one job twice.
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  // Contract terms the hours and the order document need; no rounding and the 60-day limit by default.
  await db.schema
    .alterTable("contract")
    .addColumn("hours_rounding", "text", (c) => c.notNull().defaultTo("none"))
    .execute();
  await db.schema.alterTable("contract").addColumn("payment_terms_days", "integer").execute();
  await db.schema.alterTable("contract").addColumn("hourly_rate_yen", "bigint").execute();

  await db.schema
    .createTable("time_entry")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("engineer_id", "text", (c) => c.notNull())
    .addColumn("package_id", "text", (c) => c.notNull().references("work_package.id").onDelete("cascade"))
    .addColumn("contract_id", "text", (c) => c.notNull())
    .addColumn("tenant_id", "text", (c) => c.notNull())
    // As the engineer gave them: the instants, the zone and the text they sent. Never rewritten.
    .addColumn("start_at", "text")
    .addColumn("end_at", "text")
    .addColumn("time_zone", "text", (c) => c.notNull())
    .addColumn("start_given", "text")
    .addColumn("end_given", "text")
    .addColumn("work_date", "text") // a duration entry's Tokyo date
    .addColumn("raw_minutes", "double precision", (c) => c.notNull())
    // Beside the raw figure: the contract's rounding applied per Tokyo day, and which rule that was.
    .addColumn("rounded_minutes", "double precision", (c) => c.notNull())
    .addColumn("rounding_rule", "text", (c) => c.notNull())
    .addColumn("note", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("created_at", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("time_entry_engineer").on("time_entry").columns(["engineer_id", "start_at"]).execute();
  await db.schema.createIndex("time_entry_contract").on("time_entry").columns(["contract_id"]).execute();

  await db.schema
    .createTable("timesheet")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("engineer_id", "text", (c) => c.notNull())
    .addColumn("contract_id", "text", (c) => c.notNull().references("contract.id").onDelete("cascade"))
    .addColumn("tenant_id", "text", (c) => c.notNull())
    .addColumn("week_start", "text", (c) => c.notNull()) // a Monday, Asia/Tokyo
    .addColumn("state", "text", (c) => c.notNull()) // draft, submitted, approved, rejected
    .addColumn("reason", "text")
    .addColumn("submitted_at", "text")
    .addColumn("decided_at", "text")
    .addColumn("decided_by", "text")
    .addColumn("updated_at", "text", (c) => c.notNull())
    .addUniqueConstraint("timesheet_engineer_contract_week", ["engineer_id", "contract_id", "week_start"])
    .execute();

  await db.schema
    .createTable("settlement_adjustment")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("contract_id", "text", (c) => c.notNull().references("contract.id").onDelete("cascade"))
    .addColumn("engineer_id", "text", (c) => c.notNull())
    .addColumn("month", "text", (c) => c.notNull()) // YYYY-MM
    .addColumn("amount_yen", "bigint", (c) => c.notNull())
    .addColumn("reason", "text", (c) => c.notNull())
    .addColumn("created_by", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("settlement_adjustment_month")
    .on("settlement_adjustment")
    .columns(["contract_id", "month"])
    .execute();

  await db.schema
    .createTable("delivery")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("package_id", "text", (c) => c.notNull().references("work_package.id").onDelete("cascade"))
    .addColumn("contract_id", "text", (c) => c.notNull())
    .addColumn("tenant_id", "text", (c) => c.notNull())
    .addColumn("engineer_id", "text", (c) => c.notNull())
    .addColumn("note", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("delivered_at", "text", (c) => c.notNull())
    .addColumn("payment_due_on", "text", (c) => c.notNull())
    .addColumn("decision", "text") // accepted, rejected; null while awaiting inspection
    .addColumn("reasons", "text") // JSON array, for a rejection
    .addColumn("decided_at", "text")
    .addColumn("decided_by", "text")
    .execute();
  await db.schema.createIndex("delivery_package").on("delivery").columns(["package_id", "delivered_at"]).execute();

  await db.schema
    .createTable("job_lock")
    .addColumn("name", "text", (c) => c.primaryKey())
    .addColumn("owner", "text", (c) => c.notNull())
    .addColumn("expires_at", "text", (c) => c.notNull())
    .addColumn("slot", "text", (c) => c.notNull()) // the minute of the run that took it
    .execute();

  await db.schema
    .createTable("notification")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("user_id", "text", (c) => c.notNull())
    .addColumn("tenant_id", "text")
    .addColumn("kind", "text", (c) => c.notNull())
    .addColumn("title", "text", (c) => c.notNull())
    .addColumn("body", "text", (c) => c.notNull())
    .addColumn("subject", "text", (c) => c.notNull())
    .addColumn("dedupe_key", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("read_at", "text")
    .addUniqueConstraint("notification_user_dedupe", ["user_id", "dedupe_key"])
    .execute();
  await db.schema.createIndex("notification_user").on("notification").columns(["user_id", "created_at"]).execute();

  await db.schema
    .createTable("webhook")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("tenant_id", "text", (c) => c.notNull())
    .addColumn("url", "text", (c) => c.notNull())
    .addColumn("secret", "text", (c) => c.notNull())
    .addColumn("created_by", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("removed_at", "text")
    .execute();
  await db.schema.createIndex("webhook_tenant").on("webhook").columns(["tenant_id"]).execute();
  await db.schema
    .createTable("webhook_delivery")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("webhook_id", "text", (c) => c.notNull().references("webhook.id").onDelete("cascade"))
    .addColumn("tenant_id", "text", (c) => c.notNull())
    .addColumn("event", "text", (c) => c.notNull())
    .addColumn("payload", "text", (c) => c.notNull())
    .addColumn("state", "text", (c) => c.notNull()) // pending, delivered, failed
    .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("next_attempt_at", "text")
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("delivered_at", "text")
    .execute();
  await db.schema
    .createIndex("webhook_delivery_due")
    .on("webhook_delivery")
    .columns(["state", "next_attempt_at"])
    .execute();
  await db.schema
    .createTable("webhook_attempt")
    .addColumn("delivery_id", "text", (c) => c.notNull().references("webhook_delivery.id").onDelete("cascade"))
    .addColumn("attempt", "integer", (c) => c.notNull())
    .addColumn("at", "text", (c) => c.notNull())
    .addColumn("status_code", "integer")
    .addColumn("error", "text")
    .addColumn("duration_ms", "integer", (c) => c.notNull())
    .addPrimaryKeyConstraint("webhook_attempt_pk", ["delivery_id", "attempt"])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of [
    "webhook_attempt",
    "webhook_delivery",
    "webhook",
    "notification",
    "job_lock",
    "delivery",
    "settlement_adjustment",
    "timesheet",
    "time_entry",
  ]) {
    await db.schema.dropTable(t).execute();
  }
  for (const c of ["hourly_rate_yen", "payment_terms_days", "hours_rounding"]) {
    await db.schema.alterTable("contract").dropColumn(c).execute();
  }
}
