/** Gatehouse's own tables. JSON columns are stored as text so both dialects read them the same way. */
export interface AuditEventsTable {
  seq: number;
  id: string;
  ts: string;
  type: string;
  server: string;
  tool: string | null;
  user_id: string | null;
  roles: string;
  tenant: string | null;
  client_id: string | null;
  env: string;
  token_id: string | null;
  args: string | null;
  args_fingerprint: string | null;
  prompt: string | null;
  decision: string | null;
  policy_ids: string;
  approval_id: string | null;
  outcome: string | null;
  detail: string;
  latency_ms: number | null;
  correlation_id: string;
  trace_id: string;
  span_id: string;
  parent_span_id: string | null;
  prev_hash: string;
  hash: string;
}

export interface KillSwitchesTable {
  tool: string;
  enabled: number;
  reason: string | null;
  updated_by: string;
  updated_at: string;
}

export interface GatehouseTables {
  audit_events: AuditEventsTable;
  kill_switches: KillSwitchesTable;
}
