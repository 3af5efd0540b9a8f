import { randomBytes, randomUUID } from "node:crypto";

/** One call's place in a request tree: the correlation id groups it, W3C trace context links the spans. */
export interface TraceContext {
  correlationId: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  /** The traceparent to send downstream from this span. */
  traceparent: string;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/;
// Only the form Gatehouse itself generates (and the business server forwards downstream): a client-chosen
// id could otherwise equal a subject id (a draft's `dr_…`) and stand in front of its history in
// `gatehouse audit trace`.
const CORRELATION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Keys under which clients (and the business server) pass trace context in a request's `_meta`. */
export const META_CORRELATION_ID = "io.gatehouse/correlation-id";
export const META_TRACEPARENT = "traceparent";
export const META_PROMPT = "io.gatehouse/prompt";

export function newTraceContext(incoming: { traceparent?: unknown; correlationId?: unknown }): TraceContext {
  const spanId = randomBytes(8).toString("hex");
  const m = typeof incoming.traceparent === "string" ? TRACEPARENT.exec(incoming.traceparent) : null;
  const traceId = m?.[1] && !/^0+$/.test(m[1]) ? m[1] : randomBytes(16).toString("hex");
  const parentSpanId = m?.[2];
  const correlationId =
    typeof incoming.correlationId === "string" && CORRELATION_ID.test(incoming.correlationId)
      ? incoming.correlationId.toLowerCase()
      : randomUUID();
  return { correlationId, traceId, spanId, parentSpanId, traceparent: `00-${traceId}-${spanId}-01` };
}

/** The fields of a trace context every audit event carries: the one mapping from a call's trace to the trail. */
export function auditTraceFields(trace: TraceContext): {
  correlationId: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
} {
  return {
    correlationId: trace.correlationId,
    traceId: trace.traceId,
    spanId: trace.spanId,
    parentSpanId: trace.parentSpanId,
  };
}
