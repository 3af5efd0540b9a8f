import type { AuditLog } from "@gatehouse/governance";

export interface ToolResult {
  isError?: boolean;
  content?: Array<{ type: string; text?: string }>;
  structuredContent?: Record<string, unknown>;
  _meta?: Record<string, unknown>;
}

export function textOf(result: unknown): string {
  return ((result as ToolResult).content ?? []).map((c) => c.text ?? "").join("\n");
}

/** The outcome event the pipeline wrote for a call, found through the audit id it returned. */
export async function outcomeEvent(audit: AuditLog, result: unknown) {
  const id = (result as ToolResult)._meta?.["io.gatehouse/audit-event"];
  const events = await audit.latest(500);
  const event = events.find((e) => e.id === id);
  if (!event) throw new Error(`no audit event ${String(id)} for this call`);
  return {
    ...event,
    detail: JSON.parse(event.detail) as Record<string, unknown>,
    policy_ids: JSON.parse(event.policy_ids) as string[],
  };
}
