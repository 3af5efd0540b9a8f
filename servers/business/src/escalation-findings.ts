import { z } from "zod";
import type { DownstreamResult } from "./downstream.ts";
import {
  type CrmCompany,
  currencyCode,
  isCurrencyCode,
  overdueFlag,
  type RiskFlag,
  reason,
  riskFlag,
  sourceStatus,
  status,
} from "./findings.ts";
import type { DraftsPart as ListedDrafts, OrderPart, RelatedTicketsPart } from "./producer-contracts.ts";

export type { OrderPart, RelatedTicketsPart } from "./producer-contracts.ts";
/** The drafts the brief matches to the order, as far as it reads them. */
export interface DraftsPart {
  drafts: Array<Pick<ListedDrafts["drafts"][number], "customer_id" | "tenant" | "status">>;
}

const ORDER_STATUS = ["open", "shipped", "delivered", "cancelled", "other"] as const;
const SHIPMENT_STATUS = ["none", "pending", "in_transit", "delivered", "exception", "other"] as const;
const INVOICE_STATUS = ["open", "paid", "partially_paid", "refunded", "void", "other"] as const;
const isoTime = z.iso.datetime({ offset: true });
const ISSUE_KEY = /^[A-Z][A-Z0-9_]{0,9}-\d{1,9}$/;

/** One late or troubled order, briefly: dates, statuses as enums, amounts, ids to follow. No text. */
export const escalationBrief = z.object({
  order: z.object({
    order_id: z.string(),
    tenant: z.string(),
    status: z.enum(ORDER_STATUS),
    promised_at: isoTime.nullable().describe("What the customer was promised"),
    late: z.boolean(),
    days_late: z.number().int(),
  }),
  shipment: z.object({
    status: z.enum(SHIPMENT_STATUS).describe("The latest shipment's status; none if nothing has shipped"),
    shipments: z.number().int(),
    last_shipped_at: isoTime.nullable(),
    delivered_at: isoTime.nullable(),
  }),
  invoice: z
    .object({
      status: z.enum(INVOICE_STATUS),
      outstanding_cents: z.number().int(),
      currency: currencyCode,
      due_at: isoTime.nullable(),
      days_overdue: z.number().int(),
    })
    .nullable(),
  account: z.object({
    customer_id: z.string().describe("Orders customer id, for account_health or list_customer_orders"),
    company_id: z.string().nullable().describe("HubSpot company id, for crm-read's get_company"),
    owner_id: z.string().nullable().describe("The HubSpot owner of the account: who to escalate to"),
    crm: z.object({ status, reason }),
  }),
  tickets: z.object({
    status,
    reason,
    related_issues: z.array(z.string().regex(ISSUE_KEY)).describe("Jira issues that mention this order"),
    open_drafts: z.number().int().describe("Ticket drafts for this customer not yet sent"),
  }),
  risk_flags: z.array(riskFlag),
});

export type EscalationBrief = z.infer<typeof escalationBrief>;

const DAY = 86_400_000;
const oneOf = <T extends readonly string[]>(values: T, v: string | null | undefined): T[number] =>
  (values as readonly string[]).includes(v ?? "") ? (v as T[number]) : ("other" as T[number]);
/** A system's timestamp as ISO 8601 UTC, or null when it is not a date at all. */
const iso = (value: string | null | undefined): string | null => {
  const t = value ? Date.parse(value) : Number.NaN;
  return Number.isFinite(t) ? new Date(t).toISOString() : null;
};
const daysSince = (when: string | null, now: number) =>
  when ? Math.max(0, Math.floor((now - Date.parse(when)) / DAY)) : 0;

/**
 * Builds the brief from the order (which must have been read) and whatever the CRM and tickets answered.
 * Pure and clock-injected, so it can be property-tested.
 */
export function buildEscalationBrief(input: {
  order: OrderPart["order"];
  crm?: DownstreamResult<CrmCompany>;
  related?: DownstreamResult<RelatedTicketsPart>;
  drafts?: DownstreamResult<DraftsPart>;
  now: number;
}): EscalationBrief {
  const o = input.order;
  const shipments = o.shipments
    .map((s) => ({ status: s.status, shipped_at: iso(s.shipped_at), delivered_at: iso(s.delivered_at) }))
    .sort((a, b) => (a.shipped_at ?? "").localeCompare(b.shipped_at ?? ""));
  const latest = shipments.at(-1);
  const delivered =
    shipments
      .map((s) => s.delivered_at)
      .filter((d): d is string => !!d)
      .sort()
      .at(-1) ?? null;
  const promised = iso(o.promised_at);
  const dueAt = iso(o.invoice?.due_at);
  const daysLate = o.late ? daysSince(promised, input.now) : 0;
  // A company from another tenant is not this order's account, whatever its domain says.
  const company =
    input.crm?.ok && input.crm.value.company.tenant === o.tenant ? input.crm.value.company : undefined;
  const daysOverdue = o.invoice?.overdue ? daysSince(dueAt, input.now) : 0;
  const crm = sourceStatus(input.crm);
  const tickets = sourceStatus(input.related);
  const related = input.related?.ok
    ? [...new Set(input.related.value.tickets.filter((t) => t.tenant === o.tenant).map((t) => t.key))]
        .filter((k) => ISSUE_KEY.test(k))
        .sort()
    : [];
  const openDrafts = input.drafts?.ok
    ? input.drafts.value.drafts.filter(
        (d) => d.status === "draft" && d.tenant === o.tenant && d.customer_id === o.customer.customer_id,
      ).length
    : 0;

  const flags: RiskFlag[] = [];
  if (o.late) flags.push({ flag: "late_orders", severity: daysLate > 30 ? "high" : "medium" });
  const overdue = overdueFlag(daysOverdue);
  if (overdue) flags.push(overdue);
  if (company && !company.owner_id) flags.push({ flag: "no_account_owner", severity: "low" });
  if (crm.status === "unavailable" || tickets.status === "unavailable" || (input.drafts && !input.drafts.ok))
    flags.push({ flag: "system_unavailable", severity: "medium" });

  return {
    order: {
      order_id: o.order_id,
      tenant: o.tenant,
      status: oneOf(ORDER_STATUS, o.status),
      promised_at: promised,
      late: o.late,
      days_late: daysLate,
    },
    shipment: {
      status: latest ? oneOf(SHIPMENT_STATUS, latest.status) : "none",
      shipments: shipments.length,
      last_shipped_at: latest?.shipped_at ?? null,
      delivered_at: delivered,
    },
    invoice: o.invoice
      ? {
          status: oneOf(INVOICE_STATUS, o.invoice.status),
          outstanding_cents: Math.max(0, Math.round(o.invoice.outstanding_cents)),
          currency: isCurrencyCode(o.total.currency) ? o.total.currency : null,
          due_at: dueAt,
          days_overdue: daysOverdue,
        }
      : null,
    account: {
      customer_id: o.customer.customer_id,
      company_id: company?.company_id ?? null,
      owner_id: company?.owner_id ?? null,
      crm,
    },
    tickets: { ...tickets, related_issues: related, open_drafts: openDrafts },
    risk_flags: flags,
  };
}
