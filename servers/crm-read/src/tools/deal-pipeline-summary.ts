import { identifier, ToolError, tenantArgument } from "@gatehouse/kit";
import { z } from "zod";
import { summariseDeals } from "../crm.ts";
import { dealSummary, hubspotId } from "../schemas.ts";
import { defineCrmTool } from "../services.ts";

const input = z.object({
  company_id: identifier(hubspotId("company"), "a company id")
    .optional()
    .describe("Summarise one company's deals"),
  owner_id: identifier(hubspotId("owner"), "an owner id")
    .optional()
    .describe("Summarise one deal owner's deals"),
  tenant: tenantArgument,
});

const output = z.object({
  scope: z.object({ tenant: z.string(), company_id: z.string().nullable(), owner_id: z.string().nullable() }),
  deal_count: z.number().int(),
  truncated: z.boolean().describe("More than 1000 deals: the summary covers the first 1000"),
  summary: dealSummary,
});

export const dealPipelineSummary = defineCrmTool({
  name: "deal_pipeline_summary",
  title: "Summarise the deal pipeline",
  description: "Deal counts and amounts by stage for your tenant, one owner, or one company.",
  kind: "read",
  scope: "crm:read",
  input,
  output,
  // For one company, the company's own region decides; otherwise the query is scoped to the tenant.
  records: (out) =>
    out.scope.company_id ? [{ type: "company", id: out.scope.company_id, tenant: out.scope.tenant }] : [],
  handler: async (args, ctx) => {
    if (args.company_id && args.owner_id) throw new ToolError("give company_id or owner_id, not both");
    const result = await ctx.services.crm.dealSummary(ctx, args.tenant, {
      ownerId: args.owner_id,
      companyId: args.company_id,
    });
    return {
      scope: {
        tenant: result.companyRegion ?? args.tenant,
        company_id: args.company_id ?? null,
        owner_id: args.owner_id ?? null,
      },
      deal_count: result.deals.length,
      truncated: result.truncated,
      summary: summariseDeals(result.deals),
    };
  },
});
