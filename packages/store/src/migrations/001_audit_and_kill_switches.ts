import type { Kysely } from "kysely";
import type { Migration } from "kysely/migration";

// Idempotent DDL: two processes migrating a fresh SQLite file at once must both succeed.
// Portable types only (text, bigint, integer, double precision): the same migration runs on SQLite and PostgreSQL.
export const auditAndKillSwitches: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable("audit_events")
      .ifNotExists()
      .addColumn("seq", "bigint", (c) => c.primaryKey())
      .addColumn("id", "text", (c) => c.notNull().unique())
      .addColumn("ts", "text", (c) => c.notNull())
      .addColumn("type", "text", (c) => c.notNull())
      .addColumn("server", "text", (c) => c.notNull())
      .addColumn("tool", "text")
      .addColumn("user_id", "text")
      .addColumn("roles", "text", (c) => c.notNull())
      .addColumn("tenant", "text")
      .addColumn("client_id", "text")
      .addColumn("env", "text", (c) => c.notNull())
      .addColumn("token_id", "text")
      .addColumn("args", "text")
      .addColumn("args_fingerprint", "text")
      .addColumn("prompt", "text")
      .addColumn("decision", "text")
      .addColumn("policy_ids", "text", (c) => c.notNull())
      .addColumn("approval_id", "text")
      .addColumn("outcome", "text")
      .addColumn("detail", "text", (c) => c.notNull())
      .addColumn("latency_ms", "double precision")
      .addColumn("correlation_id", "text", (c) => c.notNull())
      .addColumn("trace_id", "text", (c) => c.notNull())
      .addColumn("span_id", "text", (c) => c.notNull())
      .addColumn("parent_span_id", "text")
      .addColumn("prev_hash", "text", (c) => c.notNull())
      .addColumn("hash", "text", (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex("audit_events_correlation")
      .ifNotExists()
      .on("audit_events")
      .column("correlation_id")
      .execute();
    await db.schema
      .createIndex("audit_events_trace")
      .ifNotExists()
      .on("audit_events")
      .column("trace_id")
      .execute();

    await db.schema
      .createTable("kill_switches")
      .ifNotExists()
      .addColumn("tool", "text", (c) => c.primaryKey())
      .addColumn("enabled", "integer", (c) => c.notNull())
      .addColumn("reason", "text")
      .addColumn("updated_by", "text", (c) => c.notNull())
      .addColumn("updated_at", "text", (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable("kill_switches").execute();
    await db.schema.dropTable("audit_events").execute();
  },
};
