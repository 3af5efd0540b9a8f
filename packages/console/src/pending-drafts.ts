import type { Store } from "@gatehouse/store";

export interface PendingDraft {
  id: string;
  tenant: string;
  summary: string;
  project: string;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  contentHash: string;
  status: string;
  /** The decision in force, when it is on exactly this content. */
  decision: { decision: string; approver: string; expiresAt: string } | null;
}

/**
 * Drafts not yet sent (the inbox), newest first, with the decision in force on their current content.
 * `tenant` null is every tenant (as policy allowed); what will be sent is shown from ticket-send itself.
 */
export async function pendingDrafts(
  store: Store,
  tenant: string | null,
  limit = 200,
): Promise<PendingDraft[]> {
  let q = store.db
    .selectFrom("ticket_drafts")
    .select([
      "id",
      "tenant",
      "summary",
      "project",
      "created_by",
      "created_at",
      "updated_at",
      "content_hash",
      "status",
    ])
    .where("status", "!=", "sent");
  if (tenant !== null) q = q.where("tenant", "=", tenant);
  const drafts = await q.orderBy("updated_at", "desc").limit(limit).execute();
  if (drafts.length === 0) return [];
  const decisions = await store.db
    .selectFrom("approvals")
    .select(["subject_id", "decision", "approver", "expires_at", "content_hash", "seq"])
    .where("subject_type", "=", "ticket_draft")
    .where(
      "subject_id",
      "in",
      drafts.map((d) => d.id),
    )
    .orderBy("seq", "asc")
    .execute();
  const latest = new Map(decisions.map((d) => [d.subject_id, d]));
  return drafts.map((d) => {
    const l = latest.get(d.id);
    return {
      id: d.id,
      tenant: d.tenant,
      summary: d.summary,
      project: d.project,
      createdBy: d.created_by,
      createdAt: d.created_at,
      updatedAt: d.updated_at,
      contentHash: d.content_hash,
      status: d.status,
      decision:
        l && l.content_hash === d.content_hash
          ? { decision: l.decision, approver: l.approver, expiresAt: l.expires_at }
          : null,
    };
  });
}
