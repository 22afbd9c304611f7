// Repositories, pull requests, reviews and line comments; how many approvals a contract needs and whether
// its engineers may clone; a tenant's GitHub settings.
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("repository")
    .addColumn("package_id", "text", (c) => c.primaryKey())
    .addColumn("tenant_id", "text", (c) => c.notNull())
    .addColumn("forge", "text", (c) => c.notNull()) // builtin, github
    .addColumn("name", "text", (c) => c.notNull()) // a path below the data directory, or owner/name on GitHub
    .addColumn("default_branch", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .execute();
  await db.schema
    .createTable("pull_request")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("package_id", "text", (c) => c.notNull())
    .addColumn("tenant_id", "text", (c) => c.notNull())
    .addColumn("number", "integer", (c) => c.notNull())
    .addColumn("workspace_id", "text") // the fork it comes from; null for a GitHub pull request
    .addColumn("author_id", "text")
    .addColumn("title", "text", (c) => c.notNull())
    .addColumn("description", "text", (c) => c.notNull())
    .addColumn("source_branch", "text", (c) => c.notNull())
    .addColumn("target_branch", "text", (c) => c.notNull())
    .addColumn("head_sha", "text", (c) => c.notNull())
    .addColumn("state", "text", (c) => c.notNull()) // open, merged, closed
    .addColumn("merge_sha", "text")
    .addColumn("merged_by", "text")
    .addColumn("merged_at", "text")
    .addColumn("external_id", "text") // GitHub's pull request number
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .addUniqueConstraint("pull_request_number", ["package_id", "number"])
    .execute();
  await db.schema
    .createTable("pull_review")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("pull_request_id", "text", (c) => c.notNull())
    .addColumn("reviewer_id", "text") // null when the reviewer is only known on GitHub
    .addColumn("reviewer_login", "text")
    .addColumn("verdict", "text", (c) => c.notNull()) // approved, changes_requested, commented
    .addColumn("commit_sha", "text", (c) => c.notNull())
    .addColumn("body", "text", (c) => c.notNull())
    .addColumn("dismissed_at", "text")
    .addColumn("dismiss_reason", "text")
    .addColumn("external_id", "text")
    .addColumn("created_at", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("pull_review_pull").on("pull_review").columns(["pull_request_id"]).execute();
  await db.schema
    .createTable("review_comment")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("review_id", "text", (c) => c.notNull())
    .addColumn("path", "text", (c) => c.notNull())
    .addColumn("line", "integer", (c) => c.notNull())
    .addColumn("body", "text", (c) => c.notNull())
    .execute();
  await db.schema
    .createTable("tenant_github")
    .addColumn("tenant_id", "text", (c) => c.primaryKey())
    .addColumn("organization", "text", (c) => c.notNull())
    .addColumn("token", "text", (c) => c.notNull()) // secret: never logged, never returned
    .addColumn("webhook_secret", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .execute();
  await db.schema
    .alterTable("contract")
    .addColumn("required_approvals", "integer", (c) => c.notNull().defaultTo(1))
    .execute();
  await db.schema
    .alterTable("contract")
    .addColumn("engineer_clone_allowed", "integer", (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("contract").dropColumn("engineer_clone_allowed").execute();
  await db.schema.alterTable("contract").dropColumn("required_approvals").execute();
  for (const t of ["tenant_github", "review_comment", "pull_review", "pull_request", "repository"]) {
    await db.schema.dropTable(t).execute();
  }
}
