import type { AuditEventsTable } from "@gatehouse/store";
import type { Identity } from "./identity.ts";

/** Audit event types are past-tense facts. */
export type AuditEventType =
  | "tool.requested"
  | "tool.completed"
  | "tool.failed"
  | "tool.denied"
  | "auth.rejected"
  | "killswitch.changed"
  | "access.revoked"
  | "access.listed"
  | "approval.granted"
  | "approval.rejected"
  | "approval.refused"
  | "console.signed_in"
  | "console.signed_out"
  | "console.refused"
  | "console.chain_verified";

/** What a caller of the audit log supplies; sequence, time and hashes are assigned on append. */
export interface AuditEventInput {
  type: AuditEventType;
  server: string;
  tool?: string;
  identity?: Identity;
  /** Only for events without a verified identity (e.g. a rejected token). */
  env?: string;
  args?: unknown;
  argsFingerprint?: string;
  prompt?: string;
  decision?: "allow" | "deny";
  policyIds?: string[];
  approvalId?: string;
  outcome?: string;
  detail?: Record<string, unknown>;
  latencyMs?: number;
  correlationId: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
}

/** One stored event, exactly as its hash covers it (JSON-valued fields are canonical JSON text). */
export type AuditRecord = AuditEventsTable;
