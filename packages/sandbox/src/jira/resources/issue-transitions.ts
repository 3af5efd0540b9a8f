import { allow, badRequest, json, object, ok } from "../http.ts";
import type { IssueResource, JiraContext } from "./resource.ts";

/** GET /issue/{idOrKey}/transitions (every workflow transition) and POST (move the issue). */
export const issueTransitions = ({ site, present }: JiraContext): IssueResource => {
  const statusById = (id: string) => site.seed.statuses.find((s) => s.id === id)!;
  return ({ method, path, parts, rawBody }, issue) => {
    if (parts[2] !== "transitions" || parts.length !== 3) return undefined;
    allow(method, ["GET", "POST"], path);
    if (method === "GET") {
      return ok(200, {
        expand: "transitions",
        transitions: site.seed.transitions.map((t) => ({
          id: t.id,
          name: t.name,
          to: present.status(statusById(t.toStatusId)),
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
    const t = site.seed.transitions.find((x) => x.id === id);
    if (!t) throw badRequest([`Transition id '${id}' is not valid for this issue.`]);
    issue.status = statusById(t.toStatusId);
    issue.updated = Date.now();
    return { status: 204 };
  };
};
