import { type AuditRecord, isChainSeq, verifyAuditChain } from "@gatehouse/governance";
import { type CliContext, err, out, withStore } from "../context.ts";
import { UsageError } from "../servers.ts";

/** `gatehouse audit verify`: exit 1 naming the first bad event. */
export async function auditVerify(ctx: CliContext): Promise<number> {
  return withStore(ctx, async ({ audit }) => {
    const result = await verifyAuditChain(audit);
    if (result.ok) {
      out(`audit chain intact: ${result.events} events, head #${result.headSeq} ${result.headHash}`);
      return 0;
    }
    const where =
      result.seq === null && !result.id
        ? "audit chain BROKEN"
        : `audit chain BROKEN at event #${String(result.seq)} (${result.id})`;
    err(`${where}: ${result.problem}`);
    err(`${result.events} events before it verified`);
    return 1;
  });
}

function line(e: AuditRecord): string {
  const who = e.user_id ? `${e.user_id}@${e.tenant}${e.env === "local" ? " (local)" : ""}` : "(no identity)";
  const parts = [
    // A row the chain cannot hold (forged past the schema): never shown as if it were part of it.
    isChainSeq(e.seq) ? `#${e.seq}` : `#${String(e.seq)} [OUTSIDE THE AUDIT CHAIN]`,
    e.ts,
    e.type.padEnd(14),
    e.server,
    e.tool ?? "-",
    who,
    e.outcome ?? e.decision ?? "",
  ];
  if (e.latency_ms !== null) parts.push(`${e.latency_ms}ms`);
  return parts.join("  ");
}

/** `gatehouse audit tail [-n 20] [--follow]` */
export async function auditTail(
  ctx: CliContext,
  opts: { lines?: string; follow?: boolean },
): Promise<number> {
  const n = opts.lines ? Number(opts.lines) : 20;
  if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new UsageError("-n must be between 1 and 10000");
  return withStore(ctx, async ({ audit }) => {
    let events = await audit.latest(n);
    for (const e of events) out(line(e));
    if (!opts.follow) return 0;
    let last = events[events.length - 1]?.seq ?? 0;
    for (;;) {
      await new Promise((r) => setTimeout(r, 500));
      events = await audit.after(last, 500);
      for (const e of events) out(line(e));
      last = events[events.length - 1]?.seq ?? last;
    }
  });
}

/** Ticket draft ids: the subjects `audit trace` follows across requests. */
const SUBJECT_ID = /^dr_[A-Za-z0-9]{12}$/;

/**
 * Rows with a sequence number the chain cannot hold were forged past the schema and are not covered by
 * `audit verify`'s proof: they are left out of the trace and named on stderr.
 */
function splitOutsideChain(events: AuditRecord[]): AuditRecord[] {
  const outside = events.filter((e) => !isChainSeq(e.seq));
  if (outside.length > 0) {
    err(
      `warning: ${outside.length} matching event(s) are outside the audit chain (sequence number not a whole number from 1 up) and are not shown; run gatehouse audit verify:`,
    );
    for (const e of outside) err(`  ${line(e)}  ${e.id}`);
  }
  return events.filter((e) => isChainSeq(e.seq));
}

/**
 * `gatehouse audit trace <correlation-id | draft-id>`: every event of one request, as a tree of spans;
 * for a draft id, every event that carries it as correlation id or names it, so neither can hide the other.
 */
export async function auditTrace(ctx: CliContext, correlationId: string | undefined): Promise<number> {
  if (!correlationId)
    throw new UsageError(
      "audit trace needs a correlation id (shown as io.gatehouse/correlation-id in each tool result's _meta)",
    );
  return withStore(ctx, async ({ audit }) => {
    if (SUBJECT_ID.test(correlationId)) {
      // A draft id: its whole life across requests, drafted → approved → sent.
      const byId = new Map<string, AuditRecord>();
      for (const e of [
        ...(await audit.byCorrelation(correlationId)),
        ...(await audit.bySubject(correlationId)),
      ])
        byId.set(e.id, e);
      const events = splitOutsideChain([...byId.values()]).sort((a, b) => a.seq - b.seq);
      out(`subject ${correlationId}: ${events.length} events`);
      for (const e of events) out(line(e));
      return events.length ? 0 : 1;
    }
    const events = splitOutsideChain(await audit.byCorrelation(correlationId));
    if (events.length === 0) {
      err(`no audit events with correlation id ${correlationId}`);
      return 1;
    }
    out(
      `correlation ${correlationId}, trace ${events[0]!.trace_id}: ${events.length} events on ${new Set(events.map((e) => e.server)).size} server(s)`,
    );
    const spans = new Map<string, AuditRecord[]>();
    for (const e of events) spans.set(e.span_id, [...(spans.get(e.span_id) ?? []), e]);
    const spanIds = new Set(spans.keys());
    const children = new Map<string, string[]>();
    const roots: string[] = [];
    for (const [span, list] of spans) {
      const parent = list[0]!.parent_span_id;
      if (parent && spanIds.has(parent)) children.set(parent, [...(children.get(parent) ?? []), span]);
      else roots.push(span);
    }
    const print = (span: string, depth: number) => {
      for (const e of spans.get(span) ?? []) out(`${"  ".repeat(depth)}${line(e)}`);
      for (const c of children.get(span) ?? []) print(c, depth + 1);
    };
    for (const r of roots) print(r, 0);
    return 0;
  });
}
