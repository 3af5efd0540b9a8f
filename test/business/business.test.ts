import { randomBytes } from "node:crypto";
import {
  type RunningHubSpot,
  type RunningJira,
  startHubSpotSandbox,
  startJiraSandbox,
} from "@gatehouse/sandbox";
import {
  connectHttp,
  createTestEnvironment,
  type SpawnedServer,
  spawnHttpServer,
  standInEnv,
  type TestEnvironment,
} from "@gatehouse/testing";
import type { Client } from "@modelcontextprotocol/client";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { callToolBody, MCP_HEADERS, rawRequest } from "../support/http.ts";
import { type ToolResult, textOf } from "../support/results.ts";
import {
  BUSINESS_ENTRY,
  CRM_READ_ENTRY,
  ORDER_LOOKUP_ENTRY,
  RELAXED_LIMITS,
  TICKET_DRAFT_ENTRY,
} from "../support/servers.ts";

type Finding = {
  account: { domain: string; tenant: string | null; company_id: string | null; customer_id: string | null };
  crm: { status: string; reason: string | null; open_deals: number };
  orders: { status: string; reason: string | null; open_orders: number; unpaid_invoices: number };
  tickets: { status: string; reason: string | null; open_drafts: number };
  risk_flags: Array<{ flag: string; severity: string }>;
};

