import { tenantArgument, UpstreamError } from "@gatehouse/kit";
import { quoteJql, withinProjects } from "@gatehouse/tickets";
import { z } from "zod";
import { defineDraftTool } from "../services.ts";

const input = z.object({
  text: z.string().trim().min(2).max(200).describe("Words to find in existing tickets' text"),
  tenant: tenantArgument,
  limit: z.number().int().min(1).max(25).default(10),
});

const output = z.object({
  tickets: z.array(
    z.object({
      key: z.string(),
      tenant: z.string(),
      project: z.string(),
      summary: z.string(),
      status: z.string().nullable(),
    }),
  ),
});

interface SearchResult {
  issues?: Array<{
    key?: string;
    fields?: { summary?: string; status?: { name?: string }; project?: { key?: string } };
  }>;
}

export const searchTickets = defineDraftTool({
  name: "search_tickets",
  title: "Search existing Jira tickets",
  description:
    "Finds existing tickets in your tenant's Jira projects (read-only), e.g. to avoid drafting a duplicate.",
  kind: "read",
  scope: "tickets:draft",
  input,
  output,
  records: (out) => out.tickets.map((t) => ({ type: "ticket", id: t.key, tenant: t.tenant })),
  handler: async (args, ctx) => {
    const jira = ctx.services.jira;
    const projects = jira.settings.projectsByTenant.get(args.tenant) ?? [];
    if (projects.length === 0) return { tickets: [] };
    // The user's words are one quoted JQL value, ANDed with the tenant's projects.
    const jql = `${withinProjects(projects, `text ~ ${quoteJql(args.text)}`)} ORDER BY created DESC`;
    const res = (await jira.call(ctx, "search.jql", (c) =>
      c.issueSearch.searchAndReconsileIssuesUsingJqlPost({
        jql,
        maxResults: args.limit,
        fields: ["summary", "status", "project"],
      }),
    )) as SearchResult | null;
    // Jira always lists the issues found, if none; an answer without that list is not "no tickets".
    if (!Array.isArray(res?.issues))
      throw new UpstreamError(
        "Jira answered something unreadable to the search; try again",
        undefined,
        false,
      );
    return {
      tickets: res.issues.map((i) => {
        const project = i.fields?.project?.key ?? (i.key ?? "").split("-")[0] ?? "";
        return {
          key: i.key ?? "",
          tenant: jira.tenantOfProject(project) ?? "unknown",
          project,
          summary: i.fields?.summary ?? "",
          status: i.fields?.status?.name ?? null,
        };
      }),
    };
  },
});
