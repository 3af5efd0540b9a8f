import { defineTool } from "@gatehouse/kit";
import { z } from "zod";
import {
  type CrmServices,
  cursor,
  hubspotId,
  limit,
  nextCursor,
  props,
  searchQuery,
  splitDomains,
  tenant,
} from "../schemas.ts";

const input = z.object({
  query: searchQuery
    .optional()
    .describe("Part of the company name or web domain; omit to list all companies of the tenant"),
  tenant: tenant.optional(),
  limit,
  cursor,
});

const output = z.object({
  companies: z.array(
    z.object({
      company_id: hubspotId("company"),
      tenant: z.string(),
      name: z.string().nullable(),
      domain: z.string().nullable(),
      additional_domains: z.array(z.string()),
      industry: z.string().nullable(),
      lifecycle_stage: z.string().nullable(),
      owner_id: z.string().nullable(),
      city: z.string().nullable(),
      country: z.string().nullable(),
    }),
  ),
  next_cursor: nextCursor,
});

export const searchCompanies = defineTool({
  name: "search_companies",
  title: "Search companies in the CRM",
  description:
    "Find HubSpot companies of your tenant by name or web domain, or list them all. Returns ids for get_company.",
  kind: "read",
  scope: "crm:read",
  input,
  output,
  records: (out) => out.companies.map((c) => ({ type: "company", id: c.company_id, tenant: c.tenant })),
  handler: async (
    args,
    ctx: { services: CrmServices } & Parameters<CrmServices["crm"]["searchCompanies"]>[0],
  ) => {
    const page = await ctx.services.crm.searchCompanies(
      ctx,
      args.tenant!,
      args.query,
      args.limit,
      args.cursor,
    );
    return {
      companies: page.companies.map((c) => {
        const p = props(c.properties);
        return {
          company_id: c.id,
          tenant: p("region") ?? "unknown",
          name: p("name"),
          domain: p("domain"),
          additional_domains: splitDomains(p("hs_additional_domains")),
          industry: p("industry"),
          lifecycle_stage: p("lifecyclestage"),
          owner_id: p("hubspot_owner_id"),
          city: p("city"),
          country: p("country"),
        };
      }),
      next_cursor: page.nextCursor,
    };
  },
});
