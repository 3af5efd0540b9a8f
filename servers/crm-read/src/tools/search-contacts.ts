import { defineTool, tenantArgument } from "@gatehouse/kit";
import { z } from "zod";
import { type CrmServices, cursor, hubspotId, limit, nextCursor, props, searchQuery } from "../schemas.ts";

const input = z.object({ query: searchQuery, tenant: tenantArgument, limit, cursor });

const output = z.object({
  contacts: z.array(
    z.object({
      contact_id: hubspotId("contact"),
      tenant: z.string(),
      name: z.string(),
      job_title: z.string().nullable(),
      email: z.string().nullable().describe("Redacted unless you hold crm:pii"),
      phone: z.string().nullable().describe("Redacted unless you hold crm:pii"),
    }),
  ),
  next_cursor: nextCursor,
});

export const searchContacts = defineTool({
  name: "search_contacts",
  title: "Search contacts in the CRM",
  description: "Find HubSpot contacts of your tenant by name or email. Contact details need crm:pii.",
  kind: "read",
  scope: "crm:read",
  piiScope: "crm:pii",
  input,
  output,
  records: (out) => out.contacts.map((c) => ({ type: "contact", id: c.contact_id, tenant: c.tenant })),
  handler: async (
    args,
    ctx: { services: CrmServices } & Parameters<CrmServices["crm"]["searchContacts"]>[0],
  ) => {
    const page = await ctx.services.crm.searchContacts(
      ctx,
      args.tenant!,
      args.query,
      args.limit,
      args.cursor,
    );
    return {
      contacts: page.contacts.map((c) => {
        const p = props(c.properties);
        return {
          contact_id: c.id,
          tenant: p("region") ?? "unknown",
          name: [p("firstname"), p("lastname")].filter(Boolean).join(" "),
          job_title: p("jobtitle"),
          email: p("email"),
          phone: p("phone"),
        };
      }),
      next_cursor: page.nextCursor,
    };
  },
});