describe("business server: findings across systems, as the caller", () => {
  let env: TestEnvironment;
  let hubspot: RunningHubSpot;
  let jira: RunningJira;
  let orderLookup: SpawnedServer;
  let crm: SpawnedServer;
  let ticketDraft: SpawnedServer;
  const extra: SpawnedServer[] = [];
  let business: SpawnedServer;
  let alice: Client;
  const secret = randomBytes(24).toString("hex");

  const startBusiness = async (over: Record<string, string> = {}) => {
    const s = await spawnHttpServer(BUSINESS_ENTRY, {
      ...env.env,
      ...RELAXED_LIMITS,
      BUSINESS_ORDER_LOOKUP_URL: orderLookup.url,
      BUSINESS_CRM_READ_URL: crm.url,
      BUSINESS_TICKET_DRAFT_URL: ticketDraft.url,
      BUSINESS_CLIENT_SECRET: secret,
      BUSINESS_DOWNSTREAM_TIMEOUT_MS: "8000",
      ...over,
    });
    env.issuer.registerExchangeClient(over.BUSINESS_CLIENT_ID ?? "business", {
      secret,
      resource: s.url,
      targets: [orderLookup.url, crm.url, ticketDraft.url],
    });
    return s;
  };

  beforeAll(async () => {
    env = await createTestEnvironment({ storeKind: "sqlite" });
    hubspot = await startHubSpotSandbox({
      port: 0,
      limits: { tenSecondly: 100_000, searchPerSecond: 100_000 },
    });
    jira = await startJiraSandbox({ port: 0 });
    const common = {
      ...env.env,
      ...RELAXED_LIMITS,
      ...standInEnv({ hubspot, jira }),
    };
    [orderLookup, crm, ticketDraft] = await Promise.all([
      spawnHttpServer(ORDER_LOOKUP_ENTRY, common),
      spawnHttpServer(CRM_READ_ENTRY, common),
      spawnHttpServer(TICKET_DRAFT_ENTRY, common),
    ]);
    business = await startBusiness();
    alice = await connectHttp(business.url, await env.mint("alice", { audience: business.url }));
    // Warm every path once (token exchange, JWKS fetches, first compiles) so deadlines measure steady state.
    await alice.callTool({ name: "account_health", arguments: { account: "nordlicht-logistik.de" } });
  });

  afterEach(() => hubspot?.faults.clear());

  afterAll(async () => {
    await alice?.close();
    await Promise.all([business, orderLookup, crm, ticketDraft, ...extra].map((s) => s?.stop()));
    await hubspot?.close();
    await jira?.close();
    await env?.close();
  });

  const health = async (client: Client, args: Record<string, unknown>) =>
    client.callTool({ name: "account_health", arguments: args });

  it("gives alice an emea account's health built from CRM, orders and tickets", async () => {
    const drafter = await connectHttp(
      ticketDraft.url,
      await env.mint("alice", { audience: ticketDraft.url }),
    );
    const customer = "CUST-0001";
    const d = await drafter.callTool({
      name: "create_ticket_draft",
      arguments: {
        project: "SUP",
        issue_type: "Task",
        summary: "Check late order",
        description: "d",
        customer_id: customer,
      },
    });
    await drafter.close();
    expect(d.isError, textOf(d)).toBe(false);

    const r = await health(alice, { account: "nordlicht-logistik.de" });
    expect(r.isError, textOf(r)).toBe(false);
    const f = r.structuredContent as Finding;
    expect(f.account).toMatchObject({ domain: "nordlicht-logistik.de", tenant: "emea", company_id: "1001" });
    expect(f.account.customer_id).toMatch(/^CUST-\d{4}$/);
    expect(f.crm.status).toBe("ok");
    expect(f.orders.status).toBe("ok");
    expect(f.orders.open_orders + f.orders.unpaid_invoices).toBeGreaterThan(0);
    expect(f.tickets.status).toBe("ok");
  });

  it("puts the business call and every domain call under one correlation id, all naming alice, none with her token", async () => {
    const r = (await health(alice, { account: "nordlicht-logistik.de" })) as ToolResult;
    const correlationId = String(r._meta?.["io.gatehouse/correlation-id"]);
    const events = await env.audit.byCorrelation(correlationId);
    expect(new Set(events.map((e) => e.server))).toEqual(
      new Set(["business", "crm-read", "order-lookup", "ticket-draft"]),
    );
    expect(events.every((e) => e.user_id === "alice" && e.tenant === "emea")).toBe(true);
    const businessSpan = events.find((e) => e.server === "business")!.span_id;
    const downstream = events.filter((e) => e.server !== "business");
    expect(
      downstream.every((e) => e.parent_span_id === businessSpan && e.trace_id === events[0]!.trace_id),
    ).toBe(true);
    expect(downstream.every((e) => e.client_id === "business")).toBe(true);
    const aliceJti = events.find((e) => e.server === "business")!.token_id;
    expect(downstream.some((e) => e.token_id === aliceJti)).toBe(false);
  });

  it("refuses alice an na account, and the audit shows crm-read refused it for her", async () => {
    const r = (await health(alice, { account: "1019" })) as ToolResult;
    expect(r.isError).toBe(true);
    expect(textOf(r)).toBe("refused by crm-read: company 1019 is in tenant na; you may read emea");
    const events = await env.audit.byCorrelation(String(r._meta?.["io.gatehouse/correlation-id"]));
    expect(events.find((e) => e.server === "crm-read" && e.type === "tool.denied")).toMatchObject({
      user_id: "alice",
    });
    const byDomain = await health(alice, { account: "greatlakesfreight.com" });
    expect(textOf(byDomain)).toBe("no account with domain greatlakesfreight.com is visible to you");
  });

  it("ranks the accounts at risk in alice's tenant only, from orders and tickets, as alice", async () => {
    const r = (await alice.callTool({ name: "accounts_at_risk", arguments: { limit: 5 } })) as ToolResult;
    expect(r.isError, textOf(r)).toBe(false);
    const f = r.structuredContent as {
      tenant: string;
      accounts: Array<{
        customer_id: string;
        severity: string;
        late_orders: number;
        overdue_invoices: number;
      }>;
      sources: Record<string, { status: string }>;
    };
    expect(f.tenant).toBe("emea");
    expect(f.accounts.length).toBeGreaterThan(0);
    expect(f.accounts.length).toBeLessThanOrEqual(5);
    expect(Object.values(f.sources).every((s) => s.status === "ok")).toBe(true);
    expect(f.accounts.every((a) => a.late_orders + a.overdue_invoices > 0)).toBe(true);
    // Every account is one alice may read in the orders system herself.
    const orders = await connectHttp(orderLookup.url, await env.mint("alice", { audience: orderLookup.url }));
    try {
      for (const a of f.accounts) {
        const own = await orders.callTool({
          name: "list_customer_orders",
          arguments: { customer_id: a.customer_id, limit: 1 },
        });
        expect(own.isError, `${a.customer_id}: ${textOf(own)}`).toBe(false);
        // An na customer would come back as an empty list, not an error: the orders must be there, in emea.
        const listed = (own.structuredContent as { orders: Array<{ tenant: string }> }).orders;
        expect(listed.length, a.customer_id).toBeGreaterThan(0);
        expect(listed.every((o) => o.tenant === "emea")).toBe(true);
      }
    } finally {
      await orders.close();
    }
    const events = await env.audit.byCorrelation(String(r._meta?.["io.gatehouse/correlation-id"]));
    expect(new Set(events.map((e) => e.server))).toEqual(
      new Set(["business", "order-lookup", "ticket-draft"]),
    );
    expect(events.every((e) => e.user_id === "alice")).toBe(true);
  });

  it("refuses alice the na tenant's accounts at risk at the business gate, and audits it", async () => {
    const r = (await alice.callTool({
      name: "accounts_at_risk",
      arguments: { tenant: "na" },
    })) as ToolResult;
    expect(r.isError).toBe(true);
    // Refused at the gate, before any downstream call is made.
    expect(textOf(r)).toBe("tenant na is not yours; you may read emea");
    const events = await env.audit.byCorrelation(String(r._meta?.["io.gatehouse/correlation-id"]));
    expect(events.map((e) => [e.server, e.type])).toEqual([
      ["business", "tool.requested"],
      ["business", "tool.denied"],
    ]);
  });

  it("briefs alice on escalating a late emea order: promise, delay, account owner, the Jira issue about it", async () => {
    const orders = await connectHttp(orderLookup.url, await env.mint("alice", { audience: orderLookup.url }));
    let orderId: string;
    try {
      const late = (await orders.callTool({
        name: "list_customer_orders",
        arguments: { customer_id: "CUST-0001", limit: 50 },
      })) as ToolResult;
      const list = (late.structuredContent as { orders: Array<{ order_id: string; late: boolean }> }).orders;
      orderId = (list.find((o) => o.late) ?? list[0]!).order_id;
    } finally {
      await orders.close();
    }
    // Someone filed a Jira issue about this order (straight into Jira, as people do).
    const filed = await fetch(`${jira.url}/rest/api/3/issue`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: `Basic ${Buffer.from(`${jira.email}:${jira.apiToken}`).toString("base64")}`,
      },
      body: JSON.stringify({
        fields: {
          project: { key: "SUP" },
          issuetype: { name: "Task" },
          summary: `Customer chasing ${orderId}`,
        },
      }),
    });
    expect(filed.status).toBe(201);
    const { key } = (await filed.json()) as { key: string };

    const r = (await alice.callTool({
      name: "order_escalation_brief",
      arguments: { order_id: orderId },
    })) as ToolResult;
    expect(r.isError, textOf(r)).toBe(false);
    const b = r.structuredContent as {
      order: { order_id: string; tenant: string; promised_at: string; days_late: number; late: boolean };
      account: { customer_id: string; company_id: string | null; owner_id: string | null };
      tickets: { status: string; related_issues: string[] };
    };
    expect(b.order).toMatchObject({ order_id: orderId, tenant: "emea" });
    expect(b.order.days_late).toBeGreaterThanOrEqual(0);
    if (!b.order.late) expect(b.order.days_late).toBe(0);
    expect(b.account).toMatchObject({ customer_id: "CUST-0001", company_id: "1001" });
    expect(b.tickets).toMatchObject({ status: "ok", related_issues: [key] });
    const events = await env.audit.byCorrelation(String(r._meta?.["io.gatehouse/correlation-id"]));
    expect(new Set(events.map((e) => e.server))).toEqual(
      new Set(["business", "order-lookup", "crm-read", "ticket-draft"]),
    );
    expect(events.every((e) => e.user_id === "alice")).toBe(true);
  });

  it("briefs an admin on another tenant's order from that tenant's CRM and Jira, not the admin's", async () => {
    const dave = await connectHttp(business.url, await env.mint("dave", { audience: business.url }));
    try {
      const r = (await dave.callTool({
        name: "order_escalation_brief",
        arguments: { order_id: "SO-100200" },
      })) as ToolResult;
      expect(r.isError, textOf(r)).toBe(false);
      const b = r.structuredContent as {
        order: { tenant: string };
        account: { company_id: string | null; crm: { status: string } };
        tickets: { status: string };
      };
      expect(b.order.tenant).toBe("na");
      expect(b.account.crm.status).toBe("ok");
      expect(b.account.company_id).not.toBeNull();
      expect(b.tickets.status).toBe("ok");
    } finally {
      await dave.close();
    }
  });

  it("refuses alice a brief on an na order, and says when an order does not exist", async () => {
    const na = await alice.callTool({ name: "order_escalation_brief", arguments: { order_id: "SO-100200" } });
    expect(na.isError).toBe(true);
    expect(textOf(na)).toBe("refused by order-lookup: order SO-100200 is in tenant na; you may read emea");
    const missing = await alice.callTool({
      name: "order_escalation_brief",
      arguments: { order_id: "SO-999999" },
    });
    expect(textOf(missing)).toBe("order SO-999999 does not exist");
  });

  it("cannot be used to pass alice's token through: her business token is refused by the domain servers", async () => {
    const token = await env.mint("alice", { audience: business.url });
    const res = await rawRequest(orderLookup.url, {
      headers: { ...MCP_HEADERS, authorization: `Bearer ${token}` },
      body: callToolBody("list_late_orders", {}),
    });
    expect(res.status).toBe(401);
  });

  it("joins messy data: a CRM domain in mixed case with spaces, and a company with two domains", async () => {
    const bob = await connectHttp(business.url, await env.mint("bob", { audience: business.url }));
    try {
      const r = await health(bob, { account: "hudsondata.io" });
      expect(r.isError, textOf(r)).toBe(false);
      const hudson = r.structuredContent as Finding;
      expect(hudson.account.company_id).not.toBeNull();
      expect(hudson.account.customer_id).not.toBeNull();
    } finally {
      await bob.close();
    }
    const fjord = (await health(alice, { account: "fjord-maritime.com" })).structuredContent as Finding;
    expect(fjord.account.company_id).toBe("1002");
  });

  it("marks a failing CRM unavailable and still answers from the other systems", async () => {
    hubspot.faults.set({ kind: "status", status: 500 });
    const r = await health(alice, { account: "nordlicht-logistik.de" });
    expect(r.isError, textOf(r)).toBe(false);
    const f = r.structuredContent as Finding;
    expect(f.crm).toMatchObject({ status: "unavailable", reason: "error" });
    expect(f.orders.status).toBe("ok");
    expect(f.risk_flags).toContainEqual({ flag: "system_unavailable", severity: "medium" });
  });

  it("does not wait for a slow system past its deadline: the answer comes at the slowest branch's deadline", async () => {
    const quick = await startBusiness({
      BUSINESS_CLIENT_ID: "business-quick",
      BUSINESS_DOWNSTREAM_TIMEOUT_MS: "1500",
    });
    extra.push(quick);
    const c = await connectHttp(quick.url, await env.mint("alice", { audience: quick.url }));
    try {
      await health(c, { account: "nordlicht-logistik.de" });
      hubspot.faults.set({ kind: "latency", ms: 5_000 });
      const started = Date.now();
      const r = await health(c, { account: "nordlicht-logistik.de" });
      const elapsed = Date.now() - started;
      const f = r.structuredContent as Finding;
      expect(f.crm).toMatchObject({ status: "unavailable", reason: "timeout" });
      expect(f.orders.status).toBe("ok");
      // Generous against a noisy machine, yet far below the 5 s the slow system would take.
      expect(elapsed).toBeLessThan(4_500);
    } finally {
      await c.close();
    }
  });

  it("fails clearly when the identity provider will not exchange its tokens", async () => {
    const wrongSecret = await startBusiness({
      BUSINESS_CLIENT_SECRET: "x".repeat(32),
      BUSINESS_CLIENT_ID: "business-2",
    });
    extra.push(wrongSecret);
    env.issuer.registerExchangeClient("business-2", {
      secret,
      resource: wrongSecret.url,
      targets: [orderLookup.url, crm.url, ticketDraft.url],
    });
    const c = await connectHttp(wrongSecret.url, await env.mint("alice", { audience: wrongSecret.url }));
    try {
      const r = await health(c, { account: "nordlicht-logistik.de" });
      expect(textOf(r)).toMatch(
        /^could not act for you in any system: token exchange for .+ failed: invalid_client/,
      );
    } finally {
      await c.close();
    }
    const issuerDown = await startBusiness({
      BUSINESS_TOKEN_ENDPOINT: "http://127.0.0.1:9/token",
      BUSINESS_CLIENT_ID: "business-3",
    });
    extra.push(issuerDown);
    const d = await connectHttp(issuerDown.url, await env.mint("alice", { audience: issuerDown.url }));
    try {
      expect(textOf(await health(d, { account: "nordlicht-logistik.de" }))).toMatch(
        /identity provider is unreachable/,
      );
    } finally {
      await d.close();
    }
  });

  it("refuses an exchange for a server the business client may not reach (wrong audience)", async () => {
    const limited = await startBusiness({ BUSINESS_CLIENT_ID: "business-4" });
    extra.push(limited);
    env.issuer.registerExchangeClient("business-4", {
      secret,
      resource: limited.url,
      targets: [orderLookup.url, ticketDraft.url],
    });
    const c = await connectHttp(limited.url, await env.mint("alice", { audience: limited.url }));
    try {
      const f = (await health(c, { account: "nordlicht-logistik.de" })).structuredContent as Finding;
      expect(f.crm).toMatchObject({ status: "unavailable", reason: "token_exchange_failed" });
      expect(f.orders.status).toBe("ok");
    } finally {
      await c.close();
    }
  });
});
