import { canonicalJson, sha256Hex } from "@gatehouse/governance";
import type { TicketDraftsTable } from "@gatehouse/store";

/** Exactly what a send puts into Jira: the approval is bound to the hash of these fields. */
export interface DraftContent {
  project: string;
  issueType: string;
  summary: string;
  description: string;
  priority: string | null;
  labels: string[];
  customerId: string | null;
  orderId: string | null;
  commentOn: string | null;
}

export interface Draft extends DraftContent {
  id: string;
  tenant: string;
  contentHash: string;
  version: number;
  status: "draft" | "sent";
  createdBy: string;
  updatedBy: string;
  createdAt: string;
  updatedAt: string;
}

export const SUBJECT_TYPE = "ticket_draft";

/** SHA-256 over the canonical JSON of the content (and the draft id, so equal drafts never share approvals). */
export function contentHash(id: string, content: DraftContent): string {
  return sha256Hex(canonicalJson({ id, ...content }));
}

export function draftFromRow(r: TicketDraftsTable): Draft {
  return {
    id: r.id,
    tenant: r.tenant,
    project: r.project,
    issueType: r.issue_type,
    summary: r.summary,
    description: r.description,
    priority: r.priority,
    labels: JSON.parse(r.labels) as string[],
    customerId: r.customer_id,
    orderId: r.order_id,
    commentOn: r.comment_on,
    contentHash: r.content_hash,
    version: r.version,
    status: r.status === "sent" ? "sent" : "draft",
    createdBy: r.created_by,
    updatedBy: r.updated_by,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export function contentOf(d: DraftContent): DraftContent {
  return {
    project: d.project,
    issueType: d.issueType,
    summary: d.summary,
    description: d.description,
    priority: d.priority,
    labels: d.labels,
    customerId: d.customerId,
    orderId: d.orderId,
    commentOn: d.commentOn,
  };
}

/** The label that marks a Jira issue as created from a draft: how a retry finds what a lost answer created. */
export function draftLabel(draftId: string): string {
  return `gatehouse-${draftId}`;
}
