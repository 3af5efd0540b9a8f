import {
  connectHttp,
  createTestEnvironment,
  type SpawnedServer,
  spawnHttpServer,
  type TestEnvironment,
} from "@gatehouse/testing";
import type { Client } from "@modelcontextprotocol/client";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { textOf } from "../support/results.ts";
import { EMEA_ORDER, ORDER_LOOKUP_ENTRY } from "../support/servers.ts";

/**
 * When the audit trail cannot take the call's intent, nothing runs (fails closed) and the caller is told so
 * in words of ours with a correlation id: never the database driver's message (tables, hosts, timeouts).
 */
describe("order-lookup when its audit trail fails", () => {
  let env: TestEnvironment;
  let server: SpawnedServer;
  let client: Client;

  beforeAll(async () => {
    env = await createTestEnvironment({ storeKind: "sqlite" });
    server = await spawnHttpServer(ORDER_LOOKUP_ENTRY, env.env);
    client = await connectHttp(server.url, await env.mint("alice", { audience: server.url }));
  });

  afterAll(async () => {
    await client?.close();
    await server?.stop();
    await env?.close();
  });

  it("refuses the call with a message of its own and a correlation id, not the store's error", async () => {
    expect((await client.callTool({ name: "get_order", arguments: { order_id: EMEA_ORDER } })).isError).toBe(
      false,
    );
    // Every later append fails inside the server's store (as a full disk or a revoked grant would).
    await sql`create trigger no_appends before insert on audit_events begin select raise(abort, 'disk I/O error at /var/lib/secret.db'); end`.execute(
      env.store.db,
    );
    const result = await client.callTool({ name: "get_order", arguments: { order_id: EMEA_ORDER } });
    expect(result.isError).toBe(true);
    const text = textOf(result);
    expect(text).toMatch(
      /^get_order could not be run through the gate \(its audit trail or store did not answer\); try again shortly\. Correlation id [\w-]+\.$/,
    );
    expect(text).not.toMatch(/disk|secret|sqlite|audit_events/i);
    expect(result.structuredContent).toBeUndefined();
    expect(result._meta?.["io.gatehouse/correlation-id"]).toBeTruthy();
  });
});
