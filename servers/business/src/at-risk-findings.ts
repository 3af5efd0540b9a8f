import { z } from "zod";
import type { DownstreamResult } from "./downstream.ts";
import {
  balanceFlag,
  lateOrdersFlag,
  overdueFlag,
  type RiskFlag,
  reason,
  riskFlag,
  status,
} from "./findings.ts";

/** What order-lookup and ticket-draft return, as far as this finding reads it. */
export interface LateOrdersPart {
  orders: Array<{ customer_id: string; tenant: string; days_late: number }>;
  next_cursor: string | null;
}
export interface OverdueInvoicesPart {
  invoices: Array<{
    customer_id: string;
    tenant: string;
    outstanding_cents: number;
    days_overdue: number;
    currency: string;
  }>;
  next_cursor: string | null;
}
export interface DraftsPart {
  drafts: Array<{ customer_id: string | null; status: string }>;
}

const source = z.object({ status, reason });

/** Accounts at risk in one tenant: ids, counts, amounts and flags, worst first. Nothing else. */
export const accountsAtRiskFinding = z.object({
  tenant: z.string(),
  accounts: z.array(
    z.object({
      customer_id: z.string().describe("Orders customer id, for order-lookup's list_customer_orders"),
      severity: z.enum(["low", "medium", "high"]),
      late_orders: z.number().int(),
      max_days_late: z.number().int(),
      overdue_invoices: z.number().int(),
      max_days_overdue: z.number().int(),
      overdue_total_cents: z.number().int(),
      currency: z
        .string()
        .regex(/^[A-Z]{3}$/)
        .nullable(),
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

const sourceOf = (r: DownstreamResult<unknown>) =>
  r.ok
    ? { status: "ok" as const, reason: null }
    : {
        status: r.reason === "not_found" ? ("not_found" as const) : ("unavailable" as const),
        reason: r.reason,
      };

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
    late: number[];
    overdue: Array<{ days: number; cents: number; currency: string }>;
    drafts: number;
  };
  const tally = new Map<string, Tally>();
  const of = (id: string) => {
    let t = tally.get(id);
    if (!t) {
      t = { late: [], overdue: [], drafts: 0 };
      tally.set(id, t);
    }
    return t;
  };
  const late = input.late.ok ? input.late.value : undefined;
  const overdue = input.overdue.ok ? input.overdue.value : undefined;
  for (const o of late?.orders ?? []) if (o.tenant === input.tenant) of(o.customer_id).late.push(o.days_late);
  for (const i of overdue?.invoices ?? []) {
    if (i.tenant === input.tenant && i.days_overdue > 0) {
      of(i.customer_id).overdue.push({
        days: i.days_overdue,
        cents: Math.max(0, Math.round(i.outstanding_cents)),
        currency: i.currency,
      });
    }
  }
  const drafts = input.drafts.ok ? input.drafts.value.drafts : [];
  for (const d of drafts)
    if (d.status === "draft" && d.customer_id && tally.has(d.customer_id)) of(d.customer_id).drafts++;

  const accounts = [...tally].map(([customer_id, t]) => {
    const overdueTotal = t.overdue.reduce((n, i) => n + i.cents, 0);
    const worstOverdue = t.overdue.length ? Math.max(...t.overdue.map((i) => i.days)) : 0;
    const flags = [
      lateOrdersFlag(t.late.length),
      overdueFlag(worstOverdue),
      balanceFlag(overdueTotal),
    ].filter((f): f is RiskFlag => f !== undefined);
    const severity = flags.reduce<RiskFlag["severity"]>(
      (worst, f) => (RANK[f.severity] > RANK[worst] ? f.severity : worst),
      "low",
    );
    return {
      customer_id,
      severity,
      late_orders: t.late.length,
      max_days_late: t.late.length ? Math.max(...t.late) : 0,
      overdue_invoices: t.overdue.length,
      max_days_overdue: worstOverdue,
      overdue_total_cents: overdueTotal,
      currency: t.overdue.map((i) => i.currency).find((c) => /^[A-Z]{3}$/.test(c)) ?? null,
      open_drafts: t.drafts,
      risk_flags: flags,
      score: flags.reduce((n, f) => n + RANK[f.severity], 0),
    };
  });
  accounts.sort(
    (a, b) =>
      b.score - a.score ||
      b.overdue_total_cents - a.overdue_total_cents ||
      b.max_days_late - a.max_days_late ||
      a.customer_id.localeCompare(b.customer_id),
  );
  const sources = {
    late_orders: sourceOf(input.late),
    overdue_invoices: sourceOf(input.overdue),
    ticket_drafts: sourceOf(input.drafts),
  };
  return {
    tenant: input.tenant,
    accounts: accounts.slice(0, input.limit).map(({ score: _score, ...a }) => a),
    sources,
    complete:
      Object.values(sources).every((s) => s.status === "ok") &&
      late?.next_cursor == null &&
      overdue?.next_cursor == null,
  };
}
