import { type Counter, type Histogram, metrics } from "@opentelemetry/api";
import { SCOPE } from "./attributes.ts";

/** Seconds, from half a millisecond (an audit append) to the longest a caller waits. */
const SECONDS_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export interface Instruments {
  /** Every governed call, by server, tool and outcome (completed, denied, failed). */
  calls: Counter;
  /** Denied calls by the stage that refused them (kill_switch, rate_limit, policy, record_policy, approval). */
  denials: Counter;
  callDuration: Histogram;
  /** Each request to HubSpot/Jira, first tries and retries alike. */
  upstreamAttempts: Counter;
  upstreamRetries: Counter;
  /** Calls refused by the rate limiter, per tenant. */
  rateLimitRefusals: Counter;
  auditAppendDuration: Histogram;
}

function create(): Instruments {
  const meter = metrics.getMeter(SCOPE);
  const seconds = { unit: "s", advice: { explicitBucketBoundaries: SECONDS_BUCKETS } };
  return {
    calls: meter.createCounter("gatehouse.calls", { description: "Governed tool calls", unit: "{call}" }),
    denials: meter.createCounter("gatehouse.denials", {
      description: "Tool calls denied, by the pipeline stage that denied them",
      unit: "{call}",
    }),
    callDuration: meter.createHistogram("gatehouse.call.duration", {
      description: "Time through the governed pipeline, intent audit to outcome audit",
      ...seconds,
    }),
    upstreamAttempts: meter.createCounter("gatehouse.upstream.attempts", {
      description: "Requests to upstream systems, first attempts and retries",
      unit: "{attempt}",
    }),
    upstreamRetries: meter.createCounter("gatehouse.upstream.retries", {
      description: "Upstream attempts that were retries of an earlier one",
      unit: "{attempt}",
    }),
    rateLimitRefusals: meter.createCounter("gatehouse.rate_limit.refusals", {
      description: "Tool calls refused by the rate limiter",
      unit: "{call}",
    }),
    auditAppendDuration: meter.createHistogram("gatehouse.audit.append.duration", {
      description: "Time to append one event to the audit chain (including group commit)",
      ...seconds,
    }),
  };
}

// The metrics API has no proxy provider (unlike tracing): instruments made before the SDK registers stay
// no-ops forever, so they are made on first use and remade once setup has registered a provider.
let current: Instruments | undefined;

export function instruments(): Instruments {
  current ??= create();
  return current;
}

/** Called by setup after a MeterProvider is registered. */
export function resetInstruments(): void {
  current = undefined;
}
