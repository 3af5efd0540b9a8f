import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { DownstreamResult } from "../src/downstream.ts";
import {
  buildEscalationBrief,
  escalationBrief,
  type OrderPart,
  type RelatedTicketsPart,
} from "../src/escalation-findings.ts";
import type { CrmCompany } from "../src/findings.ts";

const NOW = Date.parse("2026-11-21T12:00:00Z");
const order = (over: Partial<OrderPart["order"]> = {}): OrderPart["order"] => ({
  order_id: "SO-100007",
  tenant: "emea",
  status: "shipped",
  promised_at: "2026-11-01T00:00:00Z",
  late: true,
  total: { currency: "EUR" },
  customer: { customer_id: "CUST-0001", domain: "nordlicht-logistik.de" },
  shipments: [
    { status: "in_transit", shipped_at: "2026-11-10T08:00:00Z", delivered_at: null },
    { status: "pending", shipped_at: null, delivered_at: null },
  ],
  invoice: { status: "open", outstanding_cents: 120_000, due_at: "2026-10-01T00:00:00Z", overdue: true },
  ...over,
});
const company = (owner: string | null): DownstreamResult<CrmCompany> => ({
  ok: true,
  value: {
    company: {
      company_id: "1001",
      tenant: "emea",
      domain: "nordlicht-logistik.de",
      additional_domains: [],
      lifecycle_stage: "customer",
      owner_id: owner,
    },
    deals: { open: { count: 0, amount: 0 } },
  },
});

describe("order escalation brief", () => {
  it("says what is late, what was promised, who owns the account and which issues mention it", () => {
    const b = buildEscalationBrief({
      order: order(),
      crm: company("501"),
      related: {
        ok: true,
        value: {
          tickets: [
            { key: "SUP-12", tenant: "emea", status: "Open" },
            { key: "SUP-12", tenant: "emea", status: "Open" },
            { key: "OPS-3", tenant: "na", status: "Open" },
          ],
        },
      },
      drafts: {
        ok: true,
        value: {
          drafts: [
            { customer_id: "CUST-0001", tenant: "emea", status: "draft" },
            { customer_id: "CUST-0001", tenant: "na", status: "draft" },
          ],
        },
      },
      now: NOW,
    });
    expect(b.order).toMatchObject({
      status: "shipped",
      late: true,
      days_late: 20,
      promised_at: "2026-11-01T00:00:00.000Z",
    });
    expect(b.shipment).toEqual({
      status: "in_transit",
      shipments: 2,
      last_shipped_at: "2026-11-10T08:00:00.000Z",
      delivered_at: null,
    });
    expect(b.invoice).toMatchObject({
      status: "open",
      days_overdue: 51,
      outstanding_cents: 120_000,
      currency: "EUR",
    });
    expect(b.account).toMatchObject({ customer_id: "CUST-0001", company_id: "1001", owner_id: "501" });
    expect(b.tickets).toMatchObject({ status: "ok", related_issues: ["SUP-12"], open_drafts: 1 });
    expect(b.risk_flags).toEqual([
      { flag: "late_orders", severity: "medium" },
      { flag: "overdue_invoices", severity: "medium" },
    ]);
  });

  it("still briefs when the CRM and Jira fail, and says so", () => {
    const b = buildEscalationBrief({
      order: order({ late: false, invoice: null, shipments: [] }),
      crm: { ok: false, reason: "timeout", message: "crm-read timed out" },
      related: { ok: false, reason: "error", message: "Jira said 500" },
      drafts: { ok: true, value: { drafts: [] } },
      now: NOW,
    });
    expect(b.order.days_late).toBe(0);
    expect(b.shipment.status).toBe("none");
    expect(b.invoice).toBeNull();
    expect(b.account).toMatchObject({
      company_id: null,
      owner_id: null,
      crm: { status: "unavailable", reason: "timeout" },
    });
    expect(b.tickets).toMatchObject({ status: "unavailable", reason: "error", related_issues: [] });
    expect(b.risk_flags).toEqual([{ flag: "system_unavailable", severity: "medium" }]);
  });

  it("ignores a company from another tenant, and turns dates that are not dates into null", () => {
    const naCompany = company("777");
    if (naCompany.ok) naCompany.value.company.tenant = "na";
    const b = buildEscalationBrief({
      order: order({
        promised_at: "2026-11-01 00:00:00",
        shipments: [
          { status: "delivered", shipped_at: "yesterday", delivered_at: "2026-11-12T09:30:00+02:00" },
        ],
        invoice: { status: "open", outstanding_cents: 1, due_at: "soon", overdue: true },
      }),
      crm: naCompany,
      now: NOW,
    });
    expect(escalationBrief.safeParse(b).success).toBe(true);
    expect(b.account).toMatchObject({ company_id: null, owner_id: null });
    expect(b.order.promised_at).toBe("2026-11-01T00:00:00.000Z");
    expect(b.shipment).toMatchObject({ last_shipped_at: null, delivered_at: "2026-11-12T07:30:00.000Z" });
    expect(b.invoice).toMatchObject({ due_at: null, days_overdue: 0 });
  });

  it("lets no system text out: statuses become enums, issue keys must look like keys", () => {
    const leaky = fc.oneof(
      fc.emailAddress(),
      fc.constant("call +49 30 1234 5678"),
      fc.string({ maxLength: 50 }),
    );
    fc.assert(
      fc.property(
        leaky,
        leaky,
        leaky,
        fc.array(
          fc.record({
            key: fc.oneof(leaky, fc.constant("SUP-7")),
            tenant: fc.constant("emea"),
            status: leaky,
          }),
        ),
        (orderStatus, shipStatus, invoiceStatus, tickets) => {
          const b = buildEscalationBrief({
            order: order({
              status: orderStatus,
              shipments: [{ status: shipStatus, shipped_at: "2026-11-10T08:00:00Z", delivered_at: null }],
              invoice: {
                status: invoiceStatus,
                outstanding_cents: 5,
                due_at: "2026-11-20T00:00:00Z",
                overdue: false,
              },
            }),
            related: { ok: true, value: { tickets } } as DownstreamResult<RelatedTicketsPart>,
            now: NOW,
          });
          expect(escalationBrief.safeParse(b).success).toBe(true);
          const text = JSON.stringify(b);
          for (const s of [orderStatus, shipStatus, invoiceStatus, ...tickets.map((t) => t.status)]) {
            if (
              s.length > 3 &&
              !/^(open|shipped|delivered|cancelled|pending|in_transit|exception|paid|partially_paid|refunded|void|other)$/.test(
                s,
              )
            )
              expect(text).not.toContain(JSON.stringify(s));
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
