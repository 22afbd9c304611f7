// Each office's life guide (移住・生活情報): one row per section, Markdown in Japanese and optionally English,
// with the day it was last reviewed so that operators are told when a section has grown old.
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("office_guide_section")
    .addColumn("office_id", "text", (c) => c.notNull().references("office.id"))
    // housing, childcare, medical, transport, coworking, support
    .addColumn("section", "text", (c) => c.notNull())
    .addColumn("body_ja", "text", (c) => c.notNull())
    .addColumn("body_en", "text")
    .addColumn("reviewed_at", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .addColumn("updated_by", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("office_guide_section_pk", ["office_id", "section"])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("office_guide_section").execute();
}
