import type { Kysely } from "kysely";
import type { Migration } from "kysely/migration";

// Ticket drafts, approvals and sends. Idempotent DDL, portable types, as in 001.
export const ticketsAndApprovals: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable("ticket_drafts")
      .ifNotExists()
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("tenant", "text", (c) => c.notNull())
      .addColumn("project", "text", (c) => c.notNull())
      .addColumn("issue_type", "text", (c) => c.notNull())
      .addColumn("summary", "text", (c) => c.notNull())
      .addColumn("description", "text", (c) => c.notNull())
      .addColumn("priority", "text")
      .addColumn("labels", "text", (c) => c.notNull())
      .addColumn("customer_id", "text")
      .addColumn("order_id", "text")
      .addColumn("comment_on", "text")
      .addColumn("content_hash", "text", (c) => c.notNull())
      .addColumn("version", "integer", (c) => c.notNull())
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("created_by", "text", (c) => c.notNull())
      .addColumn("updated_by", "text", (c) => c.notNull())
      .addColumn("created_at", "text", (c) => c.notNull())
      .addColumn("updated_at", "text", (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex("ticket_drafts_tenant")
      .ifNotExists()
      .on("ticket_drafts")
      .columns(["tenant", "updated_at"])
      .execute();

    await db.schema
      .createTable("approvals")
      .ifNotExists()
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("subject_type", "text", (c) => c.notNull())
      .addColumn("subject_id", "text", (c) => c.notNull())
      .addColumn("content_hash", "text", (c) => c.notNull())
      .addColumn("tenant", "text", (c) => c.notNull())
      .addColumn("decision", "text", (c) => c.notNull())
      .addColumn("approver", "text", (c) => c.notNull())
      .addColumn("reason", "text")
      .addColumn("created_at", "text", (c) => c.notNull())
      .addColumn("expires_at", "text", (c) => c.notNull())
      .addColumn("used_at", "text")
      .addColumn("used_by", "text")
      .execute();
    await db.schema
      .createIndex("approvals_subject")
      .ifNotExists()
      .on("approvals")
      .columns(["subject_type", "subject_id"])
      .execute();

    // At most one send per draft: the primary key is what makes a send exactly-once across retries,
    // concurrent callers and replicas.
    await db.schema
      .createTable("ticket_sends")
      .ifNotExists()
      .addColumn("draft_id", "text", (c) => c.primaryKey())
      .addColumn("approval_id", "text", (c) => c.notNull())
      .addColumn("content_hash", "text", (c) => c.notNull())
      .addColumn("sender", "text", (c) => c.notNull())
      .addColumn("state", "text", (c) => c.notNull())
      .addColumn("jira_key", "text")
      .addColumn("attempts", "integer", (c) => c.notNull())
      .addColumn("lease_until", "text", (c) => c.notNull())
      .addColumn("started_at", "text", (c) => c.notNull())
      .addColumn("updated_at", "text", (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable("ticket_sends").execute();
    await db.schema.dropTable("approvals").execute();
    await db.schema.dropTable("ticket_drafts").execute();
  },
};
