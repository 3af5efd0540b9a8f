import { spawnSync } from "node:child_process";
import {
  connectHttp,
  createTestEnvironment,
  queryPostgres,
  type SpawnedServer,
  spawnHttpServer,
  TEST_ORDERS_DB,
  type TestEnvironment,
} from "@gatehouse/testing";
import type { Client } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../support/cli.ts";
import { outcomeEvent, textOf } from "../support/results.ts";
import { EMEA_ORDER, ORDER_LOOKUP_ENTRY, RELAXED_LIMITS } from "../support/servers.ts";
import { storeAndOrdersMatrix } from "./orders-matrix.ts";

/** What the orders database holds, to show a call changed nothing: PostgreSQL read as the server's role. */
async function ordersDbFingerprint(env: TestEnvironment): Promise<string> {
  if (env.ordersKind === "postgres") {
    const rows = await queryPostgres(
      env.env.ORDERS_DATABASE_URL!,
      "select (select count(*) from customers) as c, (select count(*) from orders) as o, (select sum(total_cents) from orders) as t",
    );
    return JSON.stringify(rows);
  }
  const r = spawnSync(
    "sqlite3",
    [
      TEST_ORDERS_DB,
      "select count(*) from customers; select count(*) from orders; select sum(total_cents) from orders;",
    ],
    { encoding: "utf8" },
  );
  if (r.status !== 0) {
    // sqlite3 CLI is optional; fall back to the file's size and mtime.
    const { statSync } = require("node:fs") as typeof import("node:fs");
    const st = statSync(TEST_ORDERS_DB);
    return `${st.size}:${st.mtimeMs}`;
  }
  return r.stdout;
}

