import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  accountsAtRiskFinding,
  buildAccountsAtRisk,
  type DraftsPart,
  type LateOrdersPart,
  type OverdueInvoicesPart,
} from "../src/at-risk-findings.ts";
import type { DownstreamResult } from "../src/downstream.ts";

const ok = <T>(value: T): DownstreamResult<T> => ({ ok: true, value });
let orderSeq = 100000;
const late = (rows: Array<[string, number]>, tenant = "emea"): DownstreamResult<LateOrdersPart> =>
  ok({
    orders: rows.map(([customer_id, days_late]) => ({
      order_id: `SO-${++orderSeq}`,
      customer_id,
      tenant,
      days_late,
    })),
    next_cursor: null,
  });
const overdue = (
  rows: Array<[string, number, number]>,
  tenant = "emea",
): DownstreamResult<OverdueInvoicesPart> =>
  ok({
    invoices: rows.map(([customer_id, days_overdue, outstanding_cents]) => ({
      customer_id,
      tenant,
      days_overdue,
      outstanding_cents,
      currency: "EUR",
    })),
    next_cursor: null,
  });
const drafts = (ids: string[]): DownstreamResult<DraftsPart> =>
  ok({ drafts: ids.map((customer_id) => ({ customer_id, status: "draft" })), next_cursor: null });

