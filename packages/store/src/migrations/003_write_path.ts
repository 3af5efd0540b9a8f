import { type Kysely, sql } from "kysely";
import type { Migration } from "kysely/migration";
import { dialectOf } from "./dialect.ts";

// The write path's invariants need three more facts in the store:
// - every author of a draft's content (four eyes over creator *and* editors);
// - a strict order of decisions per subject, so a decision is final and a replayed request cannot re-decide;
// - which attempt of a send owns it, and what the last attempt ended with.
// Idempotent: on SQLite two processes may run it at once (Kysely's SQLite migration lock is a no-op), so
// every step is a single statement whose result does not depend on who runs it first.

async function addColumn(db: Kysely<unknown>, table: string, column: string, type: "text" | "integer") {
  if (dialectOf(db) === "postgres") {
    await sql.raw(`alter table ${table} add column if not exists ${column} ${type}`).execute(db);
    return;
  }
  try {
    await db.schema.alterTable(table).addColumn(column, type).execute();
  } catch (err) {
    if (!/duplicate column/i.test(String((err as Error).message))) throw err;
  }
}

export const writePath: Migration = {
  async up(db: Kysely<unknown>) {
    // JSON array of everyone who wrote the current content (creator first). Earlier editors than the last
    // were not recorded; they are unknown, not trusted.
    await addColumn(db, "ticket_drafts", "authors", "text");
    const drafts = await sql<{ id: string; created_by: string; updated_by: string }>`
      select id, created_by, updated_by from ticket_drafts where authors is null`.execute(db);
    for (const d of drafts.rows) {
      const authors = JSON.stringify([...new Set([d.created_by, d.updated_by])]);
      await sql`update ticket_drafts set authors = ${authors} where id = ${d.id} and authors is null`.execute(
        db,
      );
    }

    // Decisions on one subject are numbered 1, 2, 3… in the order they were made, in one statement.
    await addColumn(db, "approvals", "seq", "integer");
    await sql`update approvals set seq = (
        select count(*) from approvals earlier
        where earlier.subject_type = approvals.subject_type and earlier.subject_id = approvals.subject_id
          and (earlier.created_at < approvals.created_at
               or (earlier.created_at = approvals.created_at and earlier.id <= approvals.id)))
      where seq is null`.execute(db);
    await db.schema
      .createIndex("approvals_subject_seq")
      .ifNotExists()
      .unique()
      .on("approvals")
      .columns(["subject_type", "subject_id", "seq"])
      .execute();
    // Every decision has its place: a NULL would sort first on PostgreSQL and last on SQLite.
    if (dialectOf(db) === "postgres") {
      await sql`alter table approvals alter column seq set not null`.execute(db);
    } else {
      await sql
        .raw(
          `CREATE TRIGGER IF NOT EXISTS approvals_seq_required BEFORE INSERT ON approvals
           FOR EACH ROW WHEN NEW.seq IS NULL
           BEGIN SELECT RAISE(ABORT, 'approvals.seq is required'); END`,
        )
        .execute(db);
    }

    // The attempt that owns a send, and what the last attempt ended with.
    await addColumn(db, "ticket_sends", "attempt_id", "text");
    await addColumn(db, "ticket_sends", "last_error", "text");
  },
  async down() {
    throw new Error("003_write_path cannot be undone: it only adds columns, an index and a trigger");
  },
};
