import {
  connectHttp,
  createTestEnvironment,
  type SpawnedServer,
  spawnHttpServer,
  type TestEnvironment,
} from "@gatehouse/testing";
import type { Client } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { outcomeEvent, textOf } from "../support/results.ts";
import { EMEA_ORDER, NA_ORDER, ORDER_LOOKUP_ENTRY, RELAXED_LIMITS } from "../support/servers.ts";
import { storeAndOrdersMatrix } from "./orders-matrix.ts";

describe.each(storeAndOrdersMatrix())(
  "order-lookup over Streamable HTTP ($storeKind store, $ordersKind orders)",
  (store) => {
    let env: TestEnvironment;
    let server: SpawnedServer;
    let alice: Client;
    let dave: Client;

    beforeAll(async () => {
      env = await createTestEnvironment(store);
      server = await spawnHttpServer(ORDER_LOOKUP_ENTRY, { ...env.env, ...RELAXED_LIMITS });
      alice = await connectHttp(server.url, await env.mint("alice", { audience: server.url }));
      dave = await connectHttp(server.url, await env.mint("dave", { audience: server.url }));
    });

    afterAll(async () => {
      await alice?.close();
      await dave?.close();
      await server?.stop();
      await env?.close();
    });

    it("lets alice read an order of her own tenant, with customer contacts redacted", async () => {
      const result = await alice.callTool({ name: "get_order", arguments: { order_id: EMEA_ORDER } });
      expect(result.isError).toBe(false);
      const order = (
        result.structuredContent as {
          order: { tenant: string; customer: { contact_email: string; contact_phone: string } };
        }
      ).order;
      expect(order.tenant).toBe("emea");
      expect(order.customer.contact_email).toBe("[redacted:pii]");
      expect(order.customer.contact_phone).toBe("[redacted:pii]");
      const event = await outcomeEvent(env.audit, result);
      expect(event).toMatchObject({
        type: "tool.completed",
        user_id: "alice",
        tenant: "emea",
        tool: "get_order",
        decision: "allow",
      });
      expect(event.policy_ids).toContain("order-lookup.support-agents-read-orders");
      expect(event.detail.redactions).toBe(2);
    });

    it("refuses alice an order of tenant na, and audits the refusal", async () => {
      const result = await alice.callTool({ name: "get_order", arguments: { order_id: NA_ORDER } });
      expect(result.isError).toBe(true);
      expect(textOf(result)).toBe(`order ${NA_ORDER} is in tenant na; you may read emea`);
      expect(result.structuredContent).toBeUndefined();
      const event = await outcomeEvent(env.audit, result);
      expect(event).toMatchObject({ type: "tool.denied", user_id: "alice", decision: "deny" });
      expect(event.detail).toMatchObject({ stage: "record_policy", recordTenant: "na" });
    });

    it("refuses alice a listing of tenant na at the policy stage", async () => {
      const result = await alice.callTool({ name: "list_late_orders", arguments: { tenant: "na" } });
      expect(result.isError).toBe(true);
      expect(textOf(result)).toContain("tenant na is not yours; you may read emea");
      const event = await outcomeEvent(env.audit, result);
      expect(event.detail.stage).toBe("policy");
      expect(event.policy_ids).toEqual(["base.calls-stay-in-own-tenant"]);
    });

    it("lists only alice's tenant by default and pages with an opaque cursor", async () => {
      const first = await alice.callTool({ name: "list_late_orders", arguments: { limit: 5 } });
      const page1 = first.structuredContent as {
        orders: Array<{ order_id: string; tenant: string; days_late: number }>;
        next_cursor: string | null;
      };
      expect(page1.orders).toHaveLength(5);
      expect(page1.orders.every((o) => o.tenant === "emea" && o.days_late >= 0)).toBe(true);
      expect(page1.next_cursor).toBeTypeOf("string");
      const second = await alice.callTool({
        name: "list_late_orders",
        arguments: { limit: 5, cursor: page1.next_cursor },
      });
      const page2 = second.structuredContent as typeof page1;
      const ids = new Set([...page1.orders, ...page2.orders].map((o) => o.order_id));
      expect(ids.size).toBe(page1.orders.length + page2.orders.length);
    });

    it("lets dave (admin, orders:pii) read tenant na with contacts visible", async () => {
      const result = await dave.callTool({ name: "get_order", arguments: { order_id: NA_ORDER } });
      expect(result.isError).toBe(false);
      const order = (
        result.structuredContent as { order: { tenant: string; customer: { contact_email: string } } }
      ).order;
      expect(order.tenant).toBe("na");
      expect(order.customer.contact_email).toMatch(/@/);
      const event = await outcomeEvent(env.audit, result);
      expect(event.detail.pii).toBe(true);
    });

    it("answers unpaid invoices and customer search within the tenant", async () => {
      const unpaid = await alice.callTool({
        name: "list_unpaid_invoices",
        arguments: { overdue_only: true, limit: 50 },
      });
      const invoices = (
        unpaid.structuredContent as {
          invoices: Array<{ tenant: string; outstanding_cents: number; days_overdue: number }>;
        }
      ).invoices;
      expect(invoices.length).toBeGreaterThan(0);
      expect(
        invoices.every((i) => i.tenant === "emea" && i.outstanding_cents > 0 && i.days_overdue > 0),
      ).toBe(true);
      const search = await alice.callTool({ name: "search_customers", arguments: { query: "nordlicht" } });
      const customers = (
        search.structuredContent as { customers: Array<{ domain: string; customer_id: string }> }
      ).customers;
      expect(customers.map((c) => c.domain)).toEqual(["nordlicht-logistik.de"]);
      const orders = await alice.callTool({
        name: "list_customer_orders",
        arguments: { customer_id: customers[0]!.customer_id, limit: 3 },
      });
      expect((orders.structuredContent as { orders: unknown[] }).orders.length).toBeGreaterThan(0);
    });

    it("serves clients speaking the 2026-07-28 stateless protocol", async () => {
      const modern = await connectHttp(server.url, await env.mint("alice", { audience: server.url }), {
        era: "modern",
      });
      try {
        const { tools } = await modern.listTools();
        expect(tools.map((t) => t.name).sort()).toEqual([
          "get_order",
          "list_customer_orders",
          "list_late_orders",
          "list_unpaid_invoices",
          "search_customers",
        ]);
        const result = await modern.callTool({ name: "get_order", arguments: { order_id: EMEA_ORDER } });
        expect(result.isError).toBe(false);
      } finally {
        await modern.close();
      }
    });
  },
);
