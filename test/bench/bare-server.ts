/**
 * The baseline for `pnpm bench`: order-lookup's get_order handler on a bare MCP SDK server, with no
 * governance at all (no token check, audit, rate limit, policy or egress filter). Same orders database,
 * same handler function, same SDK serving entry as the governed server.
 *
 *   node test/bench/bare-server.ts [http|stdio]
 *
 * Over HTTP it binds 127.0.0.1 on an ephemeral port and announces its URL the way kit servers do
 * (`announceServing`), so `spawnHttpServer` can start it too.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { toNodeHandler } from "@modelcontextprotocol/node";
import { createMcpHandler, McpServer } from "@modelcontextprotocol/server";
import { serveStdio } from "@modelcontextprotocol/server/stdio";
import { z } from "zod";
// The spawn helper alone: the testing index would also load the MCP client, sandbox and test stores.
import { announceServing } from "../../packages/kit/src/spawn-server.ts";
import { Orders } from "../../servers/order-lookup/src/orders.ts";
import { openOrdersDb } from "../../servers/order-lookup/src/orders-db.ts";
import { getOrder } from "../../servers/order-lookup/src/tools/get-order.ts";

const dbUrl = process.env.ORDERS_DATABASE_URL;
if (!dbUrl) {
  process.stderr.write("bare-server: ORDERS_DATABASE_URL is not set\n");
  process.exit(1);
}
const db = openOrdersDb(dbUrl);
const orders = new Orders(db);
// The handler only reads ctx.services; the governed pipeline's identity, log and signal are not needed.
const ctx = { services: { orders } } as unknown as Parameters<typeof getOrder.handler>[1];

const input = z.object({ order_id: z.string() });
const output = z.looseObject({});

function makeServer(): McpServer {
  const server = new McpServer(
    { name: "order-lookup-bare", version: "0.0.0" },
    { capabilities: { tools: { listChanged: false } } },
  );
  server.registerTool(
    "get_order",
    {
      title: getOrder.title,
      description: getOrder.description,
      inputSchema: input,
      outputSchema: output,
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    async (args) => {
      const result = await getOrder.handler({ order_id: args.order_id }, ctx);
      return {
        content: [{ type: "text", text: JSON.stringify(result) }],
        structuredContent: result,
      };
    },
  );
  return server;
}

const shutdown = (close: () => Promise<void>) => () =>
  void close()
    .then(() => db.destroy())
    .finally(() => process.exit(0));

if (process.argv[2] === "stdio") {
  const handle = serveStdio(() => makeServer());
  process.once(
    "SIGTERM",
    shutdown(() => handle.close()),
  );
  process.once(
    "SIGINT",
    shutdown(() => handle.close()),
  );
} else {
  const mcp = toNodeHandler(createMcpHandler(() => makeServer()));
  const http = createServer((req, res) => {
    mcp(req, res).catch((err: Error) => {
      process.stderr.write(`bare-server: request failed: ${err.message}\n`);
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  http.listen(0, "127.0.0.1", () => {
    const { port } = http.address() as AddressInfo;
    const url = `http://127.0.0.1:${port}/mcp`;
    announceServing(url);
  });
  const close = () =>
    new Promise<void>((resolve) => {
      http.close(() => resolve());
      http.closeAllConnections();
    });
  process.once("SIGTERM", shutdown(close));
  process.once("SIGINT", shutdown(close));
}
