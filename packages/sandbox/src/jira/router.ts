import type { Answer } from "../stand-in/server.ts";
import { noRoute } from "./http.ts";
import { issues } from "./resources/issues.ts";
import { myself } from "./resources/myself.ts";
import { priorities } from "./resources/priorities.ts";
import { projects } from "./resources/projects.ts";
import type { JiraContext, JiraRequest } from "./resources/resource.ts";
import { refuseRemovedSearch, search } from "./resources/search.ts";

const PREFIX = "/rest/api/3/";

/**
 * Routes an authenticated, rate-limited request to the resource that serves it; anything none serves is
 * Jira's 404. Resources throw HttpError for Jira's refusals.
 */
export function jiraRouter(ctx: JiraContext) {
  const resources = [myself(ctx), projects(ctx), priorities(ctx), search(ctx), issues(ctx)];
  return (method: string, path: string, q: URLSearchParams, rawBody: string): Answer => {
    refuseRemovedSearch(path);
    if (!path.startsWith(PREFIX)) throw noRoute(method, path);
    let parts: string[];
    try {
      parts = path.slice(PREFIX.length).split("/").filter(Boolean).map(decodeURIComponent);
    } catch {
      throw noRoute(method, path); // malformed percent-encoding
    }
    const req: JiraRequest = { method, path, parts, q, rawBody };
    for (const resource of resources) {
      const answer = resource(req);
      if (answer) return answer;
    }
    throw noRoute(method, path);
  };
}
