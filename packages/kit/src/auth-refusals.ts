import { type AuthError, type Identity, RefusalRecorder } from "@gatehouse/governance";
import type { Logger } from "pino";
import type { Governance } from "./governance-context.ts";
import { auditTraceFields, type TraceContext } from "./trace-context.ts";

/** One refused request or call, as the transport that refused it saw it. */
export interface AuthRefusal {
  err: AuthError;
  /** Where it came from: the remote address over HTTP, `stdio` for a local session. */
  source: string;
  /** The transport, audited as the event's env when the caller is unknown. */
  transport: "http" | "stdio";
  trace: TraceContext;
  /** Known when the token was valid but not enough (a scope refusal). */
  identity?: Identity;
  tool?: string;
  userAgent?: string;
}

/**
 * The one place an authentication or authorization refusal becomes an audit event, for HTTP and stdio
 * alike. One client cannot grow the trail without bound: per source and kind, the first few of each
 * interval are written at once and the rest counted into one event.
 */
export class AuthRefusals {
  private readonly recorder: RefusalRecorder;
  private readonly server: string;
  private readonly log: Logger;

  constructor(opts: { server: string; gov: Governance; log: Logger; intervalMs?: number }) {
    this.server = opts.server;
    this.log = opts.log;
    this.recorder = new RefusalRecorder({
      append: (event) => opts.gov.audit.append(event),
      server: opts.server,
      intervalMs: opts.intervalMs ?? 60_000,
      onError: (err) => opts.log.error({ err }, "could not audit refused requests"),
    });
  }

  /** Records a refusal; never throws (the caller is refusing anyway, and says so to the client). */
  async record(r: AuthRefusal): Promise<void> {
    const { err, identity } = r;
    try {
      await this.recorder.record({
        source: r.source,
        kind: err.code,
        reason: err.description,
        event: {
          type: "auth.rejected",
          server: this.server,
          ...(r.tool ? { tool: r.tool } : {}),
          identity,
          env: identity?.env ?? r.transport,
          outcome: err.code,
          detail: {
            reason: err.description,
            status: err.status,
            ...(err.requiredScope ? { requiredScope: err.requiredScope } : {}),
            source: r.source,
            ...(r.userAgent !== undefined ? { userAgent: r.userAgent.slice(0, 200) } : {}),
          },
          ...auditTraceFields(r.trace),
        },
      });
    } catch (auditErr) {
      this.log.error({ err: auditErr }, "could not audit a refused request");
    }
  }

  /** Writes the counts held back this interval; call before the store closes. */
  close(): Promise<void> {
    return this.recorder.close();
  }
}
