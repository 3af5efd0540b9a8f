/**
 * The Jira Cloud stand-in: a real HTTP server with the REST v3 endpoints Gatehouse's ticket servers use,
 * Jira's request and error shapes (field errors on create, the enhanced JQL search with `nextPageToken`, 410 on
 * the removed `/rest/api/3/search`, 429 with Retry-After), entity properties, and fault injection — including
 * faults that apply a request and lose its answer, for exactly-once tests. Point jira.js 6 at it with
 * `createCloudClient({ host: sandbox.url, auth: { type: "basic", email: sandbox.email, apiToken: sandbox.apiToken } })`;
 * its answers pass jira.js 6's runtime schemas (`onSchemaMismatch: "throw"`, see test/jira.test.ts).
 *
 * Only REST v3 is served, and it takes rich text (description, comment body) only as ADF, as Jira v3 does.
 * jira.js 6 sends a rich-text field given as a wiki-markup string to REST v2 instead (and reads the result back
 * through v3); Gatehouse always sends ADF, so v2 is not served here and such a write is answered 404.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import {
  type Answer,
  listParam,
  RollingWindow,
  retryAfterHeader,
  type StandInRequest,
  startStandIn,
} from "../stand-in/server.ts";
import { type AdfDoc, adfError, adfText } from "./adf.ts";
import { JIRA_FAULTS, type JiraFaults } from "./faults.ts";
import {
  buildJiraSeed,
  type JiraIssueType,
  type JiraPriority,
  type JiraProject,
  type JiraSeed,
  type JiraStatus,
} from "./jira-seed.ts";
import { JqlSyntaxError } from "./jql.ts";
import {
  compileJql,
  decodePageToken,
  encodePageToken,
  JqlValidationError,
  type SearchableIssue,
  type SearchCatalog,
} from "./search.ts";

/** The account the sandbox accepts unless another is configured. */
export const JIRA_SANDBOX_EMAIL = "gatehouse-bot@example.com";
/** The API token the sandbox accepts unless another is configured. */
export const JIRA_SANDBOX_API_TOKEN = "sandbox-jira-api-token";

export interface JiraLimits {
  /** Requests per account in a rolling minute (default 300). */
  perMinute?: number;
}

export interface JiraSandboxOptions {
  /** Default 7120; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  email?: string;
  apiToken?: string;
  limits?: JiraLimits;
}

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

export interface RunningJira {
  url: string;
  email: string;
  apiToken: string;
  faults: JiraFaults;
  /** Requests received (every status, faulted ones included; control routes excluded), optionally by path prefix. */
  requestCount(pathPrefix?: string): number;
  /** Every issue, seeded and created, in creation order. */
  issues(): JiraIssueSnapshot[];
  /** Forgets the rate-limit window (the request counts stay). */
  resetRateLimits(): void;
  close(): Promise<void>;
}

const DEFAULT_PER_MINUTE = 300;
const MINUTE = 60_000;
const JSON_TYPE = "application/json;charset=UTF-8";
const MAX_SUMMARY = 255;
const MAX_LABEL = 255;
const MAX_PROPERTY_KEY = 255;
const MAX_PROPERTY_VALUE = 32_768;
const SEARCH_DEFAULT_PAGE = 50;
const SEARCH_MAX_PAGE = 100;
const COMMENTS_MAX_PAGE = 5000;
const PRIORITIES_DEFAULT_PAGE = 50;
/** The priority a new issue gets when none is given. */
const DEFAULT_PRIORITY = "Medium";
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
/** Fields the create screen has. Anything else is refused, as Jira refuses fields not on the screen. */
const CREATE_FIELDS = new Set(["project", "issuetype", "summary", "description", "priority", "labels"]);

const ERR_AUTH = "Client must be authenticated to access this resource.";
const ERR_ISSUE_NOT_FOUND = "Issue does not exist or you do not have permission to see it.";
const ERR_UNBOUNDED =
  "Unbounded JQL queries are not allowed here. Please add a search restriction to your query.";
const ERR_REMOVED =
  "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046";
const ERR_PAYLOAD = "Invalid request payload. Refer to the REST API documentation and try again.";

