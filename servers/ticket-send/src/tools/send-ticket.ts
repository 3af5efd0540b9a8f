import { defineTool, ToolError } from "@gatehouse/kit";
import { draftId, jiraRequestFor, SUBJECT_TYPE } from "@gatehouse/tickets";
import { z } from "zod";
import type { TicketSendServices } from "../services.ts";

const input = z.object({
  draft_id: draftId,
  dry_run: z.boolean().default(false).describe("Return exactly what would be sent to Jira, and send nothing"),
});

const output = z.object({
  draft_id: z.string(),
  dry_run: z.boolean(),
  content_hash: z.string(),
  jira_request: z
    .record(z.string(), z.unknown())
    .nullable()
    .describe("Dry run only: the exact request Jira would get"),
  jira_key: z.string().nullable().describe("The issue created (or commented on)"),
  replayed: z
    .boolean()
    .describe("True when this draft had already been sent: the same issue is returned, nothing new is filed"),
  approval_id: z.string().nullable(),
  approved_by: z.string().nullable(),
});

export const sendTicket = defineTool({
  name: "send_ticket",
  title: "Send an approved ticket draft to Jira",
  description:
    "Files one approved draft in Jira (a new issue, or a comment on the issue it names) exactly once; retrying returns the same issue. Needs an approval by a second person for exactly the current draft content. dry_run shows what would be sent.",
  kind: "send",
  scope: "tickets:send",
  input,
  output,
  target: async (args, ctx: { services: TicketSendServices }) => {
    const d = await ctx.services.drafts.get(args.draft_id);
    return d && { type: "ticket_draft", id: d.id, tenant: d.tenant };
  },
  approval: async (args, ctx: { services: TicketSendServices }) => {
    if (args.dry_run) return null;
    const d = await ctx.services.drafts.require(args.draft_id);
    return {
      subjectType: SUBJECT_TYPE,
      id: d.id,
      tenant: d.tenant,
      owner: d.createdBy,
      contentHash: d.contentHash,
    };
  },
  handler: async (
    args,
    ctx: {
      services: TicketSendServices;
      identity: { user: string };
      approval?: NonNullable<Parameters<TicketSendServices["sends"]["send"]>[2]>;
    } & Parameters<TicketSendServices["sends"]["send"]>[0],
  ) => {
    const draft = await ctx.services.drafts.require(args.draft_id);
    if (args.dry_run) {
      return {
        draft_id: draft.id,
        dry_run: true,
        content_hash: draft.contentHash,
        jira_request: jiraRequestFor(draft) as unknown as Record<string, unknown>,
        jira_key: null,
        replayed: false,
        approval_id: null,
        approved_by: null,
      };
    }
    if (!ctx.approval) throw new ToolError("no approval was checked for this send");
    const sent = await ctx.services.sends.send(ctx, draft, ctx.approval, ctx.identity.user);
    return {
      draft_id: draft.id,
      dry_run: false,
      content_hash: draft.contentHash,
      jira_request: null,
      jira_key: sent.jiraKey,
      replayed: sent.replayed,
      approval_id: ctx.approval.id,
      approved_by: ctx.approval.approver,
    };
  },
});
