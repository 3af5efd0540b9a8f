import { tenantArgument } from "@gatehouse/kit";
import { z } from "zod";
import { cursor, customerId, isoTime, limit, nextCursor, orderId } from "../schemas.ts";
import { defineOrderTool } from "../services.ts";

const input = z.object({ tenant: tenantArgument, limit, cursor });

const output = z.object({
  orders: z.array(
    z.object({
      order_id: orderId,
      tenant: z.string(),
      customer_id: customerId,
      customer_name: z.string(),
      status: z.string(),
      shipment_status: z.string().nullable(),
      promised_at: isoTime,
      days_late: z.number().int(),
    }),
  ),
  next_cursor: nextCursor,
});

export const listLateOrders = defineOrderTool({
  name: "list_late_orders",
  title: "List late orders",
  description: "Orders not yet delivered whose promised date has passed, most overdue first.",
  kind: "read",
  scope: "orders:read",
  input,
  output,
  records: (out) => out.orders.map((o) => ({ type: "order", id: o.order_id, tenant: o.tenant })),
  handler: async (args, ctx) => {
    const result = await ctx.services.orders.lateOrders(args.tenant, args.limit, args.cursor);
    return {
      orders: result.items.map((o) => ({
        order_id: o.id,
        tenant: o.tenant,
        customer_id: o.customer_id,
        customer_name: o.customer_name,
        status: o.status,
        shipment_status: o.shipment_status,
        promised_at: o.promised_at,
        days_late: o.days_late,
      })),
      next_cursor: result.nextCursor,
    };
  },
});
