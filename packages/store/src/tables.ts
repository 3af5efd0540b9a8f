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

export interface TicketDraftsTable {
  id: string;
  tenant: string;
  project: string;
  issue_type: string;
  summary: string;
  description: string;
  priority: string | null;
  /** JSON array of strings. */
  labels: string;
  customer_id: string | null;
  order_id: string | null;
  /** An existing Jira issue key: the draft becomes a comment on it instead of a new issue. */
  comment_on: string | null;
  content_hash: string;
  version: number;
  /** draft (editable) | sending (frozen: a send claimed it) | sent (final) */
  status: string;
  /** JSON array of everyone who wrote the current content, creator first: none of them may approve it. */
  authors: string;
  created_by: string;
  updated_by: string;
  created_at: string;
  updated_at: string;
}

export interface ApprovalsTable {
  id: string;
  subject_type: string;
  subject_id: string;
  /** SHA-256 of exactly the content the approver saw. */
  content_hash: string;
  tenant: string;
  /** approved | rejected */
  decision: string;
  approver: string;
  reason: string | null;
  created_at: string;
  expires_at: string;
  used_at: string | null;
  used_by: string | null;
  /** This decision's place among the decisions on its subject (1, 2, …); the latest one is in force. */
  seq: number;
}

export interface TicketSendsTable {
  draft_id: string;
  approval_id: string;
  content_hash: string;
  sender: string;
  /**
   * pending (an attempt owns the send until lease_until) | unknown (an attempt ended without knowing whether
   * Jira filed it; reconciled once lease_until has passed) | failed (known not filed) | sent
   */
  state: string;
  jira_key: string | null;
  attempts: number;
  /**
   * Until when the current attempt owns the send, or the last attempt's request could still land at Jira:
   * before it nobody files or reconciles; after it a retry reconciles (searches Jira) before it files.
   */
  lease_until: string;
  /** The attempt that owns the send; every state change is conditioned on it. */
  attempt_id: string | null;
  /** What the last failed attempt was told, for a retry's message. */
  last_error: string | null;
  started_at: string;
  updated_at: string;
}

/** A revoked person, client or access token: every server refuses its calls within seconds. */
export interface RevocationsTable {
  id: string;
  /** subject (a person) | client (a client_id) | token (an access token's jti) */
  kind: string;
  value: string;
  reason: string;
  revoked_by: string;
  revoked_at: string;
}

/** One person's access to one server through one client and token, as the pipeline saw it. */
export interface AccessSeenTable {
  user_id: string;
  client_id: string;
  server: string;
  /** http | stdio */
  transport: string;
  env: string;
  /** The access token's jti (`local-profile` for a stdio profile, `no-jti` for a token without one). */
  token_id: string;
  tenant: string;
  token_expires_at: string | null;
  first_seen: string;
  /** Refreshed at most once a minute per server process: accurate to about a minute. */
  last_seen: string;
}

export interface GatehouseTables {
  audit_events: AuditEventsTable;
  kill_switches: KillSwitchesTable;
  ticket_drafts: TicketDraftsTable;
  approvals: ApprovalsTable;
  ticket_sends: TicketSendsTable;
  revocations: RevocationsTable;
  access_seen: AccessSeenTable;
}
