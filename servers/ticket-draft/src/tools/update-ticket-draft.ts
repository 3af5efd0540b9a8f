import { draftDescription, draftId, draftView, label, priority, toDraftView } from "@gatehouse/tickets";
import { z } from "zod";
import { defineDraftTool, requireProjectOfTenant } from "../services.ts";
import { validateInJira } from "../validate-in-jira.ts";

const input = z.object({
  draft_id: draftId,
  issue_type: z.string().trim().min(1).max(50).optional(),
  summary: z.string().trim().min(1).max(255).optional(),
  description: draftDescription.optional(),
  priority: priority.optional(),
  labels: z.array(label).max(10).optional(),
});

export const updateTicketDraft = defineDraftTool({
  name: "update_ticket_draft",
  title: "Change a ticket draft",
  description:
    "Changes an unsent draft. The change gives it a new content hash, so any earlier approval no longer applies.",
  kind: "draft",
  scope: "tickets:draft",
  input,
  output: z.object({ draft: draftView }),
  target: async (args, ctx) => {
    const d = await ctx.services.drafts.get(args.draft_id);
    return d && { type: "ticket_draft", id: d.id, tenant: d.tenant };
  },
  records: (out) => [{ type: "ticket_draft", id: out.draft.draft_id, tenant: out.draft.tenant }],
  handler: async (args, ctx) => {
    const current = await ctx.services.drafts.require(args.draft_id);
    requireProjectOfTenant(ctx.services.jira, current.project, current.tenant);
    if (args.issue_type) await validateInJira(ctx.services.jira, ctx, current.project, args.issue_type, null);
    const draft = await ctx.services.drafts.update(args.draft_id, ctx.identity.user, {
      issueType: args.issue_type,
      summary: args.summary,
      description: args.description,
      priority: args.priority,
      labels: args.labels,
    });
    return { draft: toDraftView(draft) };
  },
});
