import { tenantArgument } from "@gatehouse/kit";
import { z } from "zod";
import { companySummary, cursor, limit, nextCursor, searchQuery, toCompanySummary } from "../schemas.ts";
import { defineCrmTool } from "../services.ts";

const input = z.object({
  query: searchQuery
    .optional()
    .describe("Part of the company name or web domain; omit to list all companies of the tenant"),
  tenant: tenantArgument,
  limit,
  cursor,
});

const output = z.object({
  companies: z.array(companySummary),
  next_cursor: nextCursor,
});

export const searchCompanies = defineCrmTool({
  name: "search_companies",
  title: "Search companies in the CRM",
  description:
    "Find HubSpot companies of your tenant by name or web domain, or list them all. Returns ids for get_company.",
  kind: "read",
  scope: "crm:read",
  input,
  output,
  records: (out) => out.companies.map((c) => ({ type: "company", id: c.company_id, tenant: c.tenant })),
  handler: async (args, ctx) => {
    const page = await ctx.services.crm.searchCompanies(
      ctx,
      args.tenant,
      args.query,
      args.limit,
      args.cursor,
    );
    return {
      companies: page.companies.map(toCompanySummary),
      next_cursor: page.nextCursor,
    };
  },
});
