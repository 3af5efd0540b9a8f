import { type AdfDoc, textToAdf } from "./adf.ts";
import { type Draft, draftLabel } from "./draft.ts";

/** Exactly what a send puts into Jira: the dry run shows it, the approver reviews it, the send sends it. */
export type JiraRequest =
  | {
      operation: "create_issue";
      path: "/rest/api/3/issue";
      body: { fields: CreateFields; properties: Array<{ key: string; value: unknown }> };
    }
  | { operation: "add_comment"; path: string; issueKey: string; body: { body: AdfDoc } };

interface CreateFields {
  project: { key: string };
  issuetype: { name: string };
  summary: string;
  description: AdfDoc;
  priority?: { name: string };
  labels: string[];
}

function descriptionText(d: Draft): string {
  const refs = [d.customerId && `Customer: ${d.customerId}`, d.orderId && `Order: ${d.orderId}`]
    .filter(Boolean)
    .join(" · ");
  return [d.description, refs, `Filed through Gatehouse from draft ${d.id}.`].filter(Boolean).join("\n\n");
}

export function jiraRequestFor(d: Draft): JiraRequest {
  if (d.commentOn) {
    return {
      operation: "add_comment",
      path: `/rest/api/3/issue/${d.commentOn}/comment`,
      issueKey: d.commentOn,
      body: { body: textToAdf(descriptionText(d)) },
    };
  }
  const labels = [
    ...new Set([
      ...d.labels,
      ...(d.customerId ? [`customer-${d.customerId}`] : []),
      ...(d.orderId ? [`order-${d.orderId}`] : []),
      draftLabel(d.id),
    ]),
  ];
  return {
    operation: "create_issue",
    path: "/rest/api/3/issue",
    body: {
      fields: {
        project: { key: d.project },
        issuetype: { name: d.issueType },
        summary: d.summary,
        description: textToAdf(descriptionText(d)),
        ...(d.priority ? { priority: { name: d.priority } } : {}),
        labels,
      },
      // The draft id travels with the issue: a retry after a lost answer finds it instead of filing twice.
      properties: [{ key: "gatehouse", value: { draftId: d.id, contentHash: d.contentHash } }],
    },
  };
}

/** The marker a comment carries, for the same reconciliation on comments. */
export function commentMarker(draftId: string): string {
  return `Filed through Gatehouse from draft ${draftId}.`;
}
