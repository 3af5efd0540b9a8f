import type { Kysely } from "kysely";
import type { Migration } from "kysely/migration";

// Revocation and who-has-access. Idempotent DDL, portable types, as in 001: several processes may
// migrate the same fresh SQLite file at once.
export const revocationsAndAccess: Migration = {
  async up(db: Kysely<unknown>) {
    // One row per revoked person (subject), client (client_id) or access token (jti). The pipeline reads
    // the whole table on a short cache, so it holds only what is revoked, never a history of calls.
    await db.schema
      .createTable("revocations")
      .ifNotExists()
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("kind", "text", (c) => c.notNull())
      .addColumn("value", "text", (c) => c.notNull())
      .addColumn("reason", "text", (c) => c.notNull())
      .addColumn("revoked_by", "text", (c) => c.notNull())
      .addColumn("revoked_at", "text", (c) => c.notNull())
      .execute();
    // Revoking what is already revoked changes nothing: the first revocation (who, why, when) stands.
    await db.schema
      .createIndex("revocations_kind_value")
      .ifNotExists()
      .unique()
      .on("revocations")
      .columns(["kind", "value"])
      .execute();

    // Who reached which server through which client and token, from where: one row per combination,
    // first and last seen. The pipeline writes a row when it first sees it and refreshes last_seen at most
    // once a minute per process, so the hot path rarely writes.
    await db.schema
      .createTable("access_seen")
      .ifNotExists()
      .addColumn("user_id", "text", (c) => c.notNull())
      .addColumn("client_id", "text", (c) => c.notNull())
      .addColumn("server", "text", (c) => c.notNull())
      .addColumn("transport", "text", (c) => c.notNull())
      .addColumn("env", "text", (c) => c.notNull())
      .addColumn("token_id", "text", (c) => c.notNull())
      .addColumn("tenant", "text", (c) => c.notNull())
      .addColumn("token_expires_at", "text")
      .addColumn("first_seen", "text", (c) => c.notNull())
      .addColumn("last_seen", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("access_seen_pk", [
        "user_id",
        "client_id",
        "server",
        "transport",
        "env",
        "token_id",
      ] as never)
      .execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable("access_seen").ifExists().execute();
    await db.schema.dropTable("revocations").ifExists().execute();
  },
};
