import { listParam } from "../../stand-in/server.ts";
import { adfText } from "../adf.ts";
import { allow, badRequest, ERR_PAYLOAD, HttpError, json, nonNegativeInt, object, ok } from "../http.ts";
import type { StoredIssue } from "../issue-store.ts";
import { JqlSyntaxError } from "../jql.ts";
import {
  compileJql,
  decodePageToken,
  encodePageToken,
  JqlValidationError,
  type SearchableIssue,
  type SearchCatalog,
} from "../search.ts";
import type { JiraContext, Resource } from "./resource.ts";

const SEARCH_DEFAULT_PAGE = 50;
const SEARCH_MAX_PAGE = 100;

const ERR_UNBOUNDED =
  "Unbounded JQL queries are not allowed here. Please add a search restriction to your query.";
const ERR_REMOVED =
  "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046";

/**
 * The removed `/rest/api/{2,3}/search`: 410 for every method, checked before anything else routes (it is
 * the one v2 path answered with more than a 404).
 */
export function refuseRemovedSearch(path: string): void {
  if (/^\/rest\/api\/[23]\/search\/?$/.test(path)) throw new HttpError(410, [ERR_REMOVED]);
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

/** GET and POST /search/jql: the enhanced JQL search, paged with `nextPageToken`. */
export const search = ({ site, issues, present }: JiraContext): Resource => {
  const catalog: SearchCatalog = {
    projects: site.seed.projects,
    issueTypes: site.seed.issueTypes,
    statuses: site.seed.statuses,
    priorities: site.seed.priorities,
    issueKeyExists: (key) => issues.hasKey(key),
  };

  function run(req: SearchRequest) {
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
    const hits = issues.all
      .map((i) => [i, searchable(i)] as const)
      .filter(([, s]) => compiled.matches(s))
      .sort(([, a], [, b]) => compiled.compare(a, b))
      .map(([i]) => i);
    const page = hits.slice(offset, offset + pageSize);
    const isLast = offset + pageSize >= hits.length;
    return {
      issues: page.map((i) => present.issue(i, req.fields, req.properties, false)),
      ...(isLast ? {} : { nextPageToken: encodePageToken(offset + pageSize, req.jql) }),
      isLast,
    };
  }

  return ({ method, path, parts, q, rawBody }) => {
    if (parts[0] !== "search" || parts[1] !== "jql" || parts.length !== 2) return undefined;
    allow(method, ["GET", "POST"], path);
    return ok(200, run(method === "GET" ? searchFromQuery(q) : searchFromBody(json(rawBody))));
  };
};
