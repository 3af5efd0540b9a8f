import { type ToolContext, ToolError } from "@gatehouse/kit";
import { findCompany } from "./crm-lookup.ts";
import type { Downstream } from "./downstream.ts";
import { buildEscalationBrief, type EscalationBrief } from "./escalation-findings.ts";
import { normalizeDomain } from "./join-keys.ts";

type Ctx = Pick<ToolContext<unknown>, "callerToken" | "trace" | "signal" | "annotate">;

/**
 * A brief for escalating one order, as the caller: the order first (no brief without it; a refusal is the
 * answer), then in parallel the account's owner in the CRM, Jira issues that mention the order, and the
 * customer's open drafts.
 */
export async function escalationBrief(
  down: Downstream,
  ctx: Ctx,
  orderId: string,
  now = Date.now(),
): Promise<EscalationBrief> {
  const got = await down.call(ctx, "order-lookup", "get_order", { order_id: orderId });
  if (!got.ok) {
    if (got.reason === "refused") throw new ToolError(`refused by ${got.message}`);
    if (got.reason === "not_found")
      throw new ToolError(`order ${orderId} does not exist`, { code: "not_found" });
    throw new ToolError(`the orders system could not be asked (${got.reason}); try again shortly`);
  }
  const order = got.value.order;
  const domain = normalizeDomain(order.customer.domain);
  const started = Date.now();
  // Everything else is read in the order's tenant (an admin may brief on any tenant's order).
  const tenant = order.tenant;
  const [crm, related, drafts] = await Promise.all([
    domain ? findCompany(down, ctx, [domain], tenant).then((c) => c.result) : Promise.resolve(undefined),
    down.call(ctx, "ticket-draft", "search_tickets", {
      text: orderId,
      tenant,
      limit: 10,
    }),
    down.call(ctx, "ticket-draft", "list_ticket_drafts", { status: "draft", tenant, limit: 50 }),
  ]);
  ctx.annotate("fanout", { ms: Date.now() - started, crm: crm?.ok ?? null, tickets: related.ok });
  return buildEscalationBrief({ order, crm, related, drafts, now });
}
