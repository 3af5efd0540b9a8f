import { z } from "zod";

/**
 * What business reads from each domain server's results: its own schemas, not the producers' code
 * (servers never import each other). Every downstream result is parsed through these before a finding
 * touches it, so a producer that changes shape yields "error", never a wrong finding; and
 * test/business/contracts.test.ts checks them against the producers' live `outputSchema`, so a producer
 * change that would break business fails CI first. Only the fields business reads are listed: a
 * producer may add fields freely.
 */

const count = z.number().int();
const cents = z.number().int();
const nextCursor = z.string().nullable();

const crmCompanySummary = z.object({
  company_id: z.string(),
  tenant: z.string(),
  domain: z.string().nullable(),
  additional_domains: z.array(z.string()),
  lifecycle_stage: z.string().nullable(),
  owner_id: z.string().nullable(),
});

const crmRead = {
  search_companies: z.object({ companies: z.array(crmCompanySummary), next_cursor: nextCursor }),
  get_company: z.object({
    company: crmCompanySummary,
    deals: z.object({ open: z.object({ count, amount: z.number() }) }),
  }),
};

const money = z.object({ amount_cents: cents, currency: z.string() });

const orderLookup = {
  search_customers: z.object({
    customers: z.array(z.object({ customer_id: z.string(), tenant: z.string(), domain: z.string() })),
    next_cursor: nextCursor,
  }),
  get_order: z.object({
    order: z.object({
      order_id: z.string(),
      tenant: z.string(),
      status: z.string(),
      promised_at: z.string(),
      late: z.boolean(),
      total: z.object({ currency: z.string() }),
      customer: z.object({ customer_id: z.string(), domain: z.string() }),
      shipments: z.array(
        z.object({
          status: z.string(),
          shipped_at: z.string().nullable(),
          delivered_at: z.string().nullable(),
        }),
      ),
      invoice: z
        .object({ status: z.string(), outstanding_cents: cents, due_at: z.string(), overdue: z.boolean() })
        .nullable(),
    }),
  }),
  list_customer_orders: z.object({
    orders: z.array(z.object({ status: z.string(), late: z.boolean(), total: money })),
    next_cursor: nextCursor,
  }),
  list_unpaid_invoices: z.object({
    invoices: z.array(
      z.object({
        customer_id: z.string(),
        tenant: z.string(),
        outstanding_cents: cents,
        days_overdue: count,
        currency: z.string(),
      }),
    ),
    next_cursor: nextCursor,
  }),
  list_late_orders: z.object({
    orders: z.array(
      z.object({ order_id: z.string(), customer_id: z.string(), tenant: z.string(), days_late: count }),
    ),
    next_cursor: nextCursor,
  }),
};

const ticketDraft = {
  search_tickets: z.object({
    tickets: z.array(z.object({ key: z.string(), tenant: z.string(), status: z.string().nullable() })),
  }),
  list_ticket_drafts: z.object({
    drafts: z.array(z.object({ customer_id: z.string().nullable(), tenant: z.string(), status: z.string() })),
    next_cursor: nextCursor,
  }),
};

/** Every tool business calls, by server: the only calls `Downstream.call` accepts. */
export const PRODUCER_CONTRACTS = {
  "crm-read": crmRead,
  "order-lookup": orderLookup,
  "ticket-draft": ticketDraft,
} as const;

export type Contracts = typeof PRODUCER_CONTRACTS;
export type DownstreamName = keyof Contracts;
export type DownstreamTool<S extends DownstreamName> = keyof Contracts[S] & string;
/** The parsed result of `server`'s `tool`, as business reads it. */
export type ResultOf<
  S extends DownstreamName,
  T extends DownstreamTool<S>,
> = Contracts[S][T] extends z.ZodType ? z.infer<Contracts[S][T]> : never;

export type CrmCompany = ResultOf<"crm-read", "get_company">;
export type OrderPart = ResultOf<"order-lookup", "get_order">;
export type LateOrdersPart = ResultOf<"order-lookup", "list_late_orders">;
export type OverdueInvoicesPart = ResultOf<"order-lookup", "list_unpaid_invoices">;
export type RelatedTicketsPart = ResultOf<"ticket-draft", "search_tickets">;
export type DraftsPart = ResultOf<"ticket-draft", "list_ticket_drafts">;
