import { z } from "zod";
import type { DownstreamResult, Unavailable } from "./downstream.ts";
import { sameAccount } from "./join-keys.ts";
import type { CrmCompany, DraftsPart, OverdueInvoicesPart, ResultOf } from "./producer-contracts.ts";

export type { CrmCompany } from "./producer-contracts.ts";

/** The account's orders, joined by business from three order-lookup results (each parsed by its contract). */
export interface OrdersPart {
  customer: ResultOf<"order-lookup", "search_customers">["customers"][number] | null;
  orders: ResultOf<"order-lookup", "list_customer_orders">["orders"];
  unpaid: Array<
    Pick<OverdueInvoicesPart["invoices"][number], "outstanding_cents" | "days_overdue" | "currency">
  >;
}
/** The drafts a finding counts: what list_ticket_drafts returns, as far as it reads it. */
export interface TicketsPart {
  drafts: Array<Pick<DraftsPart["drafts"][number], "customer_id" | "status">>;
}

export const status = z.enum(["ok", "not_found", "unavailable"]);
export const reason = z
  .enum(["refused", "not_found", "timeout", "error", "token_exchange_failed"])
  .nullable();
/** ISO 4217-shaped currency codes only: anything else a system sends becomes null. */
const CURRENCY = /^[A-Z]{3}$/;
export const currencyCode = z.string().regex(CURRENCY).nullable();
export const isCurrencyCode = (c: string | null | undefined): c is string => !!c && CURRENCY.test(c);

export const severity = z.enum(["low", "medium", "high"]);

/** The risk vocabulary every finding shares, so agents read one set of flags. */
export const riskFlag = z.object({
  flag: z.enum([
    "late_orders",
    "overdue_invoices",
    "high_unpaid_balance",
    "no_account_owner",
    "system_unavailable",
  ]),
  severity,
});
export type RiskFlag = z.infer<typeof riskFlag>;

/** Late orders: three or more is high. */
export const lateOrdersFlag = (count: number): RiskFlag | undefined =>
  count > 0 ? { flag: "late_orders", severity: count >= 3 ? "high" : "medium" } : undefined;
/** Overdue invoices: graded by the most overdue. */
export const overdueFlag = (worstDays: number | undefined): RiskFlag | undefined =>
  worstDays !== undefined && worstDays > 0
    ? { flag: "overdue_invoices", severity: worstDays > 60 ? "high" : worstDays > 30 ? "medium" : "low" }
    : undefined;
/** An unpaid balance over 10 000 (in cents of its currency); over 50 000 is high. */
export const balanceFlag = (cents: number): RiskFlag | undefined =>
  cents > 1_000_000
    ? { flag: "high_unpaid_balance", severity: cents > 5_000_000 ? "high" : "medium" }
    : undefined;
const LIFECYCLE = [
  "subscriber",
  "lead",
  "marketingqualifiedlead",
  "salesqualifiedlead",
  "opportunity",
  "customer",
  "evangelist",
  "other",
] as const;

/** The whole finding: counts, amounts, flags and ids. No names, no contact data, no text from a system. */
export const accountHealthFinding = z.object({
  account: z.object({
    domain: z.string(),
    tenant: z.string().nullable(),
    company_id: z.string().nullable().describe("HubSpot company id, for crm-read's get_company"),
    customer_id: z
      .string()
      .nullable()
      .describe("Orders customer id, for order-lookup's list_customer_orders"),
  }),
  crm: z.object({
    status,
    reason,
    lifecycle_stage: z.enum(LIFECYCLE).nullable(),
    owner_id: z.string().nullable(),
    open_deals: z.number().int(),
    open_deal_amount: z.number(),
  }),
  orders: z.object({
    status,
    reason,
    open_orders: z.number().int(),
    late_orders: z.number().int(),
    unpaid_invoices: z.number().int(),
    overdue_invoices: z.number().int(),
    unpaid_total_cents: z.number().int(),
    currency: currencyCode,
  }),
  tickets: z.object({ status, reason, open_drafts: z.number().int() }),
  risk_flags: z.array(riskFlag),
});

