import { fileURLToPath } from "node:url";
import { ensureOrdersDatabase } from "@gatehouse/sandbox";
import { spawnHttpServer, TEST_ORDERS_DB } from "@gatehouse/testing";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { describe, expect, it } from "vitest";
import { EMEA_ORDER } from "../support/servers.ts";

/**
 * `pnpm bench` measures against this ungoverned SDK server; it is not part of the test command's timing,
 * but it must keep starting and answering like the governed one, or the bench silently stops working.
 */
describe("the bench's bare SDK baseline", () => {
  it("starts the way governed servers do and answers get_order", async () => {
    await ensureOrdersDatabase(TEST_ORDERS_DB);
    const server = await spawnHttpServer(fileURLToPath(new URL("./bare-server.ts", import.meta.url)), {
      ORDERS_DATABASE_URL: `file:${TEST_ORDERS_DB}`,
    });
    const client = new Client({ name: "bench-smoke", version: "1.0.0" });
    try {
      await client.connect(new StreamableHTTPClientTransport(new URL(server.url)));
      const r = await client.callTool({ name: "get_order", arguments: { order_id: EMEA_ORDER } });
      expect(r.isError).toBeFalsy();
      expect(JSON.stringify(r.structuredContent)).toContain(EMEA_ORDER);
    } finally {
      await client.close();
      await server.stop();
    }
  });
});
