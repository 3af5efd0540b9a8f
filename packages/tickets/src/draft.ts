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
  /** draft: editable · sending: frozen, a send claimed it · sent: final */
  status: DraftStatus;
  /** Everyone who wrote the current content, creator first: none of them may approve it (four eyes). */
  authors: string[];
  createdBy: string;
  updatedBy: string;
  createdAt: string;
  updatedAt: string;
}

export type DraftStatus = "draft" | "sending" | "sent";

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
    status: r.status === "sent" || r.status === "sending" ? r.status : "draft",
    authors: parseAuthors(r.authors, r.created_by),
    createdBy: r.created_by,
    updatedBy: r.updated_by,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function parseAuthors(text: string | null, creator: string): string[] {
  const list = text ? (JSON.parse(text) as unknown) : [];
  const names = Array.isArray(list) ? list.filter((x): x is string => typeof x === "string") : [];
  return names.includes(creator) ? names : [creator, ...names];
}

/** The draft's content as it is stored, re-hashed: what a send files must match the approval's hash. */
export function verifiedContent(d: Draft): DraftContent {
  const content = contentOf(d);
  if (contentHash(d.id, content) !== d.contentHash)
    throw new Error(`draft ${d.id}: stored content does not match its content hash`);
  return content;
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
