import { ToolError, tenantArgument } from "@gatehouse/kit";
import { draftId, draftView, toDraftView } from "@gatehouse/tickets";
import { z } from "zod";
import { defineDraftTool } from "../services.ts";

const input = z.object({
  status: z.enum(["draft", "sending", "sent"]).optional(),
  tenant: tenantArgument,
  limit: z.number().int().min(1).max(50).default(20),
  cursor: z.string().max(64).optional(),
});

export const listTicketDrafts = defineDraftTool({
  name: "list_ticket_drafts",
  title: "List ticket drafts",
  description: "Ticket drafts of your tenant, optionally only unsent or sent ones.",
  kind: "read",
  scope: "tickets:draft",
  input,
  output: z.object({ drafts: z.array(draftView), next_cursor: z.string().nullable() }),
  records: (out) => out.drafts.map((d) => ({ type: "ticket_draft", id: d.draft_id, tenant: d.tenant })),
  handler: async (args, ctx) => {
    if (args.cursor && !draftId.safeParse(args.cursor).success)
      throw new ToolError("cursor is not one this server issued; pass next_cursor unchanged");
    const page = await ctx.services.drafts.list(args.tenant, args.status, args.limit, args.cursor);
    return { drafts: page.drafts.map(toDraftView), next_cursor: page.next };
  },
});
