import { spawn } from "node:child_process";
import { once } from "node:events";
import { type AddressInfo, createServer } from "node:net";
import {
  connectHttp,
  createPostgresOrders,
  createTestEnvironment,
  holdTableLock,
  type PostgresOrders,
  type SpawnedServer,
  spawnHttpServer,
  type TestEnvironment,
} from "@gatehouse/testing";
import type { Client } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { outcomeEvent, textOf } from "../support/results.ts";
import { ORDER_LOOKUP_ENTRY, RELAXED_LIMITS } from "../support/servers.ts";

const pgAdminUrl = inject("pgAdminUrl");

/** Starts the real entry point as an operator would and waits for it to exit (or kills it after 30 s). */
async function startDirectly(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [ORDER_LOOKUP_ENTRY, "http"], {
    env: { ...process.env, LOG_LEVEL: "info", GATEHOUSE_HOST: "127.0.0.1", GATEHOUSE_PORT: "0", ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk: string) => {
    stderr += chunk;
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  const [code] = (await once(child, "exit")) as [number | null];
  clearTimeout(timer);
  return { code, stderr };
}

describe.runIf(pgAdminUrl)("order-lookup on a PostgreSQL orders database", () => {
  let env: TestEnvironment;
  let orders: PostgresOrders;
  let server: SpawnedServer;
  let alice: Client;

  beforeAll(async () => {
    [env, orders] = await Promise.all([
      createTestEnvironment({ storeKind: "sqlite" }),
      createPostgresOrders(pgAdminUrl),
    ]);
    server = await spawnHttpServer(ORDER_LOOKUP_ENTRY, {
      ...env.env,
      ...RELAXED_LIMITS,
      ORDERS_DATABASE_URL: orders.readerUrl,
      ORDERS_DB_STATEMENT_TIMEOUT_MS: "500",
    });
    alice = await connectHttp(server.url, await env.mint("alice", { audience: server.url }));
  });

  afterAll(async () => {
    await alice?.close();
    await server?.stop();
    await env?.close();
    await orders?.drop();
  });

  it("refuses to start as the database's owner, in one line that names the role and hides the password", async () => {
    const owner = new URL(orders.ownerUrl);
    owner.password = "hunter2-secret";
    const { code, stderr } = await startDirectly({ ...env.env, ORDERS_DATABASE_URL: owner.toString() });
    expect(code).not.toBe(0);
    expect(stderr).toMatch(
      /^order-lookup failed to start: refusing to read the orders database at postgres:\/\/\w+:\*\*\*@127\.0\.0\.1:\d+\/\w+ as a role that can write: role "\w+" is a superuser; connect with a role that may only SELECT/,
    );
    expect(stderr).not.toContain("hunter2");
    expect(stderr.trim().split("\n")).toHaveLength(1);
  });

  it("names an unreachable orders database at start-up, without its password", async () => {
    // A loopback port that was free a moment ago: nothing listens on it.
    const probe = createServer().listen(0, "127.0.0.1");
    await once(probe, "listening");
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const { code, stderr } = await startDirectly({
      ...env.env,
      ORDERS_DATABASE_URL: `postgres://reader:hunter2-secret@127.0.0.1:${port}/orders`,
    });
    expect(code).not.toBe(0);
    expect(stderr.trim()).toMatch(
      new RegExp(
        `^order-lookup failed to start: cannot reach the orders database at postgres://reader:\\*\\*\\*@127\\.0\\.0\\.1:${port}/orders \\(connection refused\\); check ORDERS_DATABASE_URL$`,
      ),
    );
    expect(stderr).not.toContain("hunter2");
  });

  it("says which setting is wrong when the pool size is not a number", async () => {
    const { code, stderr } = await startDirectly({
      ...env.env,
      ORDERS_DATABASE_URL: orders.readerUrl,
      ORDERS_DB_POOL_MAX: "lots",
    });
    expect(code).not.toBe(0);
    expect(stderr).toContain("ORDERS_DB_POOL_MAX must be a whole number");
  });

  it("answers a call the database cannot serve within the statement timeout with a clear tool error", async () => {
    const lock = await holdTableLock(orders.ownerUrl, "customers");
    let result: Awaited<ReturnType<Client["callTool"]>>;
    const started = Date.now();
    try {
      result = await alice.callTool({ name: "search_customers", arguments: { query: "nordlicht" } });
    } finally {
      await lock.release();
    }
    expect(Date.now() - started).toBeLessThan(5000);
    expect(result.isError).toBe(true);
    expect(textOf(result)).toBe(
      "the orders database did not answer within 0.5 s; narrow the request (a smaller limit, a more specific query) or try again later",
    );
    const event = await outcomeEvent(env.audit, result);
    expect(event).toMatchObject({ type: "tool.failed", user_id: "alice" });
    // And the next call, with the lock gone, is served by the same pool.
    const again = await alice.callTool({ name: "search_customers", arguments: { query: "nordlicht" } });
    expect(again.isError, textOf(again)).toBe(false);
  });
});
