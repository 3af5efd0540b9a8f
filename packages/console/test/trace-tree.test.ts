import type { AuditRecord } from "@gatehouse/governance";
import { describe, expect, it } from "vitest";
import { traceTree } from "../src/trace-tree.ts";

let seq = 0;
const event = (server: string, span: string, parent: string | null, ts: string, latency: number | null) =>
  ({
    seq: ++seq,
    id: `e${seq}`,
    ts,
    type: latency === null ? "tool.requested" : "tool.completed",
    server,
    tool: "t",
    span_id: span,
    parent_span_id: parent,
    latency_ms: latency,
  }) as unknown as AuditRecord;

describe("a correlation id's audit events as a tree of spans", () => {
  it("nests each downstream call under the span that made it, with offsets and durations", () => {
    const roots = traceTree([
      event("business", "b", null, "2026-12-01T10:00:00.000Z", null),
      event("crm-read", "c", "b", "2026-12-01T10:00:00.010Z", null),
      event("crm-read", "c", "b", "2026-12-01T10:00:00.030Z", 20.4),
      event("order-lookup", "o", "b", "2026-12-01T10:00:00.012Z", null),
      event("order-lookup", "o", "b", "2026-12-01T10:00:00.040Z", 28),
      event("business", "b", null, "2026-12-01T10:00:00.050Z", 50),
    ]);
    expect(roots).toHaveLength(1);
    expect(roots[0]).toMatchObject({ server: "business", startMs: 0, durationMs: 50 });
    expect(roots[0]!.children.map((c) => [c.server, c.startMs, c.durationMs])).toEqual([
      ["crm-read", 10, 20],
      ["order-lookup", 12, 28],
    ]);
  });

  it("keeps a span whose parent is not in the trail as a root of its own", () => {
    const roots = traceTree([event("crm-read", "x", "missing", "2026-12-01T10:00:00.000Z", 5)]);
    expect(roots.map((r) => r.server)).toEqual(["crm-read"]);
  });
});
