import { type ToolContext, ToolError, UpstreamError } from "@gatehouse/kit";
import type { JiraGateway } from "@gatehouse/tickets";

type Ctx = Pick<ToolContext<unknown>, "annotate" | "signal">;

/** Read-only lookups that keep drafts sendable: the project has the issue type, the commented issue exists. */
export async function validateInJira(
  jira: JiraGateway,
  ctx: Ctx,
  project: string,
  issueType: string,
  commentOn: string | null,
): Promise<void> {
  const found = await jira.call(ctx, "project.get", (c) =>
    c.projects.getProject({ projectIdOrKey: project }),
  );
  const types = (found.issueTypes ?? []).map((t) => t.name ?? "");
  if (!types.includes(issueType))
    throw new ToolError(
      `issue type "${issueType}" does not exist in ${project}; use one of ${types.join(", ")}`,
    );
  if (commentOn) {
    if (!commentOn.startsWith(`${project}-`))
      throw new ToolError(`comment_on ${commentOn} is not an issue of project ${project}`);
    try {
      await jira.call(ctx, "issue.get", (c) =>
        c.issues.getIssue({ issueIdOrKey: commentOn, fields: ["summary"] }),
      );
    } catch (err) {
      if (err instanceof UpstreamError && err.status === 404)
        throw new ToolError(`issue ${commentOn} does not exist`);
      throw err;
    }
  }
}
