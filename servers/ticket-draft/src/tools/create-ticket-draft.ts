import { tenantArgument } from "@gatehouse/kit";
import {
  draftDescription,
  draftView,
  issueKey,
  label,
  priority,
  projectKey,
  toDraftView,
} from "@gatehouse/tickets";
import { z } from "zod";
import { defineDraftTool, requireProjectOfTenant } from "../services.ts";
import { validateInJira } from "../validate-in-jira.ts";

const input = z.object({
  project: projectKey,
  issue_type: z.string().trim().min(1).max(50).describe("Jira issue type, e.g. Task, Bug, Incident"),
  summary: z.string().trim().min(1).max(255),
  description: draftDescription,
  priority: priority.optional(),
  labels: z.array(label).max(10).default([]),
  customer_id: z
    .string()
    .regex(/^CUST-\d{4,8}$/, "a customer id looks like CUST-0042")
    .optional(),
  order_id: z
    .string()
    .regex(/^SO-\d{6,10}$/, "an order id looks like SO-100123")
    .optional(),
  comment_on: issueKey.optional().describe("Send as a comment on this existing issue instead of a new issue"),
  tenant: tenantArgument,
});

export const createTicketDraft = defineDraftTool({
  name: "create_ticket_draft",
  title: "Draft a Jira ticket",
  description:
    "Saves a ticket draft in Gatehouse. Nothing reaches Jira until an approver approves it and ticket-send sends it.",
  kind: "draft",
  scope: "tickets:draft",
  input,
  output: z.object({ draft: draftView }),
  records: (out) => [{ type: "ticket_draft", id: out.draft.draft_id, tenant: out.draft.tenant }],
  handler: async (args, ctx) => {
    const tenant = args.tenant;
    requireProjectOfTenant(ctx.services.jira, args.project, tenant);
    await validateInJira(ctx.services.jira, ctx, args.project, args.issue_type, args.comment_on ?? null);
    const draft = await ctx.services.drafts.create(tenant, ctx.identity.user, {
      project: args.project,
      issueType: args.issue_type,
      summary: args.summary,
      description: args.description,
      priority: args.priority ?? null,
      labels: args.labels,
      customerId: args.customer_id ?? null,
      orderId: args.order_id ?? null,
      commentOn: args.comment_on ?? null,
    });
    // Lets `gatehouse audit trace <draft-id>` follow the draft from here through approval and send.
    ctx.annotate("subject", `ticket_draft/${draft.id}`);
    return { draft: toDraftView(draft) };
  },
});
