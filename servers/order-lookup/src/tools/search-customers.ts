import { tenantArgument } from "@gatehouse/kit";
import { z } from "zod";
import { cursor, customerId, limit, nextCursor } from "../schemas.ts";
import { defineOrderTool } from "../services.ts";

const input = z.object({
  query: z.string().trim().min(2).max(100).describe("Part of the company name or web domain"),
  tenant: tenantArgument,
  limit,
  cursor,
});

const output = z.object({
  customers: z.array(
    z.object({
      customer_id: customerId,
      tenant: z.string(),
      name: z.string(),
      domain: z.string(),
      contact_name: z.string(),
      contact_email: z.string().describe("Redacted unless you hold orders:pii"),
      contact_phone: z.string().describe("Redacted unless you hold orders:pii"),
    }),
  ),
  next_cursor: nextCursor,
});

export const searchCustomers = defineOrderTool({
  name: "search_customers",
  title: "Search customers",
  description:
    "Find customer companies in the orders system by name or web domain. Returns ids to use with list_customer_orders.",
  kind: "read",
  scope: "orders:read",
  piiScope: "orders:pii",
  input,
  output,
  records: (out) => out.customers.map((c) => ({ type: "customer", id: c.customer_id, tenant: c.tenant })),
  handler: async (args, ctx) => {
    const result = await ctx.services.orders.searchCustomers(
      args.tenant,
      args.query,
      args.limit,
      args.cursor,
    );
    return {
      customers: result.items.map((c) => ({
        customer_id: c.id,
        tenant: c.tenant,
        name: c.name,
        domain: c.domain,
        contact_name: c.contact_name,
        contact_email: c.contact_email,
        contact_phone: c.contact_phone,
      })),
      next_cursor: result.nextCursor,
    };
  },
});
