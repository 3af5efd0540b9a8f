import { z } from "zod";
import type { Draft } from "./draft.ts";

// Shapes the two ticket servers share. Every field is checked at the boundary.
export const draftId = z
  .string()
  .regex(/^dr_[A-Za-z0-9]{12}$/, "a draft id looks like dr_ followed by 12 letters or digits");
export const projectKey = z
  .string()
  .regex(/^[A-Z][A-Z0-9]{1,9}$/, "a Jira project key is 2-10 capital letters or digits, e.g. SUP");
export const issueKey = z
  .string()
  .regex(/^[A-Z][A-Z0-9]{1,9}-\d{1,9}$/, "a Jira issue key looks like SUP-123");
export const priority = z.enum(["Highest", "High", "Medium", "Low", "Lowest"]);
export const label = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,50}$/, "a label is up to 50 letters, digits, '.', '_' or '-' (no spaces)")
  // Gatehouse labels each issue it files; a draft may not wear another draft's label.
  .refine(
    (l) => !l.toLowerCase().startsWith("gatehouse-"),
    "labels starting with gatehouse- are Gatehouse's own",
  );

/** A draft's description: it may not carry the marker by which a send finds the comment it filed. */
export const draftDescription = z
  .string()
  .trim()
  .min(1)
  .max(20_000)
  .refine(
    (d) => !/filed through gatehouse from draft/i.test(d),
    "the description may not say it was filed through Gatehouse",
  );

export const draftView = z.object({
  draft_id: draftId,
  tenant: z.string(),
  project: z.string(),
  issue_type: z.string(),
  summary: z.string(),
  description: z.string(),
  priority: z.string().nullable(),
  labels: z.array(z.string()),
  customer_id: z.string().nullable(),
  order_id: z.string().nullable(),
  comment_on: z.string().nullable(),
  content_hash: z
    .string()
    .describe("SHA-256 of exactly what a send would put into Jira; approvals are bound to it"),
  version: z.number().int(),
  status: z
    .enum(["draft", "sending", "sent"])
    .describe("draft: editable · sending: an approved send is under way, frozen · sent: final"),
  created_by: z.string(),
  updated_by: z.string(),
  updated_at: z.string(),
});

export function toDraftView(d: Draft): z.infer<typeof draftView> {
  return {
    draft_id: d.id,
    tenant: d.tenant,
    project: d.project,
    issue_type: d.issueType,
    summary: d.summary,
    description: d.description,
    priority: d.priority,
    labels: d.labels,
    customer_id: d.customerId,
    order_id: d.orderId,
    comment_on: d.commentOn,
    content_hash: d.contentHash,
    version: d.version,
    status: d.status,
    created_by: d.createdBy,
    updated_by: d.updatedBy,
    updated_at: d.updatedAt,
  };
}
