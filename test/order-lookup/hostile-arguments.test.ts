import {
  connectHttp,
  createTestEnvironment,
  type SpawnedServer,
  spawnHttpServer,
  type TestEnvironment,
} from "@gatehouse/testing";
import type { Client } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { storeMatrix } from "../setup/stores.ts";
import { MCP_HEADERS, rawRequest } from "../support/http.ts";
import { textOf } from "../support/results.ts";
import { ORDER_LOOKUP_ENTRY, RELAXED_LIMITS } from "../support/servers.ts";

/** Arguments nested as deep as the body limit allows: refused with a clear error, and audited. */
const nested = (levels: number): string => `${'{"a":['.repeat(levels)}1${"]}".repeat(levels)}`;

describe.each(storeMatrix())("hostile argument shapes ($storeKind store)", (store) => {
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

  it("refuses 2,000 levels sent by the SDK's client with a clear tool error, and records intent and outcome", async () => {
    const deep = JSON.parse(nested(1_000)) as unknown;
    const r = await alice.callTool({ name: "get_order", arguments: { order_id: "SO-100001", deep } });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toBe(
      "invalid arguments for get_order: they nest deeper than 32 levels; send the flat arguments its input schema describes",
    );
    const events = await env.audit.latest(2);
    expect(events.map((e) => [e.type, e.tool, e.user_id])).toEqual([
      ["tool.requested", "get_order", "alice"],
      ["tool.failed", "get_order", "alice"],
    ]);
  });

  it.each([10_000, 50_000])(
    "answers %i levels in a raw request with the same error, never a 500",
    async (levels) => {
      const token = await env.mint("alice", { audience: server.url });
      const body = `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"get_order","arguments":{"order_id":"SO-100001","deep":${nested(levels / 2)}}}}`;
      const res = await rawRequest(server.url, {
        headers: { ...MCP_HEADERS, authorization: `Bearer ${token}` },
        body,
      });
      expect(res.status, res.body.slice(0, 500)).toBe(200);
      const message = JSON.parse(res.body.replace(/^event: message\ndata: /, "").trim()) as {
        result?: { isError: boolean; content: Array<{ text: string }> };
      };
      expect(message.result?.isError).toBe(true);
      expect(message.result?.content[0]?.text).toMatch(/nest deeper than 32 levels/);
      const events = await env.audit.latest(2);
      expect(events.map((e) => e.type)).toEqual(["tool.requested", "tool.failed"]);
    },
  );

  it("refuses any other request nesting past 64 levels with a JSON-RPC invalid request, never a 500", async () => {
    const token = await env.mint("alice", { audience: server.url });
    const body = `{"jsonrpc":"2.0","id":8,"method":"tools/list","params":{"_meta":${nested(5_000)}}}`;
    const res = await rawRequest(server.url, {
      headers: { ...MCP_HEADERS, authorization: `Bearer ${token}` },
      body,
    });
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({
      error: { code: -32600, message: "Invalid request: the request nests deeper than 64 levels" },
    });
  });
});
