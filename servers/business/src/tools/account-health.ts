import { identifier } from "@gatehouse/kit";
import { z } from "zod";
import { accountHealth } from "../account-health.ts";
import { accountHealthFinding } from "../findings.ts";
import { defineBusinessTool } from "../services.ts";

const input = z.object({
  // A company id may arrive as a JSON number (Inspector's CLI, LLM clients).
  account: identifier(z.string().trim().min(1).max(253), "an account").describe(
    "The account: its HubSpot company id (digits, from crm-read) or its web domain, e.g. nordlicht-logistik.de",
  ),
});

export const accountHealthTool = defineBusinessTool({
  name: "account_health",
  title: "Health of one customer account",
  description:
    "A structured finding across CRM, orders and ticket drafts for one account (HubSpot company id or web domain): deal value, open and late orders, unpaid and overdue invoices, open drafts, and risk flags. Only counts, amounts, flags and ids.",
  kind: "read",
  scope: "business:read",
  input,
  output: accountHealthFinding,
  records: (out) =>
    out.account.tenant
      ? [{ type: "account", id: out.account.company_id ?? out.account.domain, tenant: out.account.tenant }]
      : [],
  handler: async (args, ctx) => {
    const byId = /^\d{1,20}$/.test(args.account);
    return accountHealth(
      ctx.services.downstream,
      ctx,
      byId ? { company_id: args.account } : { company_domain: args.account },
    );
  },
});
