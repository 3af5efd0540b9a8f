import { randomUUID } from "node:crypto";
import type { Store } from "@gatehouse/store";
import { sql } from "kysely";
import type { AuditEventInput, AuditRecord } from "./audit-event.ts";
import { canonicalJson, sha256Hex } from "./canonical-json.ts";

/** The predecessor hash of the first event. */
export const GENESIS_HASH = "0".repeat(64);

/** The hash covers every field but itself, chained to the predecessor's hash. */
export function hashRecord(record: Omit<AuditRecord, "hash">): string {
  const { prev_hash, ...rest } = record;
  return sha256Hex(`${prev_hash}\n${canonicalJson(rest)}`);
}

const UNIQUE_VIOLATION = /UNIQUE constraint failed|duplicate key value|SQLITE_CONSTRAINT/;

/** Most events one append statement writes (bounded so the SQL text, and its cached statement, stay few). */
const MAX_GROUP = 32;

type Row = Omit<AuditRecord, "seq" | "prev_hash" | "hash">;

interface Pending {
  row: Row;
  resolve(record: AuditRecord): void;
  reject(err: unknown): void;
}

/**
 * Append-only, hash-chained audit log. Appends are serialised within a process; between processes
 * (several servers on one SQLite file, or replicas on PostgreSQL) the unique sequence number makes a
 * racing append fail and retry on the new head, so the chain never forks.
 *
 * Group commit: while one write is in flight, the events appended meanwhile queue up and go together in
 * the next write, one multi-row INSERT (atomic on its own), chained in arrival order. Each caller's promise
 * settles only once the write holding its event has committed, so "recorded before anything runs" holds
 * per call; a lone caller is written at once, never held back to wait for company.
 */
export class AuditLog {
  private readonly queue: Pending[] = [];
  private writing = false;
  /** The chain head this process last saw; re-read from the store only when another writer moved it. */
  private head: { seq: number; hash: string } | undefined;

  private readonly store: Store;

  constructor(store: Store) {
    this.store = store;
  }

