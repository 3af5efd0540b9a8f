import {
  type Attributes,
  type Context,
  context,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import { ATTR } from "./attributes.ts";
import { instruments } from "./metrics.ts";
import { tracer } from "./tracer.ts";

/** What an attempt came to: an HTTP status, or "timeout" / "network". */
export type AttemptOutcome = number | string;

function describe(span: Span, outcome: AttemptOutcome): void {
  if (typeof outcome === "number") {
    span.setAttribute(ATTR.httpStatus, outcome);
    if (outcome >= 400) {
      span.setAttribute(ATTR.errorType, String(outcome));
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
  } else {
    span.setAttribute(ATTR.errorType, outcome);
    span.setStatus({ code: SpanStatusCode.ERROR });
  }
}

/**
 * One upstream call (HubSpot, Jira) as a client span, with a child span per HTTP attempt so retries, their
 * statuses and the backoff between them are visible; attempts and retries are counted per system.
 */
export class UpstreamTelemetry {
  private readonly span: Span;
  private readonly ctx: Context;
  private readonly attrs: Attributes;

  constructor(system: string, operation: string, address: string | undefined) {
    this.attrs = {
      [ATTR.upstreamSystem]: system,
      [ATTR.upstreamOperation]: operation,
      ...(address ? { [ATTR.serverAddress]: address } : {}),
    };
    this.span = tracer.startSpan(`${system} ${operation}`, {
      kind: SpanKind.INTERNAL,
      attributes: this.attrs,
    });
    this.ctx = trace.setSpan(context.active(), this.span);
  }

  /** Attempt `n` (1-based) has started; call the result when it has settled. */
  attempt(n: number): (outcome: AttemptOutcome) => void {
    const retry = n > 1;
    const m = instruments();
    m.upstreamAttempts.add(1, { ...this.attrs, [ATTR.upstreamRetry]: retry });
    if (retry) m.upstreamRetries.add(1, this.attrs);
    const span = tracer.startSpan(
      `${this.attrs[ATTR.upstreamSystem]} attempt`,
      {
        kind: SpanKind.CLIENT,
        attributes: { ...this.attrs, [ATTR.upstreamAttempt]: n, [ATTR.upstreamRetry]: retry },
      },
      this.ctx,
    );
    return (outcome) => {
      describe(span, outcome);
      span.end();
    };
  }

  end(last: AttemptOutcome | undefined, attempts: number): void {
    this.span.setAttribute(ATTR.upstreamAttempts, attempts);
    if (last !== undefined) describe(this.span, last);
    this.span.end();
  }
}
