import {
  type Attributes,
  type Context,
  context,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  trace,
} from "@opentelemetry/api";
import { ATTR, SCOPE } from "./attributes.ts";
import { withPresetIds } from "./ids.ts";
import { instruments } from "./metrics.ts";

/** A ProxyTracer: a no-op until an SDK registers a provider, then that provider's tracer. */
export const tracer = trace.getTracer(SCOPE);

/** The ids of the call as the kit's TraceContext holds them (and every audit event records them). */
export interface CallIds {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
}

export interface CallFacts {
  server: string;
  tool: string;
  kind: string;
  /** The caller's tenant; the person is not named (their id is personal data, and the audit trail has it). */
  tenant: string;
  ids: CallIds;
}

export interface CallEnd {
  status: "completed" | "denied" | "failed";
  stage: string;
  decision?: string;
}

/** The kind of error, never its message (messages can quote arguments). */
export function errorType(err: unknown): string {
  return err instanceof Error ? err.constructor.name || "Error" : typeof err;
}

/** Runs `fn` in `span`'s context and ends the span when `fn` settles; a throw marks it as an error. */
export function endWhenSettled<T>(span: Span, ctx: Context, fn: () => T): T {
  const failed = (err: unknown) => {
    span.setStatus({ code: SpanStatusCode.ERROR });
    span.setAttribute(ATTR.errorType, errorType(err));
    span.end();
  };
  let result: T;
  try {
    result = context.with(trace.setSpan(ctx, span), fn);
  } catch (err) {
    failed(err);
    throw err;
  }
  if (result instanceof Promise) {
    return result.then(
      (v) => {
        span.end();
        return v;
      },
      (err: unknown) => {
        failed(err);
        throw err;
      },
    ) as T;
  }
  span.end();
  return result;
}

/**
 * One governed call's telemetry: the `gatehouse.call` span (a child of the caller's traceparent, with the
 * call's own trace and span ids so the audit trail and the trace join), a child span per pipeline stage,
 * and the call metrics. With no SDK registered the span does not record, and stages run bare.
 */
export class CallTelemetry {
  private readonly span: Span;
  private readonly ctx: Context;
  private readonly recording: boolean;
  private readonly facts: CallFacts;
  private readonly started = performance.now();

  constructor(facts: CallFacts) {
    this.facts = facts;
    const { traceId, spanId, parentSpanId } = facts.ids;
    const parent = parentSpanId
      ? trace.setSpanContext(ROOT_CONTEXT, {
          traceId,
          spanId: parentSpanId,
          traceFlags: TraceFlags.SAMPLED,
          isRemote: true,
        })
      : ROOT_CONTEXT;
    this.span = withPresetIds({ traceId, spanId }, () =>
      tracer.startSpan(
        "gatehouse.call",
        {
          kind: SpanKind.SERVER,
          attributes: {
            [ATTR.server]: facts.server,
            [ATTR.tool]: facts.tool,
            [ATTR.toolKind]: facts.kind,
            [ATTR.tenant]: facts.tenant,
            [ATTR.mcpMethod]: "tools/call",
            [ATTR.toolName]: facts.tool,
          },
        },
        parent,
      ),
    );
    this.recording = this.span.isRecording();
    this.ctx = trace.setSpan(parent, this.span);
  }

  /** `fn` as the pipeline stage `name`: a child span, active while it runs (upstream spans nest in it). */
  stage<T>(name: string, fn: () => T): T {
    if (!this.recording) return fn();
    const span = tracer.startSpan(
      `gatehouse.stage.${name}`,
      { attributes: { [ATTR.stage]: name } },
      this.ctx,
    );
    return endWhenSettled(span, this.ctx, fn);
  }

  /** An audit append, as a stage and in the append-duration histogram. */
  async audit<T>(append: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await this.stage("audit", append);
    } finally {
      instruments().auditAppendDuration.record((performance.now() - t0) / 1000, {
        [ATTR.server]: this.facts.server,
      });
    }
  }

  /** The call's outcome: on the span, and counted. */
  end(outcome: CallEnd): void {
    const { server, tool, tenant } = this.facts;
    const attrs: Attributes = { [ATTR.server]: server, [ATTR.tool]: tool, [ATTR.outcome]: outcome.status };
    const m = instruments();
    m.calls.add(1, attrs);
    m.callDuration.record((performance.now() - this.started) / 1000, attrs);
    if (outcome.status === "denied") {
      m.denials.add(1, { [ATTR.server]: server, [ATTR.tool]: tool, [ATTR.stage]: outcome.stage });
      if (outcome.stage === "rate_limit")
        m.rateLimitRefusals.add(1, { [ATTR.server]: server, [ATTR.tool]: tool, [ATTR.tenant]: tenant });
    }
    if (!this.recording) return;
    this.span.setAttributes({
      [ATTR.outcome]: outcome.status,
      [ATTR.stage]: outcome.stage,
      ...(outcome.decision ? { [ATTR.decision]: outcome.decision } : {}),
    });
    // A denial is the gate working, not an error; a failure is.
    if (outcome.status === "failed") {
      this.span.setStatus({ code: SpanStatusCode.ERROR });
      this.span.setAttribute(ATTR.errorType, `failed_at_${outcome.stage}`);
    }
    this.span.end();
  }

  /** The pipeline itself threw (the intent could not be recorded): counted as a failure. */
  fail(err: unknown): void {
    const { server, tool } = this.facts;
    const attrs: Attributes = { [ATTR.server]: server, [ATTR.tool]: tool, [ATTR.outcome]: "failed" };
    instruments().calls.add(1, attrs);
    instruments().callDuration.record((performance.now() - this.started) / 1000, attrs);
    if (!this.recording) return;
    this.span.setAttribute(ATTR.outcome, "failed");
    this.span.setAttribute(ATTR.errorType, errorType(err));
    this.span.setStatus({ code: SpanStatusCode.ERROR });
    this.span.end();
  }
}
