import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";

export type Era = "legacy" | "modern";

/** A real MCP client over Streamable HTTP, sending the bearer token the way agents do. */
export async function connectHttp(
  url: string,
  token: string,
  opts: { era?: Era; headers?: Record<string, string> } = {},
): Promise<Client> {
  const client = new Client(
    { name: "gatehouse-test", version: "1.0.0" },
    opts.era === "modern" ? { versionNegotiation: { mode: "auto" } } : {},
  );
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), {
      requestInit: { headers: { Authorization: `Bearer ${token}`, ...opts.headers } },
    }),
  );
  return client;
}

/** A real MCP client that launches the server over stdio, as Claude Desktop does. */
export async function connectStdio(
  entry: string,
  env: Record<string, string>,
): Promise<{ client: Client; stderr: () => string }> {
  const client = new Client({ name: "gatehouse-test", version: "1.0.0" });
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [entry, "stdio"],
    env: { ...(process.env as Record<string, string>), LOG_LEVEL: "info", ...env },
    stderr: "pipe",
  });
  let log = "";
  transport.stderr?.on("data", (c: Buffer) => {
    log += c.toString("utf8");
  });
  await client.connect(transport);
  return { client, stderr: () => log };
}
