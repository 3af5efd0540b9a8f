import { createTestEnvironment, type TestEnvironment } from "@gatehouse/testing";
import { Client, type ClientOptions, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ServerName, startAllServers } from "../support/all-servers.ts";
import { CLI_MAIN } from "../support/cli.ts";
import type { ToolResult } from "../support/results.ts";
import { EMEA_ORDER, NA_ORDER } from "../support/servers.ts";
import { ALICE_CALLS, type Call, expectDefinedTools, expectRefusals, SERVERS } from "./scenarios.ts";

/**
 * How the SDK v2 client chooses its protocol (see its ClientOptions): `versionNegotiation.mode` defaults to
 * 'legacy' (the 2025 `initialize` handshake, offering the first 2025-era entry of
 * `supportedProtocolVersions`); `{ pin: "2026-07-28" }` negotiates exactly that revision through
 * `server/discover` and fails loudly otherwise, with no fallback.
 */
const ERAS: Array<{ label: string; options: ClientOptions; era: "modern" | "legacy"; version: string }> = [
  {
    label: "pinned to 2026-07-28",
    options: { versionNegotiation: { mode: { pin: "2026-07-28" } } },
    era: "modern",
    version: "2026-07-28",
  },
  {
    label: "on legacy 2025-11-25",
    options: { versionNegotiation: { mode: "legacy" }, supportedProtocolVersions: ["2025-11-25"] },
    era: "legacy",
    version: "2025-11-25",
  },
];

const clientInfo = { name: "gatehouse-sdk-v2-test", version: "1.0.0" };

describe.each(ERAS)("MCP SDK v2 client $label over Streamable HTTP", ({ options, era, version }) => {
  let env: TestEnvironment;
  let world: Awaited<ReturnType<typeof startAllServers>>;
  const clients = new Map<ServerName, Client>();

  const connect = async (url: string, token?: string) => {
    const client = new Client(clientInfo, options);
    await client.connect(
      new StreamableHTTPClientTransport(new URL(url), {
        requestInit: token ? { headers: { Authorization: `Bearer ${token}` } } : {},
      }),
    );
    return client;
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
    for (const client of clients.values()) await client.close();
    await world?.stop();
    await env?.close();
  });

  const call: Call = async (server, name, args) =>
    (await clients.get(server)!.callTool({ name, arguments: args })) as ToolResult;

  it.each(SERVERS)(
    `negotiates ${version} with %s and lists every tool with its kind's annotations`,
    async (name) => {
      const client = clients.get(name)!;
      expect(client.getProtocolEra()).toBe(era);
      expect(client.getNegotiatedProtocolVersion()).toBe(version);
      expect(client.getServerVersion()?.name).toBe(name);
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

describe.each(ERAS)(
  "MCP SDK v2 client $label over stdio (gatehouse stdio --user alice)",
  ({ options, era, version }) => {
    let env: TestEnvironment;

    beforeAll(async () => {
      env = await createTestEnvironment({ storeKind: "sqlite" });
    });

    afterAll(async () => {
      await env?.close();
    });

    it("reads alice's own order on order-lookup and is refused bob's", async () => {
      const client = new Client(clientInfo, options);
      const transport = new StdioClientTransport({
        command: process.execPath,
        args: [CLI_MAIN, "stdio", "order-lookup", "--user", "alice"],
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
      try {
        expect(client.getProtocolEra()).toBe(era);
        expect(client.getNegotiatedProtocolVersion()).toBe(version);
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
  },
);