describe.each(storeAndOrdersMatrix())(
  "order-lookup pipeline stages ($storeKind store, $ordersKind orders)",
  (store) => {
    let env: TestEnvironment;
    let server: SpawnedServer;
    let alice: Client;

    beforeAll(async () => {
      env = await createTestEnvironment(store);
      server = await spawnHttpServer(ORDER_LOOKUP_ENTRY, { ...env.env, ...RELAXED_LIMITS });
      alice = await connectHttp(server.url, await env.mint("alice", { audience: server.url }));
    });

    afterAll(async () => {
      await alice?.close();
      await server?.stop();
      await env?.close();
    });

    const badInputs: Array<[string, string, Record<string, unknown>, string]> = [
      [
        "a wrong type",
        "get_order",
        { order_id: 100001 },
        "order_id: Invalid input: expected string, received number",
      ],
      ["a missing field", "get_order", {}, "order_id: Invalid input: expected string, received undefined"],
      [
        "an unknown field",
        "get_order",
        { order_id: EMEA_ORDER, include_all_tenants: true },
        'unknown field(s) "include_all_tenants"',
      ],
      [
        "SQL in an id",
        "get_order",
        { order_id: "SO-100001' OR '1'='1" },
        "order_id: an order id looks like SO-100123",
      ],
      [
        "a huge string",
        "search_customers",
        { query: "x".repeat(200_000) },
        "query: Too big: expected string to have <=100 characters",
      ],
      [
        "an out-of-range page size",
        "list_late_orders",
        { limit: 10_000 },
        "limit: Too big: expected number to be <=50",
      ],
      [
        "a malformed tenant",
        "list_late_orders",
        { tenant: "emea; DROP TABLE orders" },
        "tenant: a tenant is a short lowercase name",
      ],
      [
        "a forged cursor",
        "list_late_orders",
        { cursor: "eyJub3QiOiJtaW5lIn0" },
        "cursor is not one this server issued",
      ],
    ];

    it.each(badInputs)(
      "answers %s with a clear MCP error, audits it, and changes nothing",
      async (_label, tool, args, message) => {
        const before = await ordersDbFingerprint(env);
        const result = await alice.callTool({ name: tool, arguments: args });
        expect(result.isError).toBe(true);
        expect(textOf(result)).toContain(message);
        expect(textOf(result)).not.toMatch(/select|sqlite|stack|at \w+ \(/i);
        const event = await outcomeEvent(env.audit, result);
        expect(event.type).toBe("tool.failed");
        expect(["input", "handler"]).toContain(event.detail.stage);
        expect(await ordersDbFingerprint(env)).toBe(before);
      },
    );

    it("treats SQL metacharacters in a search as plain text", async () => {
      const result = await alice.callTool({ name: "search_customers", arguments: { query: "%' OR '1'='1" } });
      expect(result.isError).toBe(false);
      expect((result.structuredContent as { customers: unknown[] }).customers).toEqual([]);
      const wildcard = await alice.callTool({ name: "search_customers", arguments: { query: "%%" } });
      expect((wildcard.structuredContent as { customers: unknown[] }).customers).toEqual([]);
    });

    it("never stores raw PII or secrets from arguments in the audit trail", async () => {
      const result = await alice.callTool({
        name: "search_customers",
        arguments: { query: "ana.berg@example.com" },
      });
      const requested = (await env.audit.latest(50)).filter((e) => e.type === "tool.requested").at(-1)!;
      expect(requested.args).not.toContain("ana.berg@example.com");
      expect(requested.args).toContain("[redacted:email]");
      expect(requested.args_fingerprint).toMatch(/^[0-9a-f]{64}$/);
      expect(result.isError).toBe(false);
    });

    it("stops a tool everywhere when its kill switch is set from the CLI, and resumes it", async () => {
      const cliEnv = { GATEHOUSE_DATA_DIR: env.dataDir, DATABASE_URL: env.env.DATABASE_URL ?? "" };
      const on = runCli(["killswitch", "on", "order-lookup/get_order", "--reason", "incident 42"], cliEnv);
      expect(on.status, on.stderr).toBe(0);
      const changed = (await env.audit.latest(5)).filter((e) => e.type === "killswitch.changed").at(-1);
      expect(changed).toMatchObject({ tool: "order-lookup/get_order", outcome: "on" });
      expect(JSON.parse(changed!.detail)).toMatchObject({ reason: "incident 42" });
      let denied: Awaited<ReturnType<Client["callTool"]>> | undefined;
      for (let i = 0; i < 50 && !denied; i++) {
        const r = await alice.callTool({ name: "get_order", arguments: { order_id: EMEA_ORDER } });
        if (r.isError) denied = r;
        else await new Promise((res) => setTimeout(res, 100));
      }
      expect(denied, "kill switch never took effect").toBeDefined();
      expect(textOf(denied)).toBe("get_order is switched off by an operator: incident 42; try again later");
      expect((await outcomeEvent(env.audit, denied)).detail.stage).toBe("kill_switch");
      const other = await alice.callTool({ name: "list_late_orders", arguments: { limit: 1 } });
      expect(other.isError).toBe(false);

      const off = runCli(["killswitch", "off", "order-lookup/get_order"], cliEnv);
      expect(off.status, off.stderr).toBe(0);
      let resumed = false;
      for (let i = 0; i < 50 && !resumed; i++) {
        resumed =
          (await alice.callTool({ name: "get_order", arguments: { order_id: EMEA_ORDER } })).isError ===
          false;
        if (!resumed) await new Promise((res) => setTimeout(res, 100));
      }
      expect(resumed).toBe(true);
    });
  },
);

describe("order-lookup rate limits", () => {
  let env: TestEnvironment;
  let server: SpawnedServer;

  beforeAll(async () => {
    env = await createTestEnvironment({ storeKind: "sqlite" });
    server = await spawnHttpServer(ORDER_LOOKUP_ENTRY, {
      ...env.env,
      ...RELAXED_LIMITS,
      GATEHOUSE_RATE_LIMIT_USER: "3/60s",
    });
  });

  afterAll(async () => {
    await server?.stop();
    await env?.close();
  });

  it("refuses a user's fourth call in a minute, audits it, and leaves other users alone", async () => {
    const alice = await connectHttp(server.url, await env.mint("alice", { audience: server.url }));
    const bob = await connectHttp(server.url, await env.mint("bob", { audience: server.url }));
    try {
      for (let i = 0; i < 3; i++)
        expect((await alice.callTool({ name: "list_late_orders", arguments: { limit: 1 } })).isError).toBe(
          false,
        );
      const limited = await alice.callTool({ name: "list_late_orders", arguments: { limit: 1 } });
      expect(limited.isError).toBe(true);
      expect(textOf(limited)).toMatch(/^rate limit reached for this user; retry after \d+ s$/);
      const event = await outcomeEvent(env.audit, limited);
      expect(event).toMatchObject({ type: "tool.denied", user_id: "alice" });
      expect(event.detail).toMatchObject({ stage: "rate_limit", bucket: "user" });
      expect((await bob.callTool({ name: "list_late_orders", arguments: { limit: 1 } })).isError).toBe(false);
    } finally {
      await alice.close();
      await bob.close();
    }
  });
});
