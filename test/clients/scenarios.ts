import { annotationsFor } from "@gatehouse/kit";
import { expect } from "vitest";
import { ENTRIES, type ServerName } from "../support/all-servers.ts";
import { type ToolResult, textOf } from "../support/results.ts";
import { definitionOf, EMEA_ORDER, NA_ORDER } from "../support/servers.ts";

/** What the client suites share: calls alice makes through whichever MCP client is under test. */
export type Call = (server: ServerName, name: string, args: Record<string, unknown>) => Promise<ToolResult>;

export const SERVERS: ServerName[] = ["order-lookup", "crm-read", "ticket-draft", "ticket-send", "business"];

const succeeded = (r: ToolResult) => {
  expect(r.isError, textOf(r)).toBe(false);
  return r.structuredContent as Record<string, unknown>;
};

/**
 * One call per server that alice may make, with what its structured result must hold. Ids go as JSON
 * numbers where clients send them so (`company_id: 1001`, `account: 1001`).
 */
export const ALICE_CALLS: Record<ServerName, (call: Call) => Promise<void>> = {
  "order-lookup": async (call) => {
    const out = succeeded(await call("order-lookup", "get_order", { order_id: EMEA_ORDER }));
    expect(out).toMatchObject({ order: { order_id: EMEA_ORDER, tenant: "emea" } });
  },
  "crm-read": async (call) => {
    const out = succeeded(await call("crm-read", "get_company", { company_id: 1001 }));
    expect(out).toMatchObject({ company: { company_id: "1001", tenant: "emea" } });
  },
  "ticket-draft": async (call) => {
    const out = succeeded(await call("ticket-draft", "list_ticket_drafts", { limit: 5 }));
    expect(Array.isArray(out.drafts)).toBe(true);
  },
  // A dry run: exactly what would be filed for a fresh draft of alice's, and nothing sent.
  "ticket-send": async (call) => {
    const drafted = succeeded(
      await call("ticket-draft", "create_ticket_draft", {
        project: "SUP",
        issue_type: "Incident",
        summary: `Order ${EMEA_ORDER} is late`,
        description: "Customer asked twice.",
        order_id: EMEA_ORDER,
      }),
    ) as { draft: { draft_id: string } };
    const out = succeeded(
      await call("ticket-send", "send_ticket", { draft_id: drafted.draft.draft_id, dry_run: true }),
    );
    expect(out).toMatchObject({ dry_run: true, jira_key: null });
  },
  business: async (call) => {
    const out = succeeded(await call("business", "account_health", { account: 1001 }));
    expect(out).toMatchObject({ account: { tenant: "emea", company_id: "1001" } });
  },
};

/** Refusals alice must meet through any client: another tenant's record, and ids no client may send. */
export async function expectRefusals(call: Call): Promise<void> {
  const other = await call("order-lookup", "get_order", { order_id: NA_ORDER });
  expect(other.isError).toBe(true);
  expect(textOf(other)).toBe(`order ${NA_ORDER} is in tenant na; you may read emea`);
  for (const company_id of [-1, 1001.5, 2 ** 53]) {
    const odd = await call("crm-read", "get_company", { company_id });
    expect(odd.isError, `company_id ${company_id} was accepted`).toBe(true);
    expect(textOf(odd)).toBe(
      `invalid arguments for get_company: company_id: a company id sent as a number must be a whole number from 0 to ${Number.MAX_SAFE_INTEGER}; send other ids as a string`,
    );
  }
  const bool = await call("crm-read", "get_company", { company_id: true });
  expect(textOf(bool)).toBe(
    "invalid arguments for get_company: company_id: a company id must be a string (or a whole number of 0 or more)",
  );
}

/** The server lists exactly its defined tools, each with its title and the annotations its kind implies. */
export async function expectDefinedTools(
  server: ServerName,
  tools: Array<{ name: string; annotations?: unknown }>,
): Promise<void> {
  const defined = (await definitionOf(ENTRIES[server])).tools;
  expect(tools.map((t) => t.name)).toEqual(defined.map((t) => t.name));
  for (const t of defined) {
    expect(tools.find((l) => l.name === t.name)?.annotations).toEqual({
      title: t.title,
      ...annotationsFor(t.kind),
    });
  }
}
