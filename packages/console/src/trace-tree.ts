import type { AuditRecord } from "@gatehouse/governance";

/** One span of a request (one server's handling of one call) with its events and children. */
export interface TraceNode {
  spanId: string;
  server: string;
  tool: string | null;
  events: AuditRecord[];
  /** Milliseconds from the trace's first event to this span's first. */
  startMs: number;
  /** The latency the span's outcome event recorded, else first to last event. */
  durationMs: number;
  children: TraceNode[];
}

/**
 * A correlation id's events as a tree of spans across servers, from the audit events alone: an event's
 * parent_span_id names the span of the call that caused it (business → crm-read, order-lookup, …), as
 * `gatehouse audit trace` prints it.
 */
export function traceTree(events: AuditRecord[]): TraceNode[] {
  const sorted = [...events].sort((a, b) => a.seq - b.seq);
  const t0 = sorted.length ? Date.parse(sorted[0]!.ts) : 0;
  const bySpan = new Map<string, AuditRecord[]>();
  for (const e of sorted) bySpan.set(e.span_id, [...(bySpan.get(e.span_id) ?? []), e]);
  const nodes = new Map<string, TraceNode>();
  for (const [spanId, list] of bySpan) {
    const first = Date.parse(list[0]!.ts);
    const last = Date.parse(list[list.length - 1]!.ts);
    const recorded = list.find((e) => e.latency_ms !== null)?.latency_ms;
    nodes.set(spanId, {
      spanId,
      server: list[0]!.server,
      tool: list[0]!.tool,
      events: list,
      startMs: first - t0,
      durationMs: Math.round(recorded ?? last - first),
      children: [],
    });
  }
  const roots: TraceNode[] = [];
  for (const node of nodes.values()) {
    const parent = node.events[0]!.parent_span_id;
    const p = parent ? nodes.get(parent) : undefined;
    if (p && p !== node) p.children.push(node);
    else roots.push(node);
  }
  return roots;
}
