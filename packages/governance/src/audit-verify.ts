import type { AuditRecord } from "./audit-event.ts";
import { type AuditLog, GENESIS_HASH, hashRecord } from "./audit-log.ts";

export type VerifyResult =
  | { ok: true; events: number; headSeq: number; headHash: string }
  | {
      ok: false;
      events: number;
      /** The offending row's sequence number as stored: NULL, or not a whole number, for a forged row. */
      seq: number | null;
      id: string;
      problem: string;
    };

/** A sequence number the chain can hold: a whole number from 1 up. */
export function isChainSeq(seq: unknown): seq is number {
  return typeof seq === "number" && Number.isSafeInteger(seq) && seq >= 1;
}

/**
 * Walks the whole chain in sequence order, then reconciles the table with what it walked. An edited
 * event fails its own hash; a deleted event leaves a gap and a broken link; reordered events break the
 * links around them; a row the walk cannot reach (sequence number NULL, 0, negative) is reported as
 * outside the chain, and one it does reach with a fractional or otherwise malformed number as forged.
 * Truncating the newest events is only visible against a head hash recorded elsewhere, which is why the
 * result reports the head.
 */
export async function verifyAuditChain(log: AuditLog): Promise<VerifyResult> {
  let expectedSeq = 1;
  let prevHash = GENESIS_HASH;
  let count = 0;
  let last: AuditRecord | undefined;
  const bad = (rec: AuditRecord, problem: string): VerifyResult => ({
    ok: false,
    events: count,
    seq: rec.seq,
    id: rec.id,
    problem,
  });
  for (;;) {
    const page = await log.after(expectedSeq - 1, 1000);
    if (page.length === 0) break;
    for (const rec of page) {
      if (!isChainSeq(rec.seq))
        return bad(
          rec,
          `forged event ${rec.id}: sequence number ${String(rec.seq)} is not a whole number from 1 up (expected event #${expectedSeq})`,
        );
      if (rec.seq !== expectedSeq)
        return bad(
          rec,
          `sequence gap: expected event #${expectedSeq}, found #${rec.seq} (an event was deleted, or this one inserted out of sequence)`,
        );
      if (rec.prev_hash !== prevHash)
        return bad(
          rec,
          `broken link: event #${rec.seq} does not follow its predecessor (deleted or reordered events)`,
        );
      const { hash, ...rest } = rec;
      if (hashRecord(rest) !== hash)
        return bad(rec, `hash mismatch: event #${rec.seq} was edited after it was written`);
      prevHash = hash;
      expectedSeq++;
      count++;
      last = rec;
    }
  }
  const headSeq = last?.seq ?? 0;

  // Every row must be one the walk verified. Rows appended after the walk (servers keep writing) sit
  // above the head and are left for the next run; everything else is counted.
  const outside = await log.outsideChain(10);
  if (outside.length > 0) {
    const first = outside[0]!;
    const more =
      outside.length > 1 ? ` (and ${outside.length - 1}${outside.length === 10 ? "+" : ""} more)` : "";
    return bad(
      first,
      `forged event ${first.id} outside the chain: sequence number ${String(first.seq)} is not in 1..${headSeq}${more}`,
    );
  }
  const rows = await log.countThrough(headSeq);
  if (rows !== count) {
    return {
      ok: false,
      events: count,
      seq: null,
      id: "",
      problem: `row count mismatch: ${rows} rows at or below head #${headSeq}, but the chain holds ${count} events`,
    };
  }
  return { ok: true, events: count, headSeq, headHash: last?.hash ?? GENESIS_HASH };
}
