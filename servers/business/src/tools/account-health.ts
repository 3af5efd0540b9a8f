import { defineTool, ToolError } from "@gatehouse/kit";
import { z } from "zod";
import { accountHealth } from "../account-health.ts";
import type { Downstream } from "../downstream.ts";
import { accountHealthFinding } from "../findings.ts";

export interface BusinessServices {
  downstream: Downstream;
  close(): Promise<void>;
}

const input = z.object({
  company_id: z
    .string()
    .regex(/^\d{1,20}$/, "company_id is a HubSpot company id, e.g. 1001")
    .optional(),
  company_domain: z
    .string()
    .trim()
    .min(3)
    .max(253)
    .optional()
    .describe("The account's web domain, e.g. nordlicht-logistik.de"),
});

export const accountHealthTool = defineTool({
  name: "account_health",
  title: "Health of one customer account",
  description:
    "A structured finding across CRM, orders and ticket drafts for one account (by HubSpot company id or web domain): deal value, open and late orders, unpaid and overdue invoices, open drafts, and risk flags. Only counts, amounts, flags and ids.",
  kind: "read",
  scope: "business:read",
  input,
  output: accountHealthFinding,
  records: (out) =>
    out.account.tenant
      ? [{ type: "account", id: out.account.company_id ?? out.account.domain, tenant: out.account.tenant }]
      : [],
  handler: async (args, ctx: { services: BusinessServices } & Parameters<typeof accountHealth>[1]) => {
    if (!args.company_id === !args.company_domain)
      throw new ToolError("give exactly one of company_id or company_domain");
    return accountHealth(ctx.services.downstream, ctx, args);
  },
});
