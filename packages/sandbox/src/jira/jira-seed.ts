/**
 * The Jira stand-in's fixed world: three projects (two support desks and operations), the issue types,
 * priorities, statuses and transitions they share, and a few existing issues per project. Deterministic.
 */
import { type AdfDoc, adfParagraphs } from "./adf.ts";

export interface JiraProject {
  id: string;
  key: string;
  name: string;
  description: string;
}

export interface JiraIssueType {
  id: string;
  name: string;
  description: string;
}

export interface JiraPriority {
  id: string;
  name: string;
  description: string;
  statusColor: string;
}

export interface JiraStatus {
  id: string;
  name: string;
  category: { id: number; key: "new" | "indeterminate" | "done"; name: string; colorName: string };
}

export interface JiraTransition {
  id: string;
  name: string;
  toStatusId: string;
}

export interface JiraSeedIssue {
  projectKey: string;
  issueType: string;
  summary: string;
  description: AdfDoc;
  labels: string[];
  priority: string;
  status: string;
  /** ISO 8601 instant. */
  created: string;
  updated: string;
  comments: Array<{ body: AdfDoc; created: string }>;
}

export interface JiraSeed {
  projects: JiraProject[];
  issueTypes: JiraIssueType[];
  priorities: JiraPriority[];
  statuses: JiraStatus[];
  transitions: JiraTransition[];
  issues: JiraSeedIssue[];
}

const PROJECTS: JiraProject[] = [
  { id: "10000", key: "SUP", name: "Support EMEA", description: "Customer support for EMEA accounts." },
  {
    id: "10001",
    key: "NAS",
    name: "Support NA",
    description: "Customer support for North American accounts.",
  },
  { id: "10002", key: "OPS", name: "Operations", description: "Internal operations and on-call work." },
];

const ISSUE_TYPES: JiraIssueType[] = [
  { id: "10001", name: "Task", description: "A small, distinct piece of work." },
  { id: "10002", name: "Bug", description: "A problem or error." },
  { id: "10003", name: "Incident", description: "A disruption to a service or a customer." },
];

const PRIORITIES: JiraPriority[] = [
  { id: "1", name: "Highest", description: "This problem will block progress.", statusColor: "#d04437" },
  {
    id: "2",
    name: "High",
    description: "Serious problem that could block progress.",
    statusColor: "#f15C75",
  },
  { id: "3", name: "Medium", description: "Has the potential to affect progress.", statusColor: "#f79232" },
  { id: "4", name: "Low", description: "Minor problem or easily worked around.", statusColor: "#707070" },
  {
    id: "5",
    name: "Lowest",
    description: "Trivial problem with little or no impact.",
    statusColor: "#999999",
  },
];

const STATUSES: JiraStatus[] = [
  {
    id: "10000",
    name: "To Do",
    category: { id: 2, key: "new", name: "To Do", colorName: "blue-gray" },
  },
  {
    id: "3",
    name: "In Progress",
    category: { id: 4, key: "indeterminate", name: "In Progress", colorName: "yellow" },
  },
  { id: "10001", name: "Done", category: { id: 3, key: "done", name: "Done", colorName: "green" } },
];

const TRANSITIONS: JiraTransition[] = [
  { id: "11", name: "To Do", toStatusId: "10000" },
  { id: "21", name: "In Progress", toStatusId: "3" },
  { id: "31", name: "Done", toStatusId: "10001" },
];

const issue = (
  projectKey: string,
  issueType: string,
  summary: string,
  description: string[],
  labels: string[],
  priority: string,
  status: string,
  created: string,
  comments: string[] = [],
): JiraSeedIssue => {
  const at = (i: number) => new Date(Date.parse(created) + (i + 1) * 3_600_000).toISOString();
  return {
    projectKey,
    issueType,
    summary,
    description: adfParagraphs(...description),
    labels,
    priority,
    status,
    created,
    updated: comments.length > 0 ? at(comments.length - 1) : created,
    comments: comments.map((text, i) => ({ body: adfParagraphs(text), created: at(i) })),
  };
};

const ISSUES: JiraSeedIssue[] = [
  issue(
    "SUP",
    "Task",
    "Nordlicht Logistik GmbH: shipment delayed at the Hamburg hub",
    ["The customer reports that their pallet shipment has not left the Hamburg hub for four days."],
    ["customer-emea", "shipping"],
    "High",
    "In Progress",
    "2025-01-06T09:14:00.000Z",
    ["Carrier confirmed the delay; new ETA is Friday."],
  ),
  issue(
    "SUP",
    "Bug",
    "Fjord Maritime AS cannot download the March invoice PDF",
    ["The invoice link in the customer portal returns an error page.", "Other invoices download fine."],
    ["billing", "customer-emea"],
    "Medium",
    "To Do",
    "2025-02-11T13:40:00.000Z",
  ),
  issue(
    "SUP",
    "Incident",
    "Helios Solar BV portal login fails with an SSO error",
    ["All users at the customer see 'SAML response invalid' since this morning."],
    ["customer-emea", "sso"],
    "Highest",
    "Done",
    "2025-03-03T07:55:00.000Z",
    [
      "The customer rotated their IdP certificate; we updated the metadata.",
      "Confirmed fixed by the customer.",
    ],
  ),
  issue(
    "NAS",
    "Task",
    "Great Lakes Freight LLC asks for a copy of the signed MSA",
    ["Procurement needs the countersigned master services agreement for their audit."],
    ["contracts", "customer-na"],
    "Low",
    "To Do",
    "2025-01-20T16:05:00.000Z",
  ),
  issue(
    "NAS",
    "Bug",
    "Cascade Outfitters Inc. order totals show CAD instead of USD",
    ["Order confirmations since the last release show the wrong currency symbol."],
    ["billing", "customer-na"],
    "High",
    "In Progress",
    "2025-02-25T18:30:00.000Z",
    ["Reproduced on staging; the currency comes from the shipping address."],
  ),
  issue(
    "OPS",
    "Incident",
    "Nightly warehouse sync job failed",
    ["The 02:00 sync between the order system and the warehouse stopped with a timeout."],
    ["on-call", "sync"],
    "Highest",
    "Done",
    "2025-02-02T02:17:00.000Z",
    ["Re-ran the job manually at 06:30; all orders synced."],
  ),
  issue(
    "OPS",
    "Task",
    "Rotate the Jira integration API token",
    ["The integration token is due for its yearly rotation."],
    ["security"],
    "Medium",
    "To Do",
    "2025-03-10T10:00:00.000Z",
  ),
];

/** A fresh copy of the seed (callers may mutate it). */
export function buildJiraSeed(): JiraSeed {
  return structuredClone({
    projects: PROJECTS,
    issueTypes: ISSUE_TYPES,
    priorities: PRIORITIES,
    statuses: STATUSES,
    transitions: TRANSITIONS,
    issues: ISSUES,
  });
}
