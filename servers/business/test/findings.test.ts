import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { DownstreamResult } from "../src/downstream.ts";
import {
  accountHealthFinding,
  buildAccountHealth,
  type CrmCompany,
  type OrdersPart,
  type TicketsPart,
} from "../src/findings.ts";
import { companyDomains, normalizeDomain, sameAccount } from "../src/join-keys.ts";

// Strings a hostile or careless system could put anywhere: contact data, secrets, prose.
const leaky = fc.oneof(
  fc.emailAddress(),
  fc.constantFrom(
    "+49 30 1234 5678",
    "(415) 555-0100",
    "call Ana on +1 415 555 0100",
    "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln",
  ),
  fc.string({ maxLength: 80 }),
);
const failure = fc.record({
  ok: fc.constant(false as const),
  reason: fc.constantFrom("refused", "not_found", "timeout", "error", "token_exchange_failed" as const),
  message: leaky,
});
const result = <T>(value: fc.Arbitrary<T>): fc.Arbitrary<DownstreamResult<T> | undefined> =>
  fc.oneof(fc.constant(undefined), failure, fc.record({ ok: fc.constant(true as const), value }));

const crm = result<CrmCompany>(
  fc.record({
    company: fc.record({
      company_id: fc.stringMatching(/^\d{1,6}$/),
      tenant: fc.constantFrom("emea", "na"),
      domain: fc.oneof(leaky, fc.constant("nordlicht-logistik.de"), fc.constant(null)),
      additional_domains: fc.array(leaky, { maxLength: 3 }),
      lifecycle_stage: fc.oneof(leaky, fc.constant("customer"), fc.constant(null)),
      owner_id: fc.oneof(fc.stringMatching(/^\d{3}$/), fc.constant(null)),
    }),
    deals: fc.record({
      open: fc.record({ count: fc.nat(50), amount: fc.double({ min: 0, max: 1e7, noNaN: true }) }),
    }),
  }),
);
const orders = result<OrdersPart>(
  fc.record({
    customer: fc.oneof(
      fc.constant(null),
      fc.record({
        customer_id: fc.stringMatching(/^CUST-\d{4}$/),
        tenant: fc.constantFrom("emea", "na"),
        domain: fc.oneof(leaky, fc.constant("nordlicht-logistik.de")),
      }),
    ),
    orders: fc.array(
      fc.record({
        status: leaky,
        late: fc.boolean(),
        total: fc.record({ amount_cents: fc.nat(), currency: fc.oneof(leaky, fc.constant("EUR")) }),
      }),
      { maxLength: 20 },
    ),
    unpaid: fc.array(
      fc.record({
        outstanding_cents: fc.nat(),
        days_overdue: fc.nat(400),
        currency: fc.oneof(leaky, fc.constant("EUR")),
      }),
      { maxLength: 20 },
    ),
  }),
);
const tickets = result<TicketsPart>(
  fc.record({
    drafts: fc.array(
      fc.record({
        customer_id: fc.oneof(fc.constant(null), leaky),
        status: fc.constantFrom("draft", "sent"),
      }),
      { maxLength: 10 },
    ),
  }),
);

/** Every string a finding holds must be one of these shapes: ids, enums, codes, the asked-for domain. */
function allStrings(v: unknown, out: string[] = []): string[] {
  if (typeof v === "string") out.push(v);
  else if (Array.isArray(v)) for (const x of v) allStrings(x, out);
  else if (v && typeof v === "object") for (const x of Object.values(v)) allStrings(x, out);
  return out;
}
const ALLOWED = /^(\d{1,20}|CUST-\d{4,8}|[A-Z]{3}|emea|na|nordlicht-logistik\.de|[a-z_]+)$/;

describe("account health findings", () => {
  it("never carry an email, a phone number, a token or free text, whatever the systems return", () => {
    fc.assert(
      fc.property(crm, orders, tickets, (c, o, t) => {
        const finding = buildAccountHealth({
          domain: "nordlicht-logistik.de",
          domains: ["nordlicht-logistik.de"],
          crm: c,
          orders: o,
          tickets: t,
        });
        expect(accountHealthFinding.safeParse(finding).success).toBe(true);
        const json = JSON.stringify(finding);
        expect(json).not.toMatch(/@|\+\d|\(\d{3}\)|eyJ/);
        for (const s of allStrings(finding)) expect(s).toMatch(ALLOWED);
      }),
      { numRuns: 500 },
    );
  });

  it("marks a failing system unavailable with a closed reason, and flags it", () => {
    const f = buildAccountHealth({
      domain: "x.de",
      domains: ["x.de"],
      crm: { ok: false, reason: "timeout", message: "slow" },
      orders: undefined,
      tickets: undefined,
    });
    expect(f.crm).toMatchObject({ status: "unavailable", reason: "timeout" });
    expect(f.risk_flags).toContainEqual({ flag: "system_unavailable", severity: "medium" });
  });
});

describe("join keys", () => {
  it.each([
    [" HudsonData.IO ", "hudsondata.io"],
    ["https://www.Nordlicht-Logistik.de/contact", "nordlicht-logistik.de"],
    ["fjordmaritime.no.", "fjordmaritime.no"],
    ["", null],
    ["not a domain", null],
    [null, null],
  ])("normalises %j to %j", (raw, expected) => {
    expect(normalizeDomain(raw)).toBe(expected);
  });

  it("matches a customer on any of a company's domains, messy or not", () => {
    const domains = companyDomains("fjordmaritime.no", [" Fjord-Maritime.COM "]);
    expect(domains).toEqual(["fjordmaritime.no", "fjord-maritime.com"]);
    expect(sameAccount(domains, "fjord-maritime.com")).toBe(true);
    expect(sameAccount(domains, "FJORDMARITIME.NO")).toBe(true);
    expect(sameAccount(domains, "fjordmaritime.net")).toBe(false);
    expect(sameAccount(domains, null)).toBe(false);
  });
});
