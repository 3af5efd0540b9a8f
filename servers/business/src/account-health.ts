import { type ToolContext, ToolError } from "@gatehouse/kit";
import { findCompany } from "./crm-lookup.ts";
import type { Downstream, DownstreamResult } from "./downstream.ts";
import { buildAccountHealth, type CrmCompany, type OrdersPart } from "./findings.ts";
import { companyDomains, normalizeDomain, sameAccount } from "./join-keys.ts";

type Ctx = Pick<ToolContext<unknown>, "callerToken" | "trace" | "signal" | "annotate">;

/**
 * One account across CRM, orders and tickets, fanned out in parallel (each branch has its own
 * deadline), as the caller: every downstream server decides and audits for that same person.
 */
export async function accountHealth(
  down: Downstream,
  ctx: Ctx,
  input: { company_id?: string; company_domain?: string },
) {
  let crm: DownstreamResult<CrmCompany> | undefined;
  let domains: string[];
  let domain: string;
  if (input.company_id) {
    // The id names one company: CRM first, and a refusal there is a refusal of the whole question.
    crm = await down.call(ctx, "crm-read", "get_company", { company_id: input.company_id });
    if (!crm.ok && crm.reason === "refused") throw new ToolError(`refused by ${crm.message}`);
    if (!crm.ok && crm.reason === "not_found")
      throw new ToolError(`company ${input.company_id} does not exist`, { code: "not_found" });
    domains = crm.ok ? companyDomains(crm.value.company.domain, crm.value.company.additional_domains) : [];
    if (domains.length === 0)
      throw new ToolError("the CRM could not say which account this is (no usable domain); try again later");
    domain = domains[0]!;
  } else {
    const d = normalizeDomain(input.company_domain);
    if (!d)
      throw new ToolError(
        "account must be a HubSpot company id (digits) or a web domain such as example.com",
      );
    domain = d;
    domains = [d];
  }

  // CRM: the company for these domains. Its full domain list also serves the orders join below.
  const crmPromise = crm ? Promise.resolve({ result: crm, domains }) : findCompany(down, ctx, domains);

  // Orders: the customer whose domain is one of the account's. Searched by the asked-for domain first, in
  // parallel with the CRM; only if that misses are the CRM's other domains tried (a second domain).
  const ordersBranch = async (): Promise<DownstreamResult<OrdersPart>> => {
    let found = await down.call(ctx, "order-lookup", "search_customers", {
      query: domain,
      limit: 10,
    });
    if (!found.ok) return found;
    let customer = found.value.customers.find((c) => sameAccount(domains, c.domain)) ?? null;
    if (!customer) {
      const all = (await crmPromise).domains;
      for (const other of all.filter((d) => d !== domain)) {
        found = await down.call(ctx, "order-lookup", "search_customers", {
          query: other,
          limit: 10,
        });
        if (!found.ok) return found;
        customer = found.value.customers.find((c) => sameAccount(all, c.domain)) ?? null;
        if (customer) break;
      }
    }
    if (!customer) return { ok: true, value: { customer: null, orders: [], unpaid: [] } };
    const [orders, unpaid] = await Promise.all([
      down.call(ctx, "order-lookup", "list_customer_orders", {
        customer_id: customer.customer_id,
        limit: 50,
      }),
      down.call(ctx, "order-lookup", "list_unpaid_invoices", {
        customer_id: customer.customer_id,
        limit: 50,
      }),
    ]);
    if (!orders.ok) return orders;
    if (!unpaid.ok) return unpaid;
    return { ok: true, value: { customer, orders: orders.value.orders, unpaid: unpaid.value.invoices } };
  };
  const ticketsBranch = () =>
    down.call(ctx, "ticket-draft", "list_ticket_drafts", { status: "draft", limit: 50 });

  const started = Date.now();
  const [crmOutcome, ordersResult, ticketsResult] = await Promise.all([
    crmPromise,
    ordersBranch(),
    ticketsBranch(),
  ]);
  const crmResult = crmOutcome.result;
  ctx.annotate("fanout", {
    ms: Date.now() - started,
    crm: crmResult?.ok ?? null,
    orders: ordersResult.ok,
    tickets: ticketsResult.ok,
  });

  const results = [crmResult, ordersResult, ticketsResult];
  const exchangeFailure = results.find((r) => r && !r.ok && r.reason === "token_exchange_failed");
  if (exchangeFailure && results.every((r) => !r || (!r.ok && r.reason === "token_exchange_failed"))) {
    throw new ToolError(
      `could not act for you in any system: ${(exchangeFailure as { message: string }).message}`,
    );
  }
  const finding = buildAccountHealth({
    domain,
    domains: crmOutcome.domains,
    crm: crmResult,
    orders: ordersResult,
    tickets: ticketsResult,
  });
  if (
    !finding.account.company_id &&
    !finding.account.customer_id &&
    [crmResult, ordersResult].every((r) => !r || r.ok)
  ) {
    throw new ToolError(`no account with domain ${domain} is visible to you`);
  }
  return finding;
}
