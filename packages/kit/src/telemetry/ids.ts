import { randomBytes } from "node:crypto";

/**
 * The SDK's span and trace ids, except for a call span: that one takes the ids the call's TraceContext
 * already has, so an audit event's trace_id/span_id name the exported span exactly (one set of ids, not
 * two to reconcile). Preset ids are consumed by the next span the SDK starts, which happens synchronously
 * inside `withPresetIds`, so no other span can take them.
 */
let preset: { traceId?: string; spanId?: string } | undefined;

export const presetIdGenerator = {
  generateTraceId(): string {
    const id = preset?.traceId;
    if (id && preset) {
      preset.traceId = undefined;
      return id;
    }
    return randomBytes(16).toString("hex");
  },
  generateSpanId(): string {
    const id = preset?.spanId;
    if (id && preset) {
      preset.spanId = undefined;
      return id;
    }
    return randomBytes(8).toString("hex");
  },
};

export function withPresetIds<T>(ids: { traceId: string; spanId: string }, start: () => T): T {
  preset = { ...ids };
  try {
    return start();
  } finally {
    preset = undefined;
  }
}
