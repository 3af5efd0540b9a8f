import type { AdfDoc } from "../adf.ts";
import { adfError } from "../adf.ts";
import { allow, badRequest, json, nonNegativeInt, object, ok, positiveInt } from "../http.ts";
import type { StoredComment, StoredIssue } from "../issue-store.ts";
import type { IssueResource, JiraContext } from "./resource.ts";

const COMMENTS_MAX_PAGE = 5000;

/** GET (paged, optionally newest first) and POST /issue/{idOrKey}/comment. */
export const issueComments = ({ issues, present }: JiraContext): IssueResource => {
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
      id: issues.newCommentId(),
      body: structuredClone(body.body as AdfDoc),
      created: now,
      updated: now,
    };
    issue.comments.push(comment);
    issue.updated = now;
    return present.comment(issue, comment);
  }

  return ({ method, path, parts, q, rawBody }, issue) => {
    if (parts[2] !== "comment" || parts.length !== 3) return undefined;
    allow(method, ["GET", "POST"], path);
    if (method === "POST") return ok(201, addComment(issue, json(rawBody)));
    const startAt = nonNegativeInt(q.get("startAt")) ?? 0;
    const maxResults = Math.min(positiveInt(q.get("maxResults")) ?? COMMENTS_MAX_PAGE, COMMENTS_MAX_PAGE);
    const ordered = q.get("orderBy") === "-created" ? [...issue.comments].reverse() : issue.comments;
    return ok(200, {
      startAt,
      maxResults,
      total: issue.comments.length,
      comments: ordered.slice(startAt, startAt + maxResults).map((c) => present.comment(issue, c)),
    });
  };
};
