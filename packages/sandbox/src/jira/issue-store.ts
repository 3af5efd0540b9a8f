/** The issues the stand-in holds (seeded, then created through the API), with their comments and properties. */
import type { AdfDoc } from "./adf.ts";
import type { JiraIssueType, JiraPriority, JiraProject, JiraSeed, JiraStatus } from "./jira-seed.ts";

/** The priority a new issue gets when none is given (and the one the priority resources call the default). */
export const DEFAULT_PRIORITY = "Medium";

/** One issue as the sandbox holds it, for assertions (`issues()` and `GET /__sandbox/issues`). */
export interface JiraIssueSnapshot {
  id: string;
  key: string;
  projectKey: string;
  issueType: string;
  summary: string;
  labels: string[];
  properties: Record<string, unknown>;
  /** How many comments the issue has. */
  comments: number;
}

export interface StoredComment {
  id: string;
  body: AdfDoc;
  created: number;
  updated: number;
}

export interface StoredIssue {
  id: string;
  key: string;
  number: number;
  project: JiraProject;
  issueType: JiraIssueType;
  priority: JiraPriority;
  status: JiraStatus;
  summary: string;
  description: AdfDoc | null;
  labels: string[];
  created: number;
  updated: number;
  comments: StoredComment[];
  properties: Map<string, unknown>;
}

/** What `add` needs; it assigns the id, key, number, and starts with no comments or properties. */
export type NewIssue = Omit<StoredIssue, "id" | "key" | "number" | "comments" | "properties">;

/** A project by id or key (keys in any case), as Jira's project references resolve. */
export const findProject = (seed: JiraSeed, idOrKey: string) =>
  seed.projects.find((p) => p.id === idOrKey || p.key.toLowerCase() === idOrKey.toLowerCase());

export class IssueStore {
  /** Every issue, seeded and created, in creation order. */
  readonly all: StoredIssue[] = [];
  #byKey = new Map<string, StoredIssue>();
  #byId = new Map<string, StoredIssue>();
  #lastNumber = new Map<string, number>();
  #nextIssueId = 10000;
  #nextCommentId = 10000;

  /** Starts with the seed's issues and their comments. */
  constructor(seed: JiraSeed) {
    for (const s of seed.issues) {
      const issue = this.add({
        project: findProject(seed, s.projectKey)!,
        issueType: seed.issueTypes.find((t) => t.name === s.issueType)!,
        priority: seed.priorities.find((p) => p.name === s.priority)!,
        status: seed.statuses.find((st) => st.name === s.status)!,
        summary: s.summary,
        description: s.description,
        labels: s.labels,
        created: Date.parse(s.created),
        updated: Date.parse(s.updated),
      });
      for (const c of s.comments) {
        const at = Date.parse(c.created);
        issue.comments.push({ id: this.newCommentId(), body: c.body, created: at, updated: at });
      }
    }
  }

  add(fields: NewIssue): StoredIssue {
    const number = (this.#lastNumber.get(fields.project.key) ?? 0) + 1;
    this.#lastNumber.set(fields.project.key, number);
    const issue: StoredIssue = {
      id: String(this.#nextIssueId++),
      key: `${fields.project.key}-${number}`,
      number,
      comments: [],
      properties: new Map(),
      ...fields,
    };
    this.all.push(issue);
    this.#byKey.set(issue.key, issue);
    this.#byId.set(issue.id, issue);
    return issue;
  }

  /** An issue by numeric id or key (keys in any case). */
  find(idOrKey: string): StoredIssue | undefined {
    return /^[0-9]+$/.test(idOrKey) ? this.#byId.get(idOrKey) : this.#byKey.get(idOrKey.toUpperCase());
  }

  hasKey(key: string): boolean {
    return this.#byKey.has(key.toUpperCase());
  }

  newCommentId(): string {
    return String(this.#nextCommentId++);
  }

  snapshots(): JiraIssueSnapshot[] {
    return this.all.map((i) => ({
      id: i.id,
      key: i.key,
      projectKey: i.project.key,
      issueType: i.issueType.name,
      summary: i.summary,
      labels: [...i.labels],
      properties: Object.fromEntries([...i.properties].map(([k, v]) => [k, structuredClone(v)])),
      comments: i.comments.length,
    }));
  }
}
