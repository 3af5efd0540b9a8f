import type { AuditRecord } from "./audit-event.ts";
import { type AuditLog, GENESIS_HASH, hashRecord } from "./audit-log.ts";

export type VerifyResult =
  | { ok: true; events: number; headSeq: number; headHash: string }
  | { ok: false; events: number; seq: number; id: string; problem: string };

/**
 * Walks the whole chain in sequence order. An edited event fails its own hash; a deleted event leaves a
 * gap and a broken link; reordered events break the links around them. Truncating the newest events is
 * only visible against a head hash recorded elsewhere, which is why the result reports the head.
 */
export async function verifyAuditChain(log: AuditLog): Promise<VerifyResult> {
  let expectedSeq = 1;
  let prevHash = GENESIS_HASH;
  let count = 0;
  let last: AuditRecord | undefined;
  for (;;) {
    const page = await log.after(expectedSeq - 1, 1000);
    if (page.length === 0) break;
    for (const rec of page) {
      const bad = (problem: string): VerifyResult => ({
        ok: false,
        events: count,
        seq: rec.seq,
        id: rec.id,
        problem,
      });
      if (rec.seq !== expectedSeq)
        return bad(`sequence gap: expected event #${expectedSeq}, found #${rec.seq} (an event was deleted)`);
      if (rec.prev_hash !== prevHash)
        return bad(
          `broken link: event #${rec.seq} does not follow its predecessor (deleted or reordered events)`,
        );
      const { hash, ...rest } = rec;
      if (hashRecord(rest) !== hash)
        return bad(`hash mismatch: event #${rec.seq} was edited after it was written`);
      prevHash = hash;
      expectedSeq++;
      count++;
      last = rec;
    }
  }
  return { ok: true, events: count, headSeq: last?.seq ?? 0, headHash: last?.hash ?? GENESIS_HASH };
}
