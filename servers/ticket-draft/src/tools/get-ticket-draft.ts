import { draftId, draftView, toDraftView } from "@gatehouse/tickets";
import { z } from "zod";
import { defineDraftTool } from "../services.ts";

export const getTicketDraft = defineDraftTool({
  name: "get_ticket_draft",
  title: "Get a ticket draft",
  description: "One ticket draft with its content hash and whether it was sent.",
  kind: "read",
  scope: "tickets:draft",
  input: z.object({ draft_id: draftId }),
  output: z.object({ draft: draftView }),
  records: (out) => [{ type: "ticket_draft", id: out.draft.draft_id, tenant: out.draft.tenant }],
  handler: async (args, ctx) => ({
    draft: toDraftView(await ctx.services.drafts.require(args.draft_id)),
  }),
});