interface StoredComment {
  id: string;
  body: AdfDoc;
  created: number;
  updated: number;
}

interface StoredIssue {
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

/** What `addIssue` needs; it assigns the id, key, number, and starts with no comments or properties. */
type NewIssue = Omit<StoredIssue, "id" | "key" | "number" | "comments" | "properties">;

class HttpError extends Error {
  readonly status: number;
  readonly errorMessages: string[];
  readonly errors: Record<string, string>;

  constructor(status: number, errorMessages: string[], errors: Record<string, string> = {}) {
    super(errorMessages[0] ?? Object.values(errors)[0] ?? `HTTP ${status}`);
    this.status = status;
    this.errorMessages = errorMessages;
    this.errors = errors;
  }
}

const badRequest = (messages: string[], errors: Record<string, string> = {}) =>
  new HttpError(400, messages, errors);
const issueNotFound = () => new HttpError(404, [ERR_ISSUE_NOT_FOUND]);

/** Jira's timestamp format: `2025-01-06T09:14:00.000+0000`. */
const jiraTime = (ms: number) => new Date(ms).toISOString().replace("Z", "+0000");

/** Per-account rolling one-minute window. Only requests that were let through are counted. */
class RateLimiter {
  #window = new RollingWindow(MINUTE);

  readonly perMinute: number;

  constructor(perMinute: number) {
    this.perMinute = perMinute;
  }