export type AccountHealthFinding = z.infer<typeof accountHealthFinding>;

/** How a system answered, as every finding reports it: no answer at all counts as not found. */
export const sourceStatus = (
  r: DownstreamResult<unknown> | undefined,
): { status: "ok" | "not_found" | "unavailable"; reason: Unavailable | null } => {
  if (!r) return { status: "not_found", reason: null };
  if (r.ok) return { status: "ok", reason: null };
  return { status: r.reason === "not_found" ? "not_found" : "unavailable", reason: r.reason };
};

const part = <T>(r: DownstreamResult<T> | undefined) => ({
  ...sourceStatus(r),
  value: r?.ok ? r.value : undefined,
});

/**
 * Builds the finding from whatever the three systems answered. Pure, so it can be property-tested: any
 * system may be missing or failing, and nothing but counts, amounts, enums and ids comes out.
 */
export function buildAccountHealth(input: {
  domain: string;
  domains: string[];
  crm?: DownstreamResult<CrmCompany>;
  orders?: DownstreamResult<OrdersPart>;
  tickets?: DownstreamResult<TicketsPart>;
}): AccountHealthFinding {
  const crm = part(input.crm);
  const orders = part(input.orders);
  const tickets = part(input.tickets);
  const company = crm.value?.company;
  const customer =
    orders.value?.customer && sameAccount(input.domains, orders.value.customer.domain)
      ? orders.value.customer
      : null;

  const orderList = customer ? (orders.value?.orders ?? []) : [];
  const unpaid = customer ? (orders.value?.unpaid ?? []) : [];
  const openOrders = orderList.filter((o) => o.status === "open" || o.status === "shipped").length;
  const lateOrders = orderList.filter((o) => o.late).length;
  const overdue = unpaid.filter((i) => i.days_overdue > 0);
  const unpaidTotal = unpaid.reduce((n, i) => n + Math.max(0, Math.round(i.outstanding_cents)), 0);
  const currency =
    [...orderList.map((o) => o.total.currency), ...unpaid.map((i) => i.currency)].find(isCurrencyCode) ??
    null;
  const openDrafts = customer
    ? (tickets.value?.drafts ?? []).filter(
        (d) => d.status === "draft" && d.customer_id === customer.customer_id,
      ).length
    : 0;
  const lifecycle =
    company?.lifecycle_stage && (LIFECYCLE as readonly string[]).includes(company.lifecycle_stage)
      ? (company.lifecycle_stage as (typeof LIFECYCLE)[number])
      : company
        ? "other"
        : null;

  const flags: RiskFlag[] = [
    lateOrdersFlag(lateOrders),
    overdueFlag(overdue.length ? Math.max(...overdue.map((i) => i.days_overdue)) : undefined),
    balanceFlag(unpaidTotal),
  ].filter((f): f is RiskFlag => f !== undefined);
  if (company && !company.owner_id) flags.push({ flag: "no_account_owner", severity: "low" });
  if ([crm, orders, tickets].some((p) => p.status === "unavailable"))
    flags.push({ flag: "system_unavailable", severity: "medium" });

  return {
    account: {
      domain: input.domain,
      tenant: company?.tenant ?? customer?.tenant ?? null,
      company_id: company?.company_id ?? null,
      customer_id: customer?.customer_id ?? null,
    },
    crm: {
      status: crm.status,
      reason: crm.reason,
      lifecycle_stage: lifecycle,
      owner_id: company?.owner_id ?? null,
      open_deals: crm.value?.deals.open.count ?? 0,
      open_deal_amount: crm.value?.deals.open.amount ?? 0,
    },
    orders: {
      status: orders.status === "ok" && !customer ? "not_found" : orders.status,
      reason: orders.reason,
      open_orders: openOrders,
      late_orders: lateOrders,
      unpaid_invoices: unpaid.length,
      overdue_invoices: overdue.length,
      unpaid_total_cents: unpaidTotal,
      currency,
    },
    tickets: { status: tickets.status, reason: tickets.reason, open_drafts: openDrafts },
    risk_flags: flags,
  };
}
