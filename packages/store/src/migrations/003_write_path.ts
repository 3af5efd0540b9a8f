import { type Kysely, type Migration, sql } from "kysely";

// The write path's invariants need three more facts in the store (issue: what is sent is what was approved, once):
// - every author of a draft's content (four eyes over creator *and* editors);
// - a strict order of decisions per subject, so a decision is final and a replayed request cannot re-decide;
// - which attempt of a send owns it, and until when that attempt's request could still land at Jira.
// Idempotent like 001/002: two processes may migrate one fresh SQLite file at once.

const ALREADY = /duplicate column|already exists/i;

async function addColumn(db: Kysely<unknown>, table: string, column: string, type: "text" | "integer") {
  try {
    await db.schema.alterTable(table).addColumn(column, type).execute();
  } catch (err) {
    if (!ALREADY.test(String((err as Error).message))) throw err;
  }
}

export const writePath: Migration = {
  async up(db: Kysely<unknown>) {
    // JSON array of everyone who wrote the current content (creator first).
    await addColumn(db, "ticket_drafts", "authors", "text");
    await sql`update ticket_drafts set authors = case when created_by = updated_by
      then '["' || created_by || '"]' else '["' || created_by || '","' || updated_by || '"]' end
      where authors is null`.execute(db);

    // Decisions on one subject are numbered 1, 2, 3…; the unique index lets only one decision follow another.
    await addColumn(db, "approvals", "seq", "integer");
    const unnumbered = await sql<{ id: string; subject_type: string; subject_id: string }>`
      select id, subject_type, subject_id from approvals where seq is null order by created_at, id`.execute(
      db,
    );
    const next = new Map<string, number>();
    for (const r of unnumbered.rows) {
      const key = `${r.subject_type}\u0000${r.subject_id}`;
      if (!next.has(key)) {
        const max = await sql<{ m: number | null }>`select max(seq) as m from approvals
          where subject_type = ${r.subject_type} and subject_id = ${r.subject_id}`.execute(db);
        next.set(key, Number(max.rows[0]?.m ?? 0));
      }
      const seq = next.get(key)! + 1;
      next.set(key, seq);
      await sql`update approvals set seq = ${seq} where id = ${r.id} and seq is null`.execute(db);
    }
    await db.schema
      .createIndex("approvals_subject_seq")
      .ifNotExists()
      .unique()
      .on("approvals")
      .columns(["subject_type", "subject_id", "seq"])
      .execute();

    // The attempt that owns a send, and what the last attempt ended with (for the caller and the operator).
    await addColumn(db, "ticket_sends", "attempt_id", "text");
    await addColumn(db, "ticket_sends", "last_error", "text");
  },
  async down() {
    throw new Error("003_write_path cannot be undone: it only adds columns and an index");
  },
};