  append(event: AuditEventInput): Promise<AuditRecord> {
    let row: Row;
    try {
      row = toRow(event);
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<AuditRecord>((resolve, reject) => {
      this.queue.push({ row, resolve, reject });
      if (!this.writing) void this.drain();
    });
  }

  /** Writes queued events, a group at a time, until none are left. */
  private async drain(): Promise<void> {
    this.writing = true;
    try {
      while (this.queue.length > 0) {
        const group = this.queue.splice(0, MAX_GROUP);
        try {
          const records = await this.write(group.map((p) => p.row));
          for (const [i, p] of group.entries()) p.resolve(records[i]!);
        } catch (err) {
          if (group.length === 1) {
            group[0]!.reject(err);
            continue;
          }
          // One event's failure must not fail the others that happened to share its write: each alone.
          for (const p of group) {
            try {
              p.resolve((await this.write([p.row]))[0]!);
            } catch (e) {
              p.reject(e);
            }
          }
        }
      }
    } finally {
      this.writing = false;
    }
  }

  /** Chains `rows` onto the head and inserts them in one statement, retrying on a head another process moved. */
  private async write(rows: Row[]): Promise<AuditRecord[]> {
    for (let attempt = 0; attempt < 200; attempt++) {
      const head = this.head ?? (await this.readHead());
      let seq = head?.seq ?? 0;
      let prev = head?.hash ?? GENESIS_HASH;
      const records = rows.map((row): AuditRecord => {
        const withoutHash = { ...row, seq: ++seq, prev_hash: prev };
        prev = hashRecord(withoutHash);
        return { ...withoutHash, hash: prev };
      });
      try {
        await this.store.db.insertInto("audit_events").values(records).execute();
        const last = records[records.length - 1]!;
        this.head = { seq: last.seq, hash: last.hash };
        return records;
      } catch (err) {
        this.head = undefined;
        if (!UNIQUE_VIOLATION.test(String((err as Error)?.message))) throw err;
        await new Promise((r) => setTimeout(r, Math.random() * 5 * Math.min(attempt + 1, 10)));
      }
    }
    throw new Error("audit append gave up after 200 contended attempts");
  }

  private async readHead(): Promise<{ seq: number; hash: string } | undefined> {
    return this.store.db
      .selectFrom("audit_events")
      .select(["seq", "hash"])
      .orderBy("seq", "desc")
      .limit(1)
      .executeTakeFirst();
  }

  /** Every event of one request tree, in order. */
  async byCorrelation(correlationId: string): Promise<AuditRecord[]> {
    return this.store.db
      .selectFrom("audit_events")
      .selectAll()
      .where("correlation_id", "=", correlationId)
      .orderBy("seq")
      .execute();
  }

  /** Every event that names a subject (e.g. a ticket draft) across requests: drafted, approved, sent. */
  async bySubject(subjectId: string): Promise<AuditRecord[]> {
    const like = `%${subjectId.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    return (
      this.store.db
        .selectFrom("audit_events")
        .selectAll()
        // An explicit ESCAPE: SQLite has no default LIKE escape character, PostgreSQL's is the backslash.
        .where((eb) =>
          eb.or([
            sql<boolean>`${eb.ref("args")} like ${like} escape '\\'`,
            sql<boolean>`${eb.ref("detail")} like ${like} escape '\\'`,
          ]),
        )
        .orderBy("seq")
        .execute()
    );
  }

  async latest(limit: number): Promise<AuditRecord[]> {
    const rows = await this.store.db
      .selectFrom("audit_events")
      .selectAll()
      .orderBy("seq", "desc")
      .limit(limit)
      .execute();
    return rows.reverse();
  }

  /**
   * Rows no chain walk reaches: a sequence number that is NULL or below 1. The schema refuses them
   * (migration 004), so any found here were forged by someone who could also change the schema.
   */
  async outsideChain(limit = 10): Promise<AuditRecord[]> {
    return this.store.db
      .selectFrom("audit_events")
      .selectAll()
      .where((eb) => eb.or([eb("seq", "is", null), eb("seq", "<", 1)]))
      .orderBy("seq")
      .limit(limit)
      .execute();
  }

  /** How many rows sit at or below `seq`, counting rows without a sequence number. */
  async countThrough(seq: number): Promise<number> {
    const row = await this.store.db
      .selectFrom("audit_events")
      .select((eb) => eb.fn.countAll().as("n"))
      .where((eb) => eb.or([eb("seq", "is", null), eb("seq", "<=", seq)]))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async after(seq: number, limit = 1000): Promise<AuditRecord[]> {
    return this.store.db
      .selectFrom("audit_events")
      .selectAll()
      .where("seq", ">", seq)
      .orderBy("seq")
      .limit(limit)
      .execute();
  }
}

function toRow(e: AuditEventInput): Row {
  const id = e.identity;
  return {
    id: randomUUID(),
    ts: new Date().toISOString(),
    type: e.type,
    server: e.server,
    tool: e.tool ?? null,
    user_id: id?.user ?? null,
    roles: canonicalJson(id?.roles ?? []),
    tenant: id?.tenant ?? null,
    client_id: id?.client ?? null,
    env: id?.env ?? e.env ?? "unknown",
    token_id: id?.tokenId ?? null,
    args: e.args === undefined ? null : canonicalJson(e.args),
    args_fingerprint: e.argsFingerprint ?? null,
    prompt: e.prompt ?? null,
    decision: e.decision ?? null,
    policy_ids: canonicalJson(e.policyIds ?? []),
    approval_id: e.approvalId ?? null,
    outcome: e.outcome ?? null,
    detail: canonicalJson(e.detail ?? {}),
    latency_ms: e.latencyMs ?? null,
    correlation_id: e.correlationId,
    trace_id: e.traceId,
    span_id: e.spanId,
    parent_span_id: e.parentSpanId ?? null,
  };
}
