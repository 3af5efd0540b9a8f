import { tenantArgument } from "@gatehouse/kit";
import { z } from "zod";
import { cursor, customerId, isoTime, limit, nextCursor, orderId } from "../schemas.ts";
import { defineOrderTool } from "../services.ts";

const input = z.object({
  overdue_only: z.boolean().default(false).describe("Only invoices past their due date"),
  customer_id: customerId.optional().describe("Only this customer's invoices"),
  tenant: tenantArgument,
  limit,
  cursor,
});

const output = z.object({
  invoices: z.array(
    z.object({
      invoice_id: z.string(),
      tenant: z.string(),
      order_id: orderId,
      customer_id: customerId,
      status: z.string(),
      currency: z.string(),
      amount_cents: z.number().int(),
      paid_cents: z.number().int(),
      outstanding_cents: z.number().int(),
      due_at: isoTime,
      days_overdue: z.number().int(),
    }),
  ),
  next_cursor: nextCursor,
});

export const listUnpaidInvoices = defineOrderTool({
  name: "list_unpaid_invoices",
  title: "List unpaid invoices",
  description: "Open and partially paid invoices, earliest due first, with what is still outstanding.",
  kind: "read",
  scope: "orders:read",
  input,
  output,
  records: (out) => out.invoices.map((i) => ({ type: "invoice", id: i.invoice_id, tenant: i.tenant })),
  handler: async (args, ctx) => {
    const result = await ctx.services.orders.unpaidInvoices(
      args.tenant,
      args.overdue_only,
      args.limit,
      args.cursor,
      args.customer_id,
    );
    return {
      invoices: result.items.map((i) => ({
        invoice_id: i.id,
        tenant: i.tenant,
        order_id: i.order_id,
        customer_id: i.customer_id,
        status: i.status,
        currency: i.currency,
        amount_cents: i.amount_cents,
        paid_cents: i.paid_cents,
        outstanding_cents: i.outstanding_cents,
        due_at: i.due_at,
        days_overdue: i.days_overdue,
      })),
      next_cursor: result.nextCursor,
    };
  },
});
