import { identifier } from "@gatehouse/kit";
import { z } from "zod";
import { summariseDeals } from "../crm.ts";
import { companySummary, dealSummary, hubspotId, props, toCompanySummary } from "../schemas.ts";
import { defineCrmTool } from "../services.ts";

const MAX_CONTACTS = 20;

const input = z.object({
  company_id: identifier(hubspotId("company"), "a company id").describe(
    "HubSpot company id, from search_companies",
  ),
});

const output = z.object({
  company: companySummary,
  contacts: z.object({
    total: z.number().int(),
    items: z.array(
      z.object({
        contact_id: z.string(),
        name: z.string(),
        job_title: z.string().nullable(),
        email: z.string().nullable().describe("Redacted unless you hold crm:pii"),
        phone: z.string().nullable().describe("Redacted unless you hold crm:pii"),
      }),
    ),
  }),
  deals: dealSummary,
});

export const getCompany = defineCrmTool({
  name: "get_company",
  title: "Get one company from the CRM",
  description: "One HubSpot company with a summary of its contacts (up to 20) and its deals by stage.",
  kind: "read",
  scope: "crm:read",
  piiScope: "crm:pii",
  input,
  output,
  records: (out) => [{ type: "company", id: out.company.company_id, tenant: out.company.tenant }],
  handler: async (args, ctx) => {
    const { company, contacts, contactsTotal, deals } = await ctx.services.crm.company(ctx, args.company_id);
    return {
      company: toCompanySummary(company),
      contacts: {
        total: contactsTotal,
        items: contacts.slice(0, MAX_CONTACTS).map((c) => {
          const cp = props(c.properties);
          return {
            contact_id: c.id,
            name: [cp("firstname"), cp("lastname")].filter(Boolean).join(" "),
            job_title: cp("jobtitle"),
            email: cp("email"),
            phone: cp("phone"),
          };
        }),
      },
      deals: summariseDeals(deals),
    };
  },
});
