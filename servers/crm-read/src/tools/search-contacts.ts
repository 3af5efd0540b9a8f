import { tenantArgument } from "@gatehouse/kit";
import { z } from "zod";
import { cursor, hubspotId, limit, nextCursor, props } from "../schemas.ts";
import { defineCrmTool } from "../services.ts";

const input = z.object({
  query: z
    .string()
    .trim()
    .min(2)
    .max(100)
    .describe(
      "Words a contact's first name, last name or job title start with; with crm:pii, part of a name, email or phone number",
    ),
  tenant: tenantArgument,
  limit,
  cursor,
});

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

export const searchContacts = defineCrmTool({
  name: "search_contacts",
  title: "Search contacts in the CRM",
  description:
    "Find HubSpot contacts of your tenant. Without crm:pii it matches only what you can see: words that start a contact's first name, last name or job title. With crm:pii it uses HubSpot's free-text search over name, email and phone number. Emails and phone numbers are shown only with crm:pii.",
  kind: "read",
  scope: "crm:read",
  piiScope: "crm:pii",
  input,
  output,
  records: (out) => out.contacts.map((c) => ({ type: "contact", id: c.contact_id, tenant: c.tenant })),
  handler: async (args, ctx) => {
    const page = await ctx.services.crm.searchContacts(ctx, args.tenant, args.query, args.limit, args.cursor);
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
