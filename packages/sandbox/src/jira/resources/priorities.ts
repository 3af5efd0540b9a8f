import { listParam } from "../../stand-in/server.ts";
import { allow, badRequest, HttpError, ok, pageParam } from "../http.ts";
import { DEFAULT_PRIORITY } from "../issue-store.ts";
import type { JiraContext, Resource } from "./resource.ts";

const PRIORITIES_DEFAULT_PAGE = 50;

/** GET /priority (the deprecated list), /priority/search (paged), /priority/{id}. */
export const priorities = ({ site, present }: JiraContext): Resource => {
  const { seed } = site;

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
      `${site.url}/rest/api/3/priority/search?maxResults=${maxResults}&startAt=${at}`;
    const isLast = startAt + maxResults >= matching.length;
    return {
      self: pageUrl(startAt),
      ...(isLast ? {} : { nextPage: pageUrl(startAt + maxResults) }),
      maxResults,
      startAt,
      total: matching.length,
      isLast,
      values: matching.slice(startAt, startAt + maxResults).map(present.priorityDetails),
    };
  }

  return ({ method, path, parts, q }) => {
    if (parts[0] !== "priority") return undefined;
    // Any method but GET is refused under /priority, even on paths that are not served.
    allow(method, ["GET"], path);
    // The deprecated list (jira.js 5's getPriorities); jira.js 6 pages through /priority/search instead.
    if (parts.length === 1) return ok(200, seed.priorities.map(present.priorityDetails));
    if (parts.length === 2 && parts[1] === "search") return ok(200, searchPriorities(q));
    if (parts.length === 2) {
      const p = seed.priorities.find((x) => x.id === parts[1]);
      if (!p) throw new HttpError(404, [`Priority with ID ${parts[1]} does not exist.`]);
      return ok(200, present.priorityDetails(p));
    }
    return undefined;
  };
};
