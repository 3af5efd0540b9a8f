import type { ToolErrorCode } from "./tool-error.ts";

/** The pipeline stage a call ended at ("done" when it completed). */
export type Stage =
  | "identity"
  | "input"
  | "kill_switch"
  | "rate_limit"
  | "policy"
  | "approval"
  | "record_policy"
  | "handler"
  | "egress"
  | "done";

/**
 * How a governed call ended, as data: every result carries it in `_meta["io.gatehouse/outcome"]`, so a
 * client (business, an agent runtime, a console) tells a refusal from a failure without reading English.
 */
export interface CallOutcome {
  status: "completed" | "denied" | "failed";
  stage: Stage;
  decision?: "allow" | "deny";
  /** The Cedar policies behind the decision. */
  policyIds?: string[];
  /** Rate-limit refusals: when to try again. */
  retryAfterSeconds?: number;
  /** A handler's deliberate failure, by kind (e.g. `not_found`), or `revoked` at the identity stage. */
  code?: OutcomeCode;
  /** Identity-stage refusals: what was revoked (the person, the client or this token). */
  revoked?: "subject" | "client" | "token";
}

/** Why a call ended, for machines: a handler's ToolError code, or a revocation. */
export type OutcomeCode = ToolErrorCode | "revoked";

export const META_OUTCOME = "io.gatehouse/outcome";

const STATUSES = new Set(["completed", "denied", "failed"]);

/** The outcome a Gatehouse server put in a tool result's `_meta`, if it is one. */
export function outcomeOf(result: { _meta?: Record<string, unknown> | undefined }): CallOutcome | undefined {
  const o = result._meta?.[META_OUTCOME] as Partial<CallOutcome> | undefined;
  if (!o || typeof o !== "object" || !STATUSES.has(o.status as string) || typeof o.stage !== "string")
    return undefined;
  return o as CallOutcome;
}
