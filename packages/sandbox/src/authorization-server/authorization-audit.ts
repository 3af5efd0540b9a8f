import { randomBytes, randomUUID } from "node:crypto";

/** The audit server name of the sandbox authorization server's own events. */
export const AUTHORIZATION_SERVER = "authorization-server";

/**
 * One refusal at the authorization server, shaped as the audit log's input (`AuditLog.append` takes it),
 * so the sandbox needs no dependency on governance. Never carries a token, assertion or secret.
 */
export interface AuthorizationAuditEvent {
  type: "auth.rejected";
  server: typeof AUTHORIZATION_SERVER;
  env: "http";
  outcome: string;
  detail: Record<string, unknown>;
  correlationId: string;
  traceId: string;
  spanId: string;
}

/** Where the authorization server writes its refusals (e.g. the store's audit log). */
export type AuthorizationAudit = (event: AuthorizationAuditEvent) => Promise<unknown>;

/** An `auth.rejected` event for one refused request: its OAuth error code and why, in words. */
export function refusalEvent(
  error: string,
  detail: { reason: string; [key: string]: unknown },
): AuthorizationAuditEvent {
  return {
    type: "auth.rejected",
    server: AUTHORIZATION_SERVER,
    env: "http",
    outcome: error,
    detail,
    correlationId: randomUUID(),
    traceId: randomBytes(16).toString("hex"),
    spanId: randomBytes(8).toString("hex"),
  };
}
