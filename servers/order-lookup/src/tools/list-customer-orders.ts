import { tenantArgument } from "@gatehouse/kit";
import { z } from "zod";
import { cursor, customerId, isoTime, limit, money, nextCursor, orderId } from "../schemas.ts";
import { defineOrderTool } from "../services.ts";

const input = z.object({
  customer_id: customerId,
  status: z
    .enum(["open", "shipped", "delivered", "cancelled"])
    .optional()
    .describe("Only orders in this state"),
  tenant: tenantArgument,
  limit,
  cursor,
});

const output = z.object({
  orders: z.array(
    z.object({
      order_id: orderId,
      tenant: z.string(),
      status: z.string(),
      ordered_at: isoTime,
      promised_at: isoTime,
      total: money,
      invoice_status: z.string().nullable(),
      late: z.boolean().describe("Not delivered and past the promised date"),
    }),
  ),
  next_cursor: nextCursor,
});

export const listCustomerOrders = defineOrderTool({
  name: "list_customer_orders",
  title: "List a customer's orders",
  description: "Orders of one customer, newest first, with status, promise date, total and invoice status.",
  kind: "read",
  scope: "orders:read",
  input,
  output,
  records: (out) => out.orders.map((o) => ({ type: "order", id: o.order_id, tenant: o.tenant })),
  handler: async (args, ctx) => {
    const result = await ctx.services.orders.customerOrders(
      args.tenant,
      args.customer_id,
      args.status,
      args.limit,
      args.cursor,
    );
    return {
      orders: result.items.map((o) => ({
        order_id: o.id,
        tenant: o.tenant,
        status: o.status,
        ordered_at: o.ordered_at,
        promised_at: o.promised_at,
        total: { amount_cents: o.total_cents, currency: o.currency },
        invoice_status: o.invoice_status,
        late: o.late,
      })),
      next_cursor: result.nextCursor,
    };
  },
});
