import { type ToolContext, ToolError } from "@gatehouse/kit";
import { type AccountsAtRiskFinding, buildAccountsAtRisk } from "./at-risk-findings.ts";
import type { Downstream } from "./downstream.ts";

type Ctx = Pick<ToolContext<unknown>, "callerToken" | "trace" | "signal" | "annotate">;

/** One page per source: the 50 most overdue orders and invoices are where the risk is. */
const PAGE = 50;

/**
 * A tenant's accounts at risk: late orders, overdue invoices and open drafts fetched in parallel as the
 * caller, tallied per customer and ranked. A refusal by the orders system (another tenant's data) is the
 * answer; any other failure leaves that source marked unavailable and the list incomplete.
 */
export async function accountsAtRisk(
  down: Downstream,
  ctx: Ctx,
  input: { tenant: string; limit: number },
): Promise<AccountsAtRiskFinding> {
  const started = Date.now();
  const [late, overdue, drafts] = await Promise.all([
    down.call(ctx, "order-lookup", "list_late_orders", { tenant: input.tenant, limit: PAGE }),
    down.call(ctx, "order-lookup", "list_unpaid_invoices", {
      tenant: input.tenant,
      overdue_only: true,
      limit: PAGE,
    }),
    down.call(ctx, "ticket-draft", "list_ticket_drafts", {
      tenant: input.tenant,
      status: "draft",
      limit: PAGE,
    }),
  ]);
  ctx.annotate("fanout", { ms: Date.now() - started, orders: late.ok && overdue.ok, tickets: drafts.ok });
  const refused = [late, overdue].find((r) => !r.ok && r.reason === "refused");
  if (refused && !refused.ok) throw new ToolError(`refused by ${refused.message}`);
  if ([late, overdue, drafts].every((r) => !r.ok && r.reason === "token_exchange_failed")) {
    throw new ToolError(`could not act for you in any system: ${(late as { message: string }).message}`);
  }
  return buildAccountsAtRisk({ ...input, late, overdue, drafts });
}
