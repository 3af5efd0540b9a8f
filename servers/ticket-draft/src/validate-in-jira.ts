import { type ToolContext, ToolError, UpstreamError } from "@gatehouse/kit";
import { type JiraGateway, JiraUnreadableError } from "@gatehouse/tickets";

type Ctx = Pick<ToolContext<unknown>, "annotate" | "signal">;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * An answer that is not what Jira documents (a truncated body, which the gateway reports as unreadable, or
 * JSON without the fields read here): Jira's fault, never a verdict on the caller's project, issue type or issue.
 */
const unreadable = (asked: string) =>
  new UpstreamError(
    `Jira answered something unreadable when asked for ${asked}; try again`,
    undefined,
    false,
  );

/** `jira.call`, with an unreadable answer said as what was asked for. */
async function lookup<T>(asked: string, call: () => Promise<T>): Promise<unknown> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof JiraUnreadableError) throw unreadable(asked);
    throw err;
  }
}

/** Read-only lookups that keep drafts sendable: the project has the issue type, the commented issue exists. */
export async function validateInJira(
  jira: JiraGateway,
  ctx: Ctx,
  project: string,
  issueType: string,
  commentOn: string | null,
): Promise<void> {
  const found = await lookup(`project ${project}`, () =>
    jira.call(ctx, "project.get", (c) => c.projects.getProject({ projectIdOrKey: project })),
  );
  if (!isObject(found) || !Array.isArray(found.issueTypes) || !found.issueTypes.every(isObject))
    throw unreadable(`project ${project}`);
  const types = found.issueTypes.map((t) => (typeof t.name === "string" ? t.name : ""));
  if (!types.includes(issueType))
    throw new ToolError(
      `issue type "${issueType}" does not exist in ${project}; use one of ${types.join(", ")}`,
    );
  if (commentOn) {
    if (!commentOn.startsWith(`${project}-`))
      throw new ToolError(`comment_on ${commentOn} is not an issue of project ${project}`);
    let issue: unknown;
    try {
      issue = await lookup(`issue ${commentOn}`, () =>
        jira.call(ctx, "issue.get", (c) =>
          c.issues.getIssue({ issueIdOrKey: commentOn, fields: ["summary"] }),
        ),
      );
    } catch (err) {
      if (err instanceof UpstreamError && err.status === 404)
        throw new ToolError(`issue ${commentOn} does not exist`, { code: "not_found" });
      throw err;
    }
    if (!isObject(issue) || typeof issue.key !== "string") throw unreadable(`issue ${commentOn}`);
  }
}
