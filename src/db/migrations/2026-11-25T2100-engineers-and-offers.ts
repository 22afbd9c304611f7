// Engineers' profiles, skills, vetting and SSH keys; offers of packages and the assignments they become.
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("engineer_profile")
    .addColumn("user_id", "text", (c) => c.primaryKey())
    .addColumn("weekly_capacity_hours", "double precision", (c) => c.notNull())
    .addColumn("time_zone", "text", (c) => c.notNull())
    .addColumn("invoice_number", "text")
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("engineer_skill")
    .addColumn("user_id", "text", (c) => c.notNull().references("engineer_profile.user_id").onDelete("cascade"))
    .addColumn("skill", "text", (c) => c.notNull())
    .addColumn("level", "integer", (c) => c.notNull())
    .addPrimaryKeyConstraint("engineer_skill_pk", ["user_id", "skill"])
    .execute();
  await db.schema.createIndex("engineer_skill_skill").on("engineer_skill").columns(["skill", "level"]).execute();

  await db.schema
    .createTable("vetting_record")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("user_id", "text", (c) => c.notNull().references("engineer_profile.user_id").onDelete("cascade"))
    .addColumn("kind", "text", (c) => c.notNull())
    .addColumn("issued_on", "text", (c) => c.notNull())
    .addColumn("expires_on", "text", (c) => c.notNull())
    .addColumn("expired_at", "text") // set by the daily job once expires_on has passed
    .addColumn("recorded_by", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("vetting_record_user").on("vetting_record").columns(["user_id", "kind"]).execute();

  await db.schema
    .createTable("ssh_key")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("user_id", "text", (c) => c.notNull().references("engineer_profile.user_id").onDelete("cascade"))
    .addColumn("type", "text", (c) => c.notNull())
    .addColumn("bits", "integer", (c) => c.notNull())
    .addColumn("fingerprint", "text", (c) => c.notNull().unique())
    .addColumn("comment", "text", (c) => c.notNull())
    .addColumn("public_key", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("ssh_key_user").on("ssh_key").column("user_id").execute();

  await db.schema
    .createTable("offer")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("package_id", "text", (c) => c.notNull().references("work_package.id").onDelete("cascade"))
    .addColumn("engineer_id", "text", (c) => c.notNull())
    .addColumn("offered_by", "text", (c) => c.notNull())
    .addColumn("state", "text", (c) => c.notNull()) // pending, accepted, declined, expired, withdrawn
    .addColumn("reason", "text")
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("expires_at", "text", (c) => c.notNull())
    .addColumn("responded_at", "text")
    .execute();
  await db.schema.createIndex("offer_engineer_state").on("offer").columns(["engineer_id", "state"]).execute();
  await db.schema.createIndex("offer_package").on("offer").column("package_id").execute();
  await db.schema.createIndex("offer_state_expires").on("offer").columns(["state", "expires_at"]).execute();

  await db.schema
    .createTable("assignment")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("package_id", "text", (c) => c.notNull().references("work_package.id").onDelete("cascade"))
    .addColumn("engineer_id", "text", (c) => c.notNull())
    .addColumn("offer_id", "text", (c) => c.notNull())
    .addColumn("weekly_hours", "double precision", (c) => c.notNull())
    .addColumn("started_at", "text", (c) => c.notNull())
    .addColumn("ended_at", "text")
    .addColumn("end_reason", "text")
    .execute();
  await db.schema.createIndex("assignment_engineer").on("assignment").columns(["engineer_id", "ended_at"]).execute();
  await db.schema.createIndex("assignment_package").on("assignment").columns(["package_id", "ended_at"]).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ["assignment", "offer", "ssh_key", "vetting_record", "engineer_skill", "engineer_profile"]) {
    await db.schema.dropTable(t).execute();
  }
}
