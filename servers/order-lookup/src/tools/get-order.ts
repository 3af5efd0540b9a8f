import { ToolError } from "@gatehouse/kit";
import { z } from "zod";
import { customerId, isoTime, money, orderId } from "../schemas.ts";
import { defineOrderTool } from "../services.ts";

const input = z.object({ order_id: orderId });

const output = z.object({
  order: z.object({
    order_id: orderId,
    tenant: z.string(),
    status: z.string(),
    ordered_at: isoTime,
    promised_at: isoTime,
    late: z.boolean(),
    total: money,
    customer: z.object({
      customer_id: customerId,
      name: z.string(),
      domain: z.string(),
      contact_email: z.string().describe("Redacted unless you hold orders:pii"),
      contact_phone: z.string().describe("Redacted unless you hold orders:pii"),
    }),
    lines: z.array(
      z.object({
        line_no: z.number().int(),
        sku: z.string(),
        description: z.string(),
        quantity: z.number().int(),
        unit_price_cents: z.number().int(),
      }),
    ),
    shipments: z.array(
      z.object({
        shipment_id: z.string(),
        carrier: z.string(),
        tracking_number: z.string(),
        status: z.string(),
        shipped_at: isoTime.nullable(),
        delivered_at: isoTime.nullable(),
      }),
    ),
    invoice: z
      .object({
        invoice_id: z.string(),
        status: z.string(),
        amount_cents: z.number().int(),
        paid_cents: z.number().int(),
        refunded_cents: z.number().int(),
        outstanding_cents: z.number().int(),
        due_at: isoTime,
        overdue: z.boolean(),
      })
      .nullable(),
  }),
});

export const getOrder = defineOrderTool({
  name: "get_order",
  title: "Get one order",
  description: "One order with its lines, shipments and invoice/payment status.",
  kind: "read",
  scope: "orders:read",
  piiScope: "orders:pii",
  input,
  output,
  records: (out) => [{ type: "order", id: out.order.order_id, tenant: out.order.tenant }],
  handler: async (args, ctx) => {
    const o = await ctx.services.orders.order(args.order_id);
    if (!o) throw new ToolError(`order ${args.order_id} does not exist`, { code: "not_found" });
    return {
      order: {
        order_id: o.id,
        tenant: o.tenant,
        status: o.status,
        ordered_at: o.ordered_at,
        promised_at: o.promised_at,
        late: o.late,
        total: { amount_cents: o.total_cents, currency: o.currency },
        customer: {
          customer_id: o.customer_id,
          name: o.customer_name,
          domain: o.customer_domain,
          contact_email: o.contact_email,
          contact_phone: o.contact_phone,
        },
        lines: o.lines.map((l) => ({
          line_no: l.line_no,
          sku: l.sku,
          description: l.description,
          quantity: l.quantity,
          unit_price_cents: l.unit_price_cents,
        })),
        shipments: o.shipments.map((s) => ({
          shipment_id: s.id,
          carrier: s.carrier,
          tracking_number: s.tracking_number,
          status: s.status,
          shipped_at: s.shipped_at,
          delivered_at: s.delivered_at,
        })),
        invoice: o.invoice && {
          invoice_id: o.invoice.id,
          status: o.invoice.status,
          amount_cents: o.invoice.amount_cents,
          paid_cents: o.invoice.paid_cents,
          refunded_cents: o.invoice.refunded_cents,
          outstanding_cents: o.invoice.outstanding_cents,
          due_at: o.invoice.due_at,
          overdue: o.invoice.overdue,
        },
      },
    };
  },
});
