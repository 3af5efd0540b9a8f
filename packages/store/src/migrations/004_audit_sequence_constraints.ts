import { type Kysely, sql } from "kysely";
import type { Migration } from "kysely/migration";
import { dialectOf } from "./dialect.ts";

// An audit event's sequence number is a whole number from 1 up: the chain walk starts at 1, so a row
// numbered NULL, 0, below 0 or between two integers would sit beside the chain unverified.
// Idempotent DDL, as in 001: two processes may migrate the same fresh SQLite file at once.
// Existing rows are not rechecked (PostgreSQL: NOT VALID): a store that already holds a forged row must
// still open, so that `gatehouse audit verify` can name it.

const REFUSAL = "audit_events.seq must be a whole number from 1 up";
const BAD_SEQ = "NEW.seq IS NULL OR typeof(NEW.seq) <> 'integer' OR NEW.seq < 1";

export const auditSequenceConstraints: Migration = {
  async up(db: Kysely<unknown>) {
    if (dialectOf(db) === "sqlite") {
      // SQLite cannot add a CHECK to an existing table, and accepts NULL in a non-INTEGER primary key.
      await sql
        .raw(
          `CREATE TRIGGER IF NOT EXISTS audit_events_seq_insert BEFORE INSERT ON audit_events
           FOR EACH ROW WHEN ${BAD_SEQ}
           BEGIN SELECT RAISE(ABORT, '${REFUSAL}'); END`,
        )
        .execute(db);
      await sql
        .raw(
          `CREATE TRIGGER IF NOT EXISTS audit_events_seq_update BEFORE UPDATE OF seq ON audit_events
           FOR EACH ROW WHEN ${BAD_SEQ}
           BEGIN SELECT RAISE(ABORT, '${REFUSAL}'); END`,
        )
        .execute(db);
      return;
    }
    // PostgreSQL: bigint already rules out fractions; the primary key already implies NOT NULL (stated
    // here so that it holds even if the key is ever changed). Kysely runs PostgreSQL migrations in one
    // transaction under an advisory lock; drop-then-add keeps a rerun harmless anyway.
    await sql`ALTER TABLE audit_events ALTER COLUMN seq SET NOT NULL`.execute(db);
    await sql`ALTER TABLE audit_events DROP CONSTRAINT IF EXISTS audit_events_seq_positive`.execute(db);
    await sql`ALTER TABLE audit_events ADD CONSTRAINT audit_events_seq_positive CHECK (seq >= 1) NOT VALID`.execute(
      db,
    );
  },
  async down(db: Kysely<unknown>) {
    if (dialectOf(db) === "sqlite") {
      await sql`DROP TRIGGER IF EXISTS audit_events_seq_update`.execute(db);
      await sql`DROP TRIGGER IF EXISTS audit_events_seq_insert`.execute(db);
      return;
    }
    await sql`ALTER TABLE audit_events DROP CONSTRAINT IF EXISTS audit_events_seq_positive`.execute(db);
  },
};