describe("accounts at risk", () => {
  it("tallies per customer and ranks the worst first", () => {
    const f = buildAccountsAtRisk({
      tenant: "emea",
      limit: 10,
      late: late([
        ["CUST-0001", 3],
        ["CUST-0002", 20],
        ["CUST-0002", 12],
        ["CUST-0002", 5],
      ]),
      overdue: overdue([
        ["CUST-0001", 75, 6_000_000],
        ["CUST-0003", 10, 50_000],
      ]),
      drafts: drafts(["CUST-0002", "CUST-0002", "CUST-0009"]),
    });
    expect(f.accounts.map((a) => a.customer_id)).toEqual(["CUST-0001", "CUST-0002", "CUST-0003"]);
    expect(f.accounts[0]).toMatchObject({
      severity: "high",
      late_orders: 1,
      overdue_invoices: 1,
      max_days_overdue: 75,
      overdue_total_cents: 6_000_000,
      currency: "EUR",
    });
    expect(f.accounts[0]!.risk_flags.map((r) => r.flag)).toEqual([
      "late_orders",
      "overdue_invoices",
      "high_unpaid_balance",
    ]);
    expect(f.accounts[1]).toMatchObject({
      late_orders: 3,
      max_days_late: 20,
      open_drafts: 2,
      severity: "high",
    });
    expect(f.accounts[2]).toMatchObject({ severity: "low", overdue_invoices: 1 });
    // Drafts alone do not make an account at risk.
    expect(f.accounts.some((a) => a.customer_id === "CUST-0009")).toBe(false);
    expect(f.complete).toBe(true);
  });

  it("drops rows from another tenant, and honours the limit", () => {
    const input = {
      tenant: "emea",
      late: late([["CUST-0500", 300]], "na"),
      overdue: overdue([
        ["CUST-0001", 5, 100],
        ["CUST-0002", 40, 100],
      ]),
      drafts: drafts([]),
    };
    expect(buildAccountsAtRisk({ ...input, limit: 10 }).accounts.map((a) => a.customer_id)).toEqual([
      "CUST-0002",
      "CUST-0001",
    ]);
    expect(buildAccountsAtRisk({ ...input, limit: 1 }).accounts.map((a) => a.customer_id)).toEqual([
      "CUST-0002",
    ]);
  });

  it("ranks by overall severity first, counts an order once, and never adds currencies together", () => {
    const order = (order_id: string, customer_id: string, days_late: number) => ({
      order_id,
      customer_id,
      tenant: "emea",
      days_late,
    });
    const f = buildAccountsAtRisk({
      tenant: "emea",
      limit: 10,
      late: ok({
        orders: [
          // CUST-0003's one late order, listed twice.
          order("SO-300001", "CUST-0003", 10),
          order("SO-300001", "CUST-0003", 10),
          // CUST-0001: two medium flags (score 4); CUST-0002: one high flag (three late orders, score 3).
          order("SO-200001", "CUST-0001", 5),
          order("SO-200002", "CUST-0002", 2),
          order("SO-200003", "CUST-0002", 2),
          order("SO-200004", "CUST-0002", 2),
        ],
        next_cursor: null,
      }),
      overdue: ok({
        invoices: [
          {
            customer_id: "CUST-0001",
            tenant: "emea",
            days_overdue: 45,
            outstanding_cents: 10,
            currency: "EUR",
          },
          {
            customer_id: "CUST-0004",
            tenant: "emea",
            days_overdue: 5,
            outstanding_cents: 600_000,
            currency: "EUR",
          },
          {
            customer_id: "CUST-0004",
            tenant: "emea",
            days_overdue: 5,
            outstanding_cents: 500_000,
            currency: "USD",
          },
        ],
        next_cursor: null,
      }),
      drafts: drafts([]),
    });
    expect(f.accounts.map((a) => [a.customer_id, a.severity])).toEqual([
      ["CUST-0002", "high"],
      ["CUST-0001", "medium"],
      ["CUST-0003", "medium"],
      ["CUST-0004", "low"],
    ]);
    expect(f.accounts.find((a) => a.customer_id === "CUST-0003")?.late_orders).toBe(1);
    const mixed = f.accounts.find((a) => a.customer_id === "CUST-0004")!;
    expect(mixed).toMatchObject({ overdue_total_cents: 600_000, currency: "EUR" });
    expect(mixed.risk_flags.map((r) => r.flag)).not.toContain("high_unpaid_balance");
  });

  it("marks an unavailable source and a second page as incomplete, without failing", () => {
    const down = buildAccountsAtRisk({
      tenant: "emea",
      limit: 5,
      late: { ok: false, reason: "timeout", message: "order-lookup timed out" },
      overdue: overdue([["CUST-0001", 5, 100]]),
      drafts: drafts([]),
    });
    expect(down.sources.late_orders).toEqual({ status: "unavailable", reason: "timeout" });
    expect(down.complete).toBe(false);
    expect(down.accounts).toHaveLength(1);
    const paged = buildAccountsAtRisk({
      tenant: "emea",
      limit: 5,
      late: ok({ orders: [], next_cursor: "more" }),
      overdue: overdue([]),
      drafts: drafts([]),
    });
    expect(paged.complete).toBe(false);
  });

  it("never lets anything but ids, counts, amounts and flags out, whatever the systems send", () => {
    const leaky = fc.oneof(fc.emailAddress(), fc.constant("+49 30 1234 5678"), fc.string({ maxLength: 60 }));
    const failure = fc.record({
      ok: fc.constant(false as const),
      reason: fc.constantFrom("refused", "not_found", "timeout", "error", "token_exchange_failed" as const),
      message: leaky,
    });
    const customer = fc.oneof(fc.stringMatching(/^CUST-\d{4}$/), leaky);
    /** A system's answer: a failure, or a page of rows. */
    const answer = <T>(value: fc.Arbitrary<T>) =>
      fc.oneof(failure, fc.record({ ok: fc.constant(true as const), value }));
    fc.assert(
      fc.property(
        answer(
          fc.record({
            orders: fc.array(
              fc.record({
                order_id: fc.stringMatching(/^SO-\d{6}$/),
                customer_id: customer,
                tenant: fc.constantFrom("emea", "na"),
                days_late: fc.nat(400),
              }),
              { maxLength: 30 },
            ),
            next_cursor: fc.oneof(fc.constant(null), leaky),
          }),
        ),
        answer(
          fc.record({
            invoices: fc.array(
              fc.record({
                customer_id: customer,
                tenant: fc.constantFrom("emea", "na"),
                outstanding_cents: fc.integer({ min: -1000, max: 1e9 }),
                days_overdue: fc.integer({ min: -30, max: 400 }),
                currency: fc.oneof(fc.constant("EUR"), leaky),
              }),
              { maxLength: 30 },
            ),
            next_cursor: fc.oneof(fc.constant(null), leaky),
          }),
        ),
        answer(
          fc.record({
            drafts: fc.array(
              fc.record({ customer_id: fc.oneof(customer, fc.constant(null)), status: leaky }),
            ),
            next_cursor: fc.oneof(fc.constant(null), leaky),
          }),
        ),
        fc.integer({ min: 1, max: 25 }),
        (l, o, d, limit) => {
          const f = buildAccountsAtRisk({ tenant: "emea", limit, late: l, overdue: o, drafts: d });
          expect(accountsAtRiskFinding.safeParse(f).success).toBe(true);
          expect(f.accounts.length).toBeLessThanOrEqual(limit);
          // The only strings that may come from a system are customer ids it named for this tenant.
          const named = new Set([
            ...(l.ok ? l.value.orders.filter((x) => x.tenant === "emea").map((x) => x.customer_id) : []),
            ...(o.ok ? o.value.invoices.filter((x) => x.tenant === "emea").map((x) => x.customer_id) : []),
          ]);
          for (const a of f.accounts) expect(named.has(a.customer_id)).toBe(true);
          const text = JSON.stringify({ ...f, accounts: f.accounts.map(({ customer_id: _c, ...a }) => a) });
          expect(text).not.toMatch(/@|\+49|next_cursor|more/);
        },
      ),
      { numRuns: 300 },
    );
  });
});