  take(
    key: string,
  ): { ok: true; headers: Record<string, string> } | { ok: false; headers: Record<string, string> } {
    const now = Date.now();
    const hits = this.#window.hits(key, now);
    if (hits.length >= this.perMinute) {
      return {
        ok: false,
        headers: {
          "retry-after": String(this.#window.retryAfter(hits, now)),
          ...this.#headers(0, hits[0]! + MINUTE),
          "ratelimit-reason": "jira-quota-tenant-based",
        },
      };
    }
    hits.push(now);
    return { ok: true, headers: this.#headers(this.perMinute - hits.length, hits[0]! + MINUTE) };
  }

  /** The headers of a 429 not caused by this limiter (a `status` fault). */
  refusedHeaders(retryAfterSeconds: number): Record<string, string> {
    return {
      "retry-after": String(retryAfterSeconds),
      ...this.#headers(0, Date.now() + retryAfterSeconds * 1000),
      "ratelimit-reason": "jira-burst-based",
    };
  }

  #headers(remaining: number, resetAt: number): Record<string, string> {
    const headers: Record<string, string> = {
      "x-ratelimit-limit": String(this.perMinute),
      "x-ratelimit-remaining": String(remaining),
      "x-ratelimit-reset": new Date(resetAt).toISOString(),
    };
    if (remaining < this.perMinute * 0.2) headers["x-ratelimit-nearlimit"] = "true";
    return headers;
  }

  reset(): void {
    this.#window.clear();
  }
}

const SERVER_ERRORS: Record<number, string> = {
  500: "Internal server error",
  503: "Service Unavailable",
};

export async function startJiraSandbox(opts: JiraSandboxOptions = {}): Promise<RunningJira> {
  const email = opts.email ?? JIRA_SANDBOX_EMAIL;
  const apiToken = opts.apiToken ?? JIRA_SANDBOX_API_TOKEN;
  const host = opts.host ?? "127.0.0.1";
  const limiter = new RateLimiter(opts.limits?.perMinute ?? DEFAULT_PER_MINUTE);
  const expectedAuth = digest(`${email.toLowerCase()}:${apiToken}`);
  const seed: JiraSeed = buildJiraSeed();

  const account = {
    accountId: "712020:5f0c4c1e-0000-4000-8000-00000000b07a",
    accountType: "atlassian",
    displayName: "Gatehouse Bot",
    active: true,
  };

  const issues: StoredIssue[] = [];
  const byKey = new Map<string, StoredIssue>();
  const byId = new Map<string, StoredIssue>();
  const lastNumber = new Map<string, number>();
  let nextIssueId = 10000;
  let nextCommentId = 10000;

  const project = (idOrKey: string) =>
    seed.projects.find((p) => p.id === idOrKey || p.key.toLowerCase() === idOrKey.toLowerCase());
  const statusById = (id: string) => seed.statuses.find((s) => s.id === id)!;

  function addIssue(fields: NewIssue): StoredIssue {
    const number = (lastNumber.get(fields.project.key) ?? 0) + 1;
    lastNumber.set(fields.project.key, number);
    const issue: StoredIssue = {
      id: String(nextIssueId++),
      key: `${fields.project.key}-${number}`,
      number,
      comments: [],
      properties: new Map(),
      ...fields,
    };
    issues.push(issue);
    byKey.set(issue.key, issue);
    byId.set(issue.id, issue);
    return issue;
  }

  for (const s of seed.issues) {
    const issue = addIssue({
      project: project(s.projectKey)!,
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
      issue.comments.push({ id: String(nextCommentId++), body: c.body, created: at, updated: at });
    }
  }

  const findIssue = (idOrKey: string) =>
    /^[0-9]+$/.test(idOrKey) ? byId.get(idOrKey) : byKey.get(idOrKey.toUpperCase());

  const catalog: SearchCatalog = {
    projects: seed.projects,
    issueTypes: seed.issueTypes,
    statuses: seed.statuses,
    priorities: seed.priorities,
    issueKeyExists: (key) => byKey.has(key.toUpperCase()),
  };
  const searchable = (i: StoredIssue): SearchableIssue => ({
    id: i.id,
    key: i.key,
    number: i.number,
    projectId: i.project.id,
    issueTypeId: i.issueType.id,
    statusId: i.status.id,
    priorityId: i.priority.id,
    summary: i.summary,
    descriptionText: adfText(i.description),
    commentTexts: i.comments.map((c) => adfText(c.body)),
    labels: i.labels,
    created: i.created,
    updated: i.updated,
    properties: i.properties,
  });

  let url = "";

  // ---- presentation (Jira's JSON shapes) ----

  const presentIssueType = (t: JiraIssueType) => ({
    self: `${url}/rest/api/3/issuetype/${t.id}`,
    id: t.id,
    description: t.description,
    iconUrl: `${url}/rest/api/2/universal_avatar/view/type/issuetype/avatar/${t.id}?size=medium`,
    name: t.name,
    untranslatedName: t.name,
    subtask: false,
    hierarchyLevel: 0,
  });
  const presentProject = (p: JiraProject, withDetails: boolean) => ({
    self: `${url}/rest/api/3/project/${p.id}`,
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
          issueTypes: seed.issueTypes.map(presentIssueType),
          properties: {},
        }
      : {}),
  });
  const presentPriority = (p: JiraPriority) => ({
    self: `${url}/rest/api/3/priority/${p.id}`,
    statusColor: p.statusColor,
    description: p.description,
    iconUrl: `${url}/images/icons/priorities/${p.name.toLowerCase()}.svg`,
    name: p.name,
    id: p.id,
  });
  /** A priority as the priority resources return it: with whether it is the default for new issues. */
  const presentPriorityDetails = (p: JiraPriority) => ({
    ...presentPriority(p),
    isDefault: p.name === DEFAULT_PRIORITY,
  });
  const presentStatus = (s: JiraStatus) => ({
    self: `${url}/rest/api/3/status/${s.id}`,
    description: "",
    iconUrl: `${url}/images/icons/statuses/generic.png`,
    name: s.name,
    untranslatedName: s.name,
    id: s.id,
    statusCategory: {
      self: `${url}/rest/api/3/statuscategory/${s.category.id}`,
      id: s.category.id,
      key: s.category.key,
      colorName: s.category.colorName,
      name: s.category.name,
    },
  });
  const presentComment = (issue: StoredIssue, c: StoredComment) => ({
    self: `${url}/rest/api/3/issue/${issue.id}/comment/${c.id}`,
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
        return presentPriority(issue.priority);
      case "issuetype":
        return presentIssueType(issue.issueType);
      case "project":
        return presentProject(issue.project, false);
      case "status":
        return presentStatus(issue.status);
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
          ? { self: `${url}/rest/api/3/resolution/10000`, id: "10000", name: "Done" }
          : null;
      case "comment":
        return {
          comments: issue.comments.map((c) => presentComment(issue, c)),
          self: `${url}/rest/api/3/issue/${issue.id}/comment`,
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
      out.self = `${url}/rest/api/3/issue/${issue.id}`;
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

  // ---- routes ----

  /** Routes an authenticated, rate-limited request. */
  function route(method: string, path: string, q: URLSearchParams, rawBody: string): Answer {
    if (/^\/rest\/api\/[23]\/search\/?$/.test(path)) throw new HttpError(410, [ERR_REMOVED]);
    const prefix = "/rest/api/3/";
    if (!path.startsWith(prefix)) throw noRoute(method, path);
    let parts: string[];
    try {
      parts = path.slice(prefix.length).split("/").filter(Boolean).map(decodeURIComponent);
    } catch {
      throw noRoute(method, path); // malformed percent-encoding
    }
    const [collection] = parts;

    if (collection === "myself" && parts.length === 1) {
      allow(method, ["GET"], path);
      return ok(200, {
        self: `${url}/rest/api/3/user?accountId=${account.accountId}`,
        ...account,
        emailAddress: email,
        timeZone: "UTC",
        locale: "en_US",
      });
    }

    if (collection === "project" && parts.length === 2) {
      allow(method, ["GET"], path);
      const p = project(parts[1]!);
      if (!p) throw new HttpError(404, [`No project could be found with key '${parts[1]}'.`]);
      return ok(200, presentProject(p, true));
    }

    if (collection === "priority") {
      allow(method, ["GET"], path);
      // The deprecated list (jira.js 5's getPriorities); jira.js 6 pages through /priority/search instead.
      if (parts.length === 1) return ok(200, seed.priorities.map(presentPriorityDetails));
      if (parts.length === 2 && parts[1] === "search") return ok(200, searchPriorities(q));
      if (parts.length === 2) {
        const p = seed.priorities.find((x) => x.id === parts[1]);
        if (!p) throw new HttpError(404, [`Priority with ID ${parts[1]} does not exist.`]);
        return ok(200, presentPriorityDetails(p));
      }
    }

    if (collection === "search" && parts[1] === "jql" && parts.length === 2) {
      allow(method, ["GET", "POST"], path);
      return ok(200, search(method === "GET" ? searchFromQuery(q) : searchFromBody(json(rawBody))));
    }

    if (collection === "issue") {
      if (parts.length === 1) {
        allow(method, ["POST"], path);
        return ok(201, createIssue(json(rawBody)));
      }
      const issue = findIssue(parts[1]!);
      if (!issue) throw issueNotFound();
      const sub = parts[2];

      if (parts.length === 2) {
        allow(method, ["GET"], path);
        return ok(
          200,
          presentIssue(issue, listParam(q, "fields") ?? ["*all"], listParam(q, "properties") ?? [], true),
        );
      }

      if (sub === "properties" && parts.length === 3) {
        allow(method, ["GET"], path);
        return ok(200, {
          keys: [...issue.properties.keys()].map((key) => ({
            self: `${url}/rest/api/3/issue/${issue.id}/properties/${encodeURIComponent(key)}`,
            key,
          })),
        });
      }
      if (sub === "properties" && parts.length === 4) {
        const key = parts[3]!;
        allow(method, ["GET", "PUT", "DELETE"], path);
        if (method === "GET") {
          if (!issue.properties.has(key))
            throw new HttpError(404, [`The property with key '${key}' does not exist.`]);
          return ok(200, { key, value: structuredClone(issue.properties.get(key)) });
        }
        if (method === "DELETE") {
          if (!issue.properties.has(key))
            throw new HttpError(404, [`The property with key '${key}' does not exist.`]);
          issue.properties.delete(key);
          return { status: 204 };
        }
        checkPropertyKey(key);
        const value = json(rawBody);
        checkPropertyValue(rawBody);
        const existed = issue.properties.has(key);
        issue.properties.set(key, value);
        return { status: existed ? 200 : 201 };
      }

      if (sub === "comment" && parts.length === 3) {
        allow(method, ["GET", "POST"], path);
        if (method === "POST") return ok(201, addComment(issue, json(rawBody)));
        const startAt = nonNegativeInt(q.get("startAt")) ?? 0;
        const maxResults = Math.min(positiveInt(q.get("maxResults")) ?? COMMENTS_MAX_PAGE, COMMENTS_MAX_PAGE);
        const ordered = q.get("orderBy") === "-created" ? [...issue.comments].reverse() : issue.comments;
        return ok(200, {
          startAt,
          maxResults,
          total: issue.comments.length,
          comments: ordered.slice(startAt, startAt + maxResults).map((c) => presentComment(issue, c)),
        });
      }

      if (sub === "transitions" && parts.length === 3) {
        allow(method, ["GET", "POST"], path);
        if (method === "GET") {
          return ok(200, {
            expand: "transitions",
            transitions: seed.transitions.map((t) => ({
              id: t.id,
              name: t.name,
              to: presentStatus(statusById(t.toStatusId)),
              hasScreen: false,
              isGlobal: true,
              isInitial: false,
              isAvailable: true,
              isConditional: false,
              isLooped: false,
            })),
          });
        }
        const body = object(json(rawBody));
        const transition = object(body.transition ?? {});
        const id = transition.id === undefined ? undefined : String(transition.id);
        if (id === undefined) throw badRequest(["Missing 'transition' identifier."]);
        const t = seed.transitions.find((x) => x.id === id);
        if (!t) throw badRequest([`Transition id '${id}' is not valid for this issue.`]);
        issue.status = statusById(t.toStatusId);
        issue.updated = Date.now();
        return { status: 204 };
      }
    }

    throw noRoute(method, path);
  }

  function createIssue(input: unknown): Record<string, unknown> {
    const body = object(input);
    const fields =
      typeof body.fields === "object" && body.fields !== null ? (body.fields as Record<string, unknown>) : {};
    const errors: Record<string, string> = {};

    const projectRef = object(fields.project ?? {});
    const projectId = projectRef.id ?? projectRef.key;
    const p =
      typeof projectId === "string" || typeof projectId === "number" ? project(String(projectId)) : undefined;
    if (!p) errors.project = "valid project is required";

    let issueType: JiraIssueType | undefined;
    if (fields.issuetype === undefined || fields.issuetype === null)
      errors.issuetype = "Specify an issue type";
    else {
      const ref = object(fields.issuetype);
      issueType = seed.issueTypes.find(
        (t) =>
          (ref.id !== undefined && String(ref.id) === t.id) ||
          (typeof ref.name === "string" && ref.name.toLowerCase() === t.name.toLowerCase()),
      );
      if (!issueType) errors.issuetype = "Specify a valid issue type";
    }

    const summary = fields.summary;
    if (summary !== undefined && summary !== null && typeof summary !== "string")
      errors.summary = "Operation value must be a string";
    else if (typeof summary !== "string" || summary.trim() === "")
      errors.summary = "You must specify a summary of the issue.";
    else if (summary.length > MAX_SUMMARY) errors.summary = "Summary must be less than 255 characters.";
    else if (/[\r\n]/.test(summary))
      errors.summary = "The summary is invalid because it contains newline characters.";

    let description: AdfDoc | null = null;
    if (fields.description !== undefined && fields.description !== null) {
      const problem = adfError(fields.description);
      if (problem) errors.description = problem;
      else description = structuredClone(fields.description as AdfDoc);
    }

    let priority = seed.priorities.find((x) => x.name === DEFAULT_PRIORITY)!;
    if (fields.priority !== undefined && fields.priority !== null) {
      const ref = object(fields.priority);
      const hit = seed.priorities.find(
        (x) =>
          (ref.id !== undefined && String(ref.id) === x.id) ||
          (typeof ref.name === "string" && ref.name.toLowerCase() === x.name.toLowerCase()),
      );
      if (hit) priority = hit;
      else errors.priority = "The priority selected is invalid.";
    }

    const labels: string[] = [];
    if (fields.labels !== undefined && fields.labels !== null) {
      if (!Array.isArray(fields.labels) || fields.labels.some((l) => typeof l !== "string"))
        errors.labels = "Operation value must be an array of strings";
      else
        for (const l of fields.labels as string[]) {
          if (l === "") errors.labels = "Labels cannot be empty.";
          else if (/\s/.test(l)) errors.labels = `The label '${l}' contains spaces which is invalid.`;
          else if (l.length > MAX_LABEL)
            errors.labels = `The label '${l}' exceeds the maximum length for a single label of 255 characters.`;
          else if (!labels.includes(l)) labels.push(l);
          if (errors.labels) break;
        }
    }

    for (const name of Object.keys(fields))
      if (!CREATE_FIELDS.has(name))
        errors[name] = `Field '${name}' cannot be set. It is not on the appropriate screen, or unknown.`;

    const properties = new Map<string, unknown>();
    if (body.properties !== undefined) {
      if (!Array.isArray(body.properties)) throw badRequest([ERR_PAYLOAD]);
      for (const entry of body.properties) {
        const e = object(entry);
        if (typeof e.key !== "string") throw badRequest(["The property key must be a string."]);
        checkPropertyKey(e.key);
        if (e.value === undefined) throw badRequest([`The property '${e.key}' has no value.`]);
        checkPropertyValue(JSON.stringify(e.value));
        properties.set(e.key, structuredClone(e.value));
      }
    }

    if (Object.keys(errors).length > 0 || !p || !issueType || typeof summary !== "string")
      throw badRequest([], errors);

    const now = Date.now();
    const issue = addIssue({
      project: p,
      issueType,
      priority,
      status: seed.statuses[0]!,
      summary,
      description,
      labels,
      created: now,
      updated: now,
    });
    for (const [k, v] of properties) issue.properties.set(k, v);
    return { id: issue.id, key: issue.key, self: `${url}/rest/api/3/issue/${issue.id}` };
  }

  function addComment(issue: StoredIssue, input: unknown) {
    const body = object(input);
    if (body.body === undefined || body.body === null)
      throw badRequest([], { comment: "Comment body can not be empty!" });
    const problem = adfError(body.body);
    if (problem) throw badRequest([], { comment: problem });
    if ((body.body as AdfDoc).content.length === 0)
      throw badRequest([], { comment: "Comment body can not be empty!" });
    const now = Date.now();
    const comment: StoredComment = {
      id: String(nextCommentId++),
      body: structuredClone(body.body as AdfDoc),
      created: now,
      updated: now,
    };
    issue.comments.push(comment);
    issue.updated = now;
    return presentComment(issue, comment);
  }

  /**
   * GET /rest/api/3/priority/search: a page (`startAt`, `maxResults`, `total`, `isLast`, `values`, `self`, and
   * `nextPage` while there is one), filtered by `id` (repeatable), `priorityName` (contains, any case) and
   * `onlyDefault`. Every priority is in every project's scheme here, so `projectId` narrows nothing.
   */
  function searchPriorities(q: URLSearchParams) {
    const startAt = pageParam(q, "startAt", 0);
    const maxResults = pageParam(q, "maxResults", PRIORITIES_DEFAULT_PAGE);
    if (maxResults === 0) throw badRequest(["The value '0' is not valid for the parameter 'maxResults'."]);
    const ids = listParam(q, "id");
    const name = q.get("priorityName")?.toLowerCase();
    const onlyDefault = q.get("onlyDefault") === "true";
    const matching = seed.priorities.filter(
      (p) =>
        (!ids || ids.includes(p.id)) &&
        (!name || p.name.toLowerCase().includes(name)) &&
        (!onlyDefault || p.name === DEFAULT_PRIORITY),
    );
    const pageUrl = (at: number) =>
      `${url}/rest/api/3/priority/search?maxResults=${maxResults}&startAt=${at}`;
    const isLast = startAt + maxResults >= matching.length;
    return {
      self: pageUrl(startAt),
      ...(isLast ? {} : { nextPage: pageUrl(startAt + maxResults) }),
      maxResults,
      startAt,
      total: matching.length,
      isLast,
      values: matching.slice(startAt, startAt + maxResults).map(presentPriorityDetails),
    };
  }

  interface SearchRequest {
    jql: string;
    nextPageToken?: string;
    maxResults?: number;
    fields: string[];
    properties: string[];
  }

  function searchFromQuery(q: URLSearchParams): SearchRequest {
    const req: SearchRequest = {
      jql: q.get("jql") ?? "",
      fields: listParam(q, "fields") ?? ["id"],
      properties: listParam(q, "properties") ?? [],
    };
    const token = q.get("nextPageToken");
    if (token) req.nextPageToken = token;
    const max = q.get("maxResults");
    if (max !== null) {
      const n = nonNegativeInt(max);
      if (n === undefined)
        throw badRequest([`The value '${max}' is not valid for the parameter 'maxResults'.`]);
      req.maxResults = n;
    }
    return req;
  }

  function searchFromBody(input: unknown): SearchRequest {
    const b = object(input);
    const strings = (v: unknown, name: string) => {
      if (v === undefined || v === null) return undefined;
      if (!Array.isArray(v) || v.some((x) => typeof x !== "string"))
        throw badRequest([`The '${name}' parameter must be an array of strings.`]);
      return (v as string[])
        .flatMap((s) => s.split(","))
        .map((s) => s.trim())
        .filter(Boolean);
    };
    if (b.jql !== undefined && b.jql !== null && typeof b.jql !== "string") throw badRequest([ERR_PAYLOAD]);
    const req: SearchRequest = {
      jql: (b.jql as string | undefined) ?? "",
      fields: strings(b.fields, "fields") ?? ["id"],
      properties: strings(b.properties, "properties") ?? [],
    };
    if (typeof b.nextPageToken === "string" && b.nextPageToken !== "") req.nextPageToken = b.nextPageToken;
    if (b.maxResults !== undefined && b.maxResults !== null) {
      if (!Number.isInteger(b.maxResults) || (b.maxResults as number) < 0)
        throw badRequest([`The value '${b.maxResults}' is not valid for the parameter 'maxResults'.`]);
      req.maxResults = b.maxResults as number;
    }
    return req;
  }

  function search(req: SearchRequest) {
    let compiled: ReturnType<typeof compileJql>;
    try {
      compiled = compileJql(req.jql, catalog);
    } catch (e) {
      if (e instanceof JqlSyntaxError) throw badRequest([e.message]);
      if (e instanceof JqlValidationError) throw badRequest(e.messages);
      throw e;
    }
    if (!compiled.bounded) throw badRequest([ERR_UNBOUNDED]);
    if (req.properties.length > 5)
      throw badRequest(["The 'properties' parameter accepts at most 5 issue property keys."]);
    let offset = 0;
    if (req.nextPageToken !== undefined) {
      const decoded = decodePageToken(req.nextPageToken, req.jql);
      if (decoded === undefined)
        throw badRequest([
          `The nextPageToken '${req.nextPageToken}' is invalid or does not belong to this query.`,
        ]);
      offset = decoded;
    }
    const pageSize = Math.max(1, Math.min(req.maxResults || SEARCH_DEFAULT_PAGE, SEARCH_MAX_PAGE));
    const hits = issues
      .map((i) => [i, searchable(i)] as const)
      .filter(([, s]) => compiled.matches(s))
      .sort(([, a], [, b]) => compiled.compare(a, b))
      .map(([i]) => i);
    const page = hits.slice(offset, offset + pageSize);
    const isLast = offset + pageSize >= hits.length;
    return {
      issues: page.map((i) => presentIssue(i, req.fields, req.properties, false)),
      ...(isLast ? {} : { nextPageToken: encodePageToken(offset + pageSize, req.jql) }),
      isLast,
    };
  }

  // ---- HTTP ----

  /** Authentication, rate limit, then the route. Always returns an answer (errors as Jira's error bodies). */
  function answerFor({ req, method, path, q, rawBody }: StandInRequest): Answer {
    if (!authenticated(req.headers.authorization))
      return jiraError(401, [ERR_AUTH], { "x-seraph-loginreason": "AUTHENTICATED_FAILED" });
    const slot = limiter.take(email.toLowerCase());
    if (!slot.ok) return jiraError(429, ["Rate limit exceeded."], slot.headers);
    try {
      const a = route(method, path, q, rawBody);
      return { ...a, headers: { ...slot.headers, ...a.headers } };
    } catch (e) {
      if (e instanceof HttpError)
        return {
          status: e.status,
          body: { errorMessages: e.errorMessages, errors: e.errors },
          headers: slot.headers,
        };
      return jiraError(500, ["Internal server error"], slot.headers);
    }
  }

  function authenticated(header: string | undefined): boolean {
    const m = /^Basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header ?? "");
    if (!m) return false;
    const decoded = Buffer.from(m[1]!, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon < 0) return false;
    const given = digest(`${decoded.slice(0, colon).toLowerCase()}:${decoded.slice(colon + 1)}`);
    return timingSafeEqual(given, expectedAuth);
  }

  function snapshots(): JiraIssueSnapshot[] {
    return issues.map((i) => ({
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

  const standIn = await startStandIn({
    port: opts.port ?? 7120,
    host,
    faults: JIRA_FAULTS,
    contentType: JSON_TYPE,
    headers: ({ body }) => ({
      ...(body === undefined ? {} : { "content-type": JSON_TYPE }),
      "x-arequestid": randomBytes(8).toString("hex"),
    }),
    tooLarge: () => jiraError(413, ["Request entity too large."]),
    internalError: () => jiraError(500, ["Internal server error"]).body,
    statusFault(fault) {
      if (fault.status === 429)
        return jiraError(429, ["Rate limit exceeded."], limiter.refusedHeaders(fault.retryAfterSeconds ?? 1));
      return jiraError(fault.status, [SERVER_ERRORS[fault.status]!], retryAfterHeader(fault));
    },
    malformedBody: '{"issues":[{"id":"10000","key":"SUP-1","fields":{"summary":"Nordlicht Logis',
    resetRateLimits: () => limiter.reset(),
    control: (method, path) =>
      path === "/__sandbox/issues" && method === "GET" ? ok(200, { issues: snapshots() }) : undefined,
    answer: answerFor,
  });
  url = standIn.url;

  return {
    url,
    email,
    apiToken,
    faults: standIn.faults,
    requestCount: standIn.requestCount,
    issues: snapshots,
    resetRateLimits: () => limiter.reset(),
    close: standIn.close,
  };
}

const ok = (status: number, body: unknown): Answer => ({ status, body });

/** Jira's error answer: `errorMessages` and no field errors. */
const jiraError = (status: number, messages: string[], headers: Record<string, string> = {}): Answer => ({
  status,
  body: { errorMessages: messages, errors: {} },
  headers,
});

const digest = (s: string) => createHash("sha256").update(s).digest();

function noRoute(method: string, path: string) {
  return new HttpError(404, [`No resource found for ${method} ${path}.`]);
}

function allow(method: string, methods: string[], path: string) {
  if (!methods.includes(method)) throw new HttpError(405, [`Method ${method} is not allowed for ${path}.`]);
}

/** Parses a JSON request body; an empty body is `{}`. */
function json(rawBody: string): unknown {
  if (rawBody.trim() === "") return {};
  try {
    return JSON.parse(rawBody);
  } catch {
    throw badRequest([ERR_PAYLOAD]);
  }
}

function object(v: unknown): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw badRequest([ERR_PAYLOAD]);
  return v as Record<string, unknown>;
}

function checkPropertyKey(key: string) {
  if (key.length === 0 || key.length > MAX_PROPERTY_KEY)
    throw badRequest([`The property key must be between 1 and ${MAX_PROPERTY_KEY} characters long.`]);
}

function checkPropertyValue(serialized: string) {
  if (Buffer.byteLength(serialized) > MAX_PROPERTY_VALUE)
    throw badRequest([`The property value exceeds the maximum size of ${MAX_PROPERTY_VALUE} bytes.`]);
}

function nonNegativeInt(v: string | null): number | undefined {
  if (v === null || !/^[0-9]+$/.test(v)) return undefined;
  return Number(v);
}

/** A `startAt` / `maxResults` query parameter: absent is the default, anything but a whole number is a 400. */
function pageParam(q: URLSearchParams, name: string, fallback: number): number {
  const raw = q.get(name);
  if (raw === null || raw === "") return fallback;
  const n = nonNegativeInt(raw);
  if (n === undefined) throw badRequest([`The value '${raw}' is not valid for the parameter '${name}'.`]);
  return n;
}

function positiveInt(v: string | null): number | undefined {
  const n = nonNegativeInt(v);
  return n === undefined || n === 0 ? undefined : n;
}
