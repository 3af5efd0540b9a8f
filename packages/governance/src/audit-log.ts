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

/**
 * Append-only, hash-chained audit log. Appends are serialised within a process; between processes
 * (several servers on one SQLite file, or replicas on PostgreSQL) the unique sequence number makes a
 * racing append fail and retry on the new head, so the chain never forks.
 */
export class AuditLog {
  private tail: Promise<unknown> = Promise.resolve();
  /** The chain head this process last saw; re-read from the store only when another writer moved it. */
  private head: { seq: number; hash: string } | undefined;

  private readonly store: Store;

  constructor(store: Store) {
    this.store = store;
  }

  append(event: AuditEventInput): Promise<AuditRecord> {
    const next = this.tail.then(() => this.appendNow(event));
    this.tail = next.catch(() => undefined);
    return next;
  }

  private async appendNow(event: AuditEventInput): Promise<AuditRecord> {
    const base = toRow(event);
    for (let attempt = 0; attempt < 200; attempt++) {
      const head = this.head ?? (await this.readHead());
      const withoutHash = { ...base, seq: (head?.seq ?? 0) + 1, prev_hash: head?.hash ?? GENESIS_HASH };
      const record: AuditRecord = { ...withoutHash, hash: hashRecord(withoutHash) };
      try {
        await this.store.db.insertInto("audit_events").values(record).execute();
        this.head = { seq: record.seq, hash: record.hash };
        return record;
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

function toRow(e: AuditEventInput): Omit<AuditRecord, "seq" | "prev_hash" | "hash"> {
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
