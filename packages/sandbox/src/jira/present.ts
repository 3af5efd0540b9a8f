/** Jira's JSON shapes for what the stand-in holds: every resource presents through these. */
import { DEFAULT_PRIORITY, type StoredComment, type StoredIssue } from "./issue-store.ts";
import type { JiraIssueType, JiraPriority, JiraProject, JiraSeed, JiraStatus } from "./jira-seed.ts";

/** The stand-in as its answers describe it; `url` is known once it listens, hence read at call time. */
export interface JiraSite {
  url: string;
  email: string;
  seed: JiraSeed;
  account: { accountId: string; accountType: string; displayName: string; active: boolean };
}

const ISSUE_EXPAND = "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations";
/** The fields an issue has here; `*all` and `*navigable` mean all of them. */
const ISSUE_FIELDS = [
  "summary",
  "description",
  "labels",
  "priority",
  "issuetype",
  "project",
  "status",
  "created",
  "updated",
  "reporter",
  "assignee",
  "resolution",
  "comment",
];

/** Jira's timestamp format: `2025-01-06T09:14:00.000+0000`. */
const jiraTime = (ms: number) => new Date(ms).toISOString().replace("Z", "+0000");

export type Presenter = ReturnType<typeof presenter>;

export function presenter(site: JiraSite) {
  const { seed, account } = site;

  const issueType = (t: JiraIssueType) => ({
    self: `${site.url}/rest/api/3/issuetype/${t.id}`,
    id: t.id,
    description: t.description,
    iconUrl: `${site.url}/rest/api/2/universal_avatar/view/type/issuetype/avatar/${t.id}?size=medium`,
    name: t.name,
    untranslatedName: t.name,
    subtask: false,
    hierarchyLevel: 0,
  });
  const project = (p: JiraProject, withDetails: boolean) => ({
    self: `${site.url}/rest/api/3/project/${p.id}`,
    id: p.id,
    key: p.key,
    name: p.name,
    projectTypeKey: "software",
    simplified: false,
    ...(withDetails
      ? {
          description: p.description,
          style: "classic",
          isPrivate: false,
          lead: account,
          issueTypes: seed.issueTypes.map(issueType),
          properties: {},
        }
      : {}),
  });
  const priority = (p: JiraPriority) => ({
    self: `${site.url}/rest/api/3/priority/${p.id}`,
    statusColor: p.statusColor,
    description: p.description,
    iconUrl: `${site.url}/images/icons/priorities/${p.name.toLowerCase()}.svg`,
    name: p.name,
    id: p.id,
  });
  /** A priority as the priority resources return it: with whether it is the default for new issues. */
  const priorityDetails = (p: JiraPriority) => ({
    ...priority(p),
    isDefault: p.name === DEFAULT_PRIORITY,
  });
  const status = (s: JiraStatus) => ({
    self: `${site.url}/rest/api/3/status/${s.id}`,
    description: "",
    iconUrl: `${site.url}/images/icons/statuses/generic.png`,
    name: s.name,
    untranslatedName: s.name,
    id: s.id,
    statusCategory: {
      self: `${site.url}/rest/api/3/statuscategory/${s.category.id}`,
      id: s.category.id,
      key: s.category.key,
      colorName: s.category.colorName,
      name: s.category.name,
    },
  });
  const comment = (issue: StoredIssue, c: StoredComment) => ({
    self: `${site.url}/rest/api/3/issue/${issue.id}/comment/${c.id}`,
    id: c.id,
    author: account,
    body: c.body,
    updateAuthor: account,
    created: jiraTime(c.created),
    updated: jiraTime(c.updated),
    jsdPublic: true,
  });

  function fieldValue(issue: StoredIssue, name: string): unknown {
    switch (name) {
      case "summary":
        return issue.summary;
      case "description":
        return issue.description;
      case "labels":
        return [...issue.labels];
      case "priority":
        return priority(issue.priority);
      case "issuetype":
        return issueType(issue.issueType);
      case "project":
        return project(issue.project, false);
      case "status":
        return status(issue.status);
      case "created":
        return jiraTime(issue.created);
      case "updated":
        return jiraTime(issue.updated);
      case "reporter":
        return account;
      case "assignee":
        return null;
      case "resolution":
        return issue.status.category.key === "done"
          ? { self: `${site.url}/rest/api/3/resolution/10000`, id: "10000", name: "Done" }
          : null;
      case "comment":
        return {
          comments: issue.comments.map((c) => comment(issue, c)),
          self: `${site.url}/rest/api/3/issue/${issue.id}/comment`,
          maxResults: issue.comments.length,
          total: issue.comments.length,
          startAt: 0,
        };
      default:
        return undefined;
    }
  }

  /**
   * The issue as GET issue and the search return it. `fields` follows Jira: a list of names, `*all`,
   * `*navigable`, `-name` to exclude, `id` alone for ids only. Unknown names are ignored, as in Jira.
   */
  function presentIssue(
    issue: StoredIssue,
    fields: string[],
    propertyKeys: string[],
    expand: boolean,
  ): Record<string, unknown> {
    const wanted = new Set<string>();
    const excluded = new Set<string>();
    let onlyId = true;
    for (const f of fields) {
      if (f === "id") continue;
      onlyId = false;
      if (f === "*all" || f === "*navigable") for (const n of ISSUE_FIELDS) wanted.add(n);
      else if (f.startsWith("-")) excluded.add(f.slice(1));
      else wanted.add(f);
    }
    if (excluded.size > 0 && wanted.size === 0) for (const n of ISSUE_FIELDS) wanted.add(n);
    const out: Record<string, unknown> = { id: issue.id };
    if (!onlyId) {
      if (expand) out.expand = ISSUE_EXPAND;
      out.self = `${site.url}/rest/api/3/issue/${issue.id}`;
      out.key = issue.key;
      const values: Record<string, unknown> = {};
      for (const name of ISSUE_FIELDS)
        if (wanted.has(name) && !excluded.has(name)) values[name] = fieldValue(issue, name);
      out.fields = values;
    }
    const keys = propertyKeys.includes("*all") ? [...issue.properties.keys()] : propertyKeys;
    const props = Object.fromEntries(
      keys.filter((k) => issue.properties.has(k)).map((k) => [k, structuredClone(issue.properties.get(k))]),
    );
    if (propertyKeys.length > 0) out.properties = props;
    return out;
  }

  return { issueType, project, priority, priorityDetails, status, comment, issue: presentIssue };
}
