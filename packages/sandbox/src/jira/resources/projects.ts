import { allow, HttpError, ok } from "../http.ts";
import { findProject } from "../issue-store.ts";
import type { JiraContext, Resource } from "./resource.ts";

/** GET /project/{idOrKey}: one project with its issue types. */
export const projects =
  ({ site, present }: JiraContext): Resource =>
  ({ method, path, parts }) => {
    if (parts[0] !== "project" || parts.length !== 2) return undefined;
    allow(method, ["GET"], path);
    const p = findProject(site.seed, parts[1]!);
    if (!p) throw new HttpError(404, [`No project could be found with key '${parts[1]}'.`]);
    return ok(200, present.project(p, true));
  };
