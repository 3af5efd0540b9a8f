import { randomBytes, randomUUID } from "node:crypto";
import type { AuditEventType, AuditLog, Identity } from "@gatehouse/governance";

/** The server name console events carry in the audit trail. */
export const CONSOLE_SERVER = "console";

/**
 * Every console action is an audit event under the person's identity (or none, for a request that was
 * not signed in), each its own request in the trail.
 */
export function consoleAudit(audit: AuditLog) {
  return (
    type: AuditEventType,
    identity: Identity | undefined,
    fields: {
      tool?: string;
      outcome: string;
      decision?: "allow" | "deny";
      policyIds?: string[];
      detail?: Record<string, unknown>;
    },
  ) =>
    audit.append({
      type,
      server: CONSOLE_SERVER,
      ...(identity ? { identity } : { env: "console" }),
      tool: fields.tool,
      outcome: fields.outcome,
      decision: fields.decision,
      policyIds: fields.policyIds ?? [],
      detail: fields.detail ?? {},
      correlationId: randomUUID(),
      traceId: randomBytes(16).toString("hex"),
      spanId: randomBytes(8).toString("hex"),
    });
}
