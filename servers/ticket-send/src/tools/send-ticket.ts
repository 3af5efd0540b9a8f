import { draftId, jiraRequestFor } from "@gatehouse/tickets";
import { z } from "zod";
import { subjectOf } from "../sends.ts";
import { defineSendTool } from "../services.ts";

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

export const sendTicket = defineSendTool({
  name: "send_ticket",
  title: "Send an approved ticket draft to Jira",
  description:
    "Files one approved draft in Jira (a new issue, or a comment on the issue it names) exactly once; retrying returns the same issue. Needs an approval, by someone who wrote none of it, of exactly the current draft content; the draft is frozen while it is sent. dry_run shows what would be sent.",
  kind: "send",
  scope: "tickets:send",
  input,
  output,
  target: async (args, ctx) => {
    const d = await ctx.services.drafts.get(args.draft_id);
    return d && { type: "ticket_draft", id: d.id, tenant: d.tenant };
  },
  // What this call would send: the draft as stored, once any earlier attempt is settled. A draft already
  // filed needs no approval (the call only replays its result); a dry run sends nothing.
  approval: async (args, ctx) => {
    if (args.dry_run) return null;
    const settled = await ctx.services.sends.settle(ctx, args.draft_id);
    return "sent" in settled ? null : subjectOf(settled.open);
  },
  handler: async (args, ctx) => {
    if (args.dry_run) {
      const draft = await ctx.services.drafts.require(args.draft_id);
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
    const sent = await ctx.services.sends.send(ctx, args.draft_id, ctx.approval, ctx.identity.user);
    const draft = await ctx.services.drafts.require(args.draft_id);
    return {
      draft_id: draft.id,
      dry_run: false,
      content_hash: draft.contentHash,
      jira_request: null,
      jira_key: sent.jiraKey,
      replayed: sent.replayed,
      approval_id: sent.approvalId,
      approved_by: sent.approver,
    };
  },
});
