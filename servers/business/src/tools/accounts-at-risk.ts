import { tenantArgument } from "@gatehouse/kit";
import { z } from "zod";
import { accountsAtRisk } from "../accounts-at-risk.ts";
import { accountsAtRiskFinding } from "../at-risk-findings.ts";
import { defineBusinessTool } from "../services.ts";

const input = z.object({
  tenant: tenantArgument,
  limit: z.number().int().min(1).max(25).default(10).describe("How many accounts, worst first (1-25)"),
});

export const accountsAtRiskTool = defineBusinessTool({
  name: "accounts_at_risk",
  title: "Accounts at risk in a tenant",
  description:
    "The tenant's customer accounts ranked by risk from late orders, overdue invoices and open ticket drafts, worst first. Only ids, counts, amounts and flags; follow up with account_health or order-lookup.",
  kind: "read",
  scope: "business:read",
  input,
  output: accountsAtRiskFinding,
  records: (out) => out.accounts.map((a) => ({ type: "account", id: a.customer_id, tenant: out.tenant })),
  handler: async (args, ctx) =>
    accountsAtRisk(ctx.services.downstream, ctx, { tenant: args.tenant, limit: args.limit }),
});
