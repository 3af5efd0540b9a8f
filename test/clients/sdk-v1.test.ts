import { createTestEnvironment, type TestEnvironment } from "@gatehouse/testing";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { LATEST_PROTOCOL_VERSION } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ServerName, startAllServers } from "../support/all-servers.ts";
import { CLI_MAIN } from "../support/cli.ts";
import type { ToolResult } from "../support/results.ts";
import { EMEA_ORDER, NA_ORDER } from "../support/servers.ts";
import { ALICE_CALLS, type Call, expectDefinedTools, expectRefusals, SERVERS } from "./scenarios.ts";

const clientInfo = { name: "gatehouse-sdk-v1-test", version: "1.0.0" };

/**
 * The MCP TypeScript SDK's 1.x client (what most 2025-era hosts embed) against every server over
 * Streamable HTTP with a bearer token: initialize, list, call, refusals. The client validates each
 * structuredContent against the tool's published outputSchema itself.
 */
describe("MCP SDK 1.x client over Streamable HTTP", () => {
  let env: TestEnvironment;
  let world: Awaited<ReturnType<typeof startAllServers>>;
  const clients = new Map<ServerName, { client: Client; transport: StreamableHTTPClientTransport }>();

  const connect = async (url: string, token?: string) => {
    const client = new Client(clientInfo);
    const transport = new StreamableHTTPClientTransport(new URL(url), {
      requestInit: token ? { headers: { Authorization: `Bearer ${token}` } } : {},
    });
    await client.connect(transport);
    return { client, transport };
  };

  beforeAll(async () => {
    env = await createTestEnvironment({ storeKind: "sqlite" });
    world = await startAllServers(env);
    for (const name of SERVERS) {
      const url = world.servers[name].url;
      clients.set(name, await connect(url, await env.mint("alice", { audience: url })));
    }
  });

  afterAll(async () => {
    for (const { client } of clients.values()) await client.close();
    await world?.stop();
    await env?.close();
  });

  const call: Call = async (server, name, args) =>
    (await clients.get(server)!.client.callTool({ name, arguments: args })) as ToolResult;

  it.each(SERVERS)(
    "initializes with %s on protocol 2025-11-25 and lists every tool with its kind's annotations",
    async (name) => {
      const { client, transport } = clients.get(name)!;
      expect(client.getServerVersion()?.name).toBe(name);
      expect(transport.protocolVersion).toBe(LATEST_PROTOCOL_VERSION);
      await expectDefinedTools(name, (await client.listTools()).tools);
    },
  );

  it.each(SERVERS)("calls a tool on %s as alice", async (name) => {
    await ALICE_CALLS[name](call);
  });

  it("is refused another tenant's order and ids no client may send", async () => {
    await expectRefusals(call);
  });

  it("cannot connect without a token, nor with alice's token for another server", async () => {
    const url = world.servers["order-lookup"].url;
    await expect(connect(url)).rejects.toThrow(/401|invalid_token|Unauthorized/i);
    const other = await env.mint("alice", { audience: world.servers["crm-read"].url });
    await expect(connect(url, other)).rejects.toThrow(/401|invalid_token|Unauthorized/i);
  });
});

/** The same client launching `gatehouse stdio <server> --user alice`, as Claude Desktop's entries do. */
describe("MCP SDK 1.x client over stdio (gatehouse stdio --user alice)", () => {
  let env: TestEnvironment;

  beforeAll(async () => {
    env = await createTestEnvironment({ storeKind: "sqlite" });
  });

  afterAll(async () => {
    await env?.close();
  });

  const launch = async (server: "order-lookup" | "crm-read") => {
    const client = new Client(clientInfo);
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [CLI_MAIN, "stdio", server, "--user", "alice"],
      env: { ...(process.env as Record<string, string>), ...env.env },
      stderr: "pipe",
    });
    let log = "";
    transport.stderr?.on("data", (c: Buffer) => {
      log += c.toString("utf8");
    });
    await client.connect(transport).catch((e: Error) => {
      throw new Error(`${e.message}\n${log}`);
    });
    return client;
  };

  it("reads alice's own order on order-lookup and is refused bob's", async () => {
    const client = await launch("order-lookup");
    try {
      expect(client.getServerVersion()?.name).toBe("order-lookup");
      expect((await client.listTools()).tools.map((t) => t.name)).toContain("get_order");
      const own = (await client.callTool({
        name: "get_order",
        arguments: { order_id: EMEA_ORDER },
      })) as ToolResult;
      expect(own.isError).toBe(false);
      expect(own.structuredContent).toMatchObject({ order: { tenant: "emea" } });
      const other = (await client.callTool({
        name: "get_order",
        arguments: { order_id: NA_ORDER },
      })) as ToolResult;
      expect(other.isError).toBe(true);
    } finally {
      await client.close();
    }
  });

  it("reads a company on crm-read by a numeric id, and refuses a negative one", async () => {
    const client = await launch("crm-read");
    try {
      const own = (await client.callTool({
        name: "get_company",
        arguments: { company_id: 1001 },
      })) as ToolResult;
      expect(own.isError).toBe(false);
      expect(own.structuredContent).toMatchObject({ company: { company_id: "1001", tenant: "emea" } });
      const odd = (await client.callTool({
        name: "get_company",
        arguments: { company_id: -1001 },
      })) as ToolResult;
      expect(odd.isError).toBe(true);
    } finally {
      await client.close();
    }
  });
});
