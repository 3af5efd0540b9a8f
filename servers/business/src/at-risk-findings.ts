import { z } from "zod";
import type { DownstreamResult } from "./downstream.ts";
import {
  balanceFlag,
  currencyCode,
  isCurrencyCode,
  lateOrdersFlag,
  overdueFlag,
  type RiskFlag,
  reason,
  riskFlag,
  severity,
  sourceStatus,
  status,
} from "./findings.ts";
import type {
  LateOrdersPart,
  DraftsPart as ListedDrafts,
  OverdueInvoicesPart,
} from "./producer-contracts.ts";

export type { LateOrdersPart, OverdueInvoicesPart } from "./producer-contracts.ts";
/** The drafts this finding counts, as far as it reads them. */
export interface DraftsPart {
  drafts: Array<Pick<ListedDrafts["drafts"][number], "customer_id" | "status">>;
  next_cursor: string | null;
}

const source = z.object({ status, reason });
const CUSTOMER_ID = /^CUST-\d{4,8}$/;

/** Accounts at risk in one tenant: ids, counts, amounts and flags, worst first. Nothing else. */
export const accountsAtRiskFinding = z.object({
  tenant: z.string(),
  accounts: z.array(
    z.object({
      customer_id: z
        .string()
        .regex(CUSTOMER_ID)
        .describe("Orders customer id, for order-lookup's list_customer_orders"),
      severity,
      late_orders: z.number().int(),
      max_days_late: z.number().int(),
      overdue_invoices: z.number().int(),
      max_days_overdue: z.number().int(),
      overdue_total_cents: z
        .number()
        .int()
        .describe("Overdue amount in `currency`; with several currencies, the largest one's total"),
      currency: currencyCode,
      open_drafts: z.number().int(),
      risk_flags: z.array(riskFlag),
    }),
  ),
  sources: z.object({ late_orders: source, overdue_invoices: source, ticket_drafts: source }),
  complete: z
    .boolean()
    .describe(
      "false when a source was unavailable or had more rows than one page; the list may miss accounts",
    ),
});

export type AccountsAtRiskFinding = z.infer<typeof accountsAtRiskFinding>;

const RANK = { low: 1, medium: 2, high: 3 } as const;

/**
 * Ranks a tenant's accounts by risk from late orders, overdue invoices and open ticket drafts. Pure, so it
 * can be property-tested; rows from another tenant (which the servers would never send) are dropped.
 */
export function buildAccountsAtRisk(input: {
  tenant: string;
  limit: number;
  late: DownstreamResult<LateOrdersPart>;
  overdue: DownstreamResult<OverdueInvoicesPart>;
  drafts: DownstreamResult<DraftsPart>;
}): AccountsAtRiskFinding {
  type Tally = {
    late: Map<string, number>;
    overdue: Array<{ days: number; cents: number; currency: string }>;
    drafts: number;
  };
  const tally = new Map<string, Tally>();
  const of = (id: string) => {
    let t = tally.get(id);
    if (!t) {
      t = { late: new Map(), overdue: [], drafts: 0 };
      tally.set(id, t);
    }
    return t;
  };
  // Only this tenant's rows, and only ids that look like ids: nothing else may reach the caller.
  const mine = (row: { tenant: string; customer_id: string }) =>
    row.tenant === input.tenant && CUSTOMER_ID.test(row.customer_id);
  const late = input.late.ok ? input.late.value : undefined;
  const overdue = input.overdue.ok ? input.overdue.value : undefined;
  const drafts = input.drafts.ok ? input.drafts.value : undefined;
  // Counted by order id, so an order listed twice is still one late order.
  for (const o of late?.orders ?? []) if (mine(o)) of(o.customer_id).late.set(o.order_id, o.days_late);
  for (const i of overdue?.invoices ?? []) {
    if (mine(i) && i.days_overdue > 0) {
      of(i.customer_id).overdue.push({
        days: i.days_overdue,
        cents: Math.max(0, Math.round(i.outstanding_cents)),
        currency: isCurrencyCode(i.currency) ? i.currency : "",
      });
    }
  }
  for (const d of drafts?.drafts ?? []) {
    if (d.status === "draft" && d.customer_id && tally.has(d.customer_id)) of(d.customer_id).drafts++;
  }

  const accounts = [...tally].map(([customer_id, t]) => {
    // Amounts in different currencies are never added together: the largest currency's total counts.
    const byCurrency = new Map<string, number>();
    for (const i of t.overdue) byCurrency.set(i.currency, (byCurrency.get(i.currency) ?? 0) + i.cents);
    const [currency, overdueTotal] = [...byCurrency].sort((a, b) => b[1] - a[1])[0] ?? ["", 0];
    const worstOverdue = t.overdue.length ? Math.max(...t.overdue.map((i) => i.days)) : 0;
    const lateDays = [...t.late.values()];
    const flags = [
      lateOrdersFlag(lateDays.length),
      overdueFlag(worstOverdue),
      balanceFlag(overdueTotal),
    ].filter((f): f is RiskFlag => f !== undefined);
    const overall = flags.reduce<RiskFlag["severity"]>(
      (worst, f) => (RANK[f.severity] > RANK[worst] ? f.severity : worst),
      "low",
    );
    return {
      customer_id,
      severity: overall,
      late_orders: lateDays.length,
      max_days_late: lateDays.length ? Math.max(...lateDays) : 0,
      overdue_invoices: t.overdue.length,
      max_days_overdue: worstOverdue,
      overdue_total_cents: overdueTotal,
      currency: currency || null,
      open_drafts: t.drafts,
      risk_flags: flags,
      score: flags.reduce((n, f) => n + RANK[f.severity], 0),
    };
  });
  // Worst first: the overall severity, then how many things are wrong, then money, then delay.
  accounts.sort(
    (a, b) =>
      RANK[b.severity] - RANK[a.severity] ||
      b.score - a.score ||
      b.overdue_total_cents - a.overdue_total_cents ||
      b.max_days_late - a.max_days_late ||
      a.customer_id.localeCompare(b.customer_id),
  );
  const sources = {
    late_orders: sourceStatus(input.late),
    overdue_invoices: sourceStatus(input.overdue),
    ticket_drafts: sourceStatus(input.drafts),
  };
  return {
    tenant: input.tenant,
    accounts: accounts.slice(0, input.limit).map(({ score: _score, ...a }) => a),
    sources,
    complete:
      Object.values(sources).every((s) => s.status === "ok") &&
      late?.next_cursor == null &&
      overdue?.next_cursor == null &&
      drafts?.next_cursor == null,
  };
}
