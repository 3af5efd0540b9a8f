import { context, SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { ATTR } from "./attributes.ts";
import { tracer } from "./tracer.ts";

export interface ClientSpan {
  /** `outcome` is a closed vocabulary ("ok", "refused", "timeout", …), never a server's own words. */
  end(outcome: string): void;
}

/**
 * A call from one Gatehouse server to another (business → crm-read), as an MCP client span under the
 * calling stage. The remote call span is parented to the caller's call span (the traceparent sent is the
 * call's, as its audit event records), so the audit trail's tree and the trace's agree.
 */
export function startDownstreamSpan(server: string, tool: string, url: string): ClientSpan {
  const u = new URL(url);
  const span = tracer.startSpan(
    `tools/call ${tool}`,
    {
      kind: SpanKind.CLIENT,
      attributes: {
        [ATTR.mcpMethod]: "tools/call",
        [ATTR.toolName]: tool,
        [ATTR.downstreamServer]: server,
        [ATTR.serverAddress]: u.hostname,
        ...(u.port ? { [ATTR.serverPort]: Number(u.port) } : {}),
      },
    },
    context.active(),
  );
  return {
    end(outcome) {
      span.setAttribute(ATTR.downstreamOutcome, outcome);
      if (outcome !== "ok") {
        span.setStatus({ code: SpanStatusCode.ERROR });
        span.setAttribute(ATTR.errorType, outcome);
      }
      span.end();
    },
  };
}
