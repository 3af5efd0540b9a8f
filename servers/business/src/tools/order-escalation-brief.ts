import { z } from "zod";
import { escalationBrief } from "../escalation-brief.ts";
import { escalationBrief as escalationBriefSchema } from "../escalation-findings.ts";
import { defineBusinessTool } from "../services.ts";

const input = z.object({
  order_id: z
    .string()
    .trim()
    .regex(/^SO-\d{6,10}$/, "an order id looks like SO-100001")
    .describe("The order to escalate, e.g. SO-100001"),
});

export const orderEscalationBriefTool = defineBusinessTool({
  name: "order_escalation_brief",
  title: "Escalation brief for one order",
  description:
    "What is late about one order and who to escalate to: promised date and days late, shipment and invoice status, the account's CRM owner, Jira issues that mention the order and open drafts. Only dates, statuses, amounts and ids.",
  kind: "read",
  scope: "business:read",
  input,
  output: escalationBriefSchema,
  records: (out) => [{ type: "order", id: out.order.order_id, tenant: out.order.tenant }],
  handler: async (args, ctx) => escalationBrief(ctx.services.downstream, ctx, args.order_id),
});
