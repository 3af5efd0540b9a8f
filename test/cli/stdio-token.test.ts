import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { afterAll, describe, expect, it } from "vitest";
import { CLI_MAIN, runCli } from "../support/cli.ts";
import { EMEA_ORDER } from "../support/servers.ts";

/**
 * A Claude Desktop user's stdio token runs out: at start (a GATEHOUSE_TOKEN that has expired) the server
 * refuses to start with one line saying how to get a new one; during a session every call is refused
 * with the fix in the error, and the fix is said once on stderr (Claude Desktop's log for the server).
 */
describe("gatehouse stdio when the token expires", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "gatehouse-stdio-token-"));
  const env = {
    GATEHOUSE_DATA_DIR: dataDir,
    DATABASE_URL: "",
    GATEHOUSE_PORT_OFFSET: "",
    GATEHOUSE_ISSUER: "",
  };
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it("refuses to start with an expired GATEHOUSE_TOKEN, naming how to get a new one", async () => {
    const minted = runCli(["token", "--user", "alice", "--server", "order-lookup", "--ttl", "1"], env);
    expect(minted.status, minted.stderr).toBe(0);
    await new Promise((r) => setTimeout(r, 2_100));
    const r = runCli(["stdio", "order-lookup"], { ...env, GATEHOUSE_TOKEN: minted.stdout.trim() });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
    const lines = r.stderr.split("\n").filter(Boolean);
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^gatehouse: GATEHOUSE_TOKEN expired at \d{4}-\d\d-\d\dT/);
    expect(lines[0]).toContain("pnpm --silent gatehouse token --user <id> --server order-lookup");
    expect(lines[0]).toContain("gatehouse stdio order-lookup --user <id>");
  }, 60_000);

  it("refuses calls once the minted token has expired, saying to restart Claude Desktop", async () => {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [CLI_MAIN, "stdio", "order-lookup", "--user", "alice", "--ttl", "1"],
      env: { ...env, LOG_LEVEL: "warn" },
      stderr: "pipe",
    });
    let log = "";
    transport.stderr?.on("data", (c: Buffer) => {
      log += c.toString("utf8");
    });
    const client = new Client({ name: "claude-desktop-stand-in", version: "1.0.0" });
    await client.connect(transport);
    const started = Date.now();
    try {
      const ok = await client.callTool({ name: "get_order", arguments: { order_id: EMEA_ORDER } });
      expect(ok.isError, `${JSON.stringify(ok.content)}\n${log}`).toBeFalsy();
      // The verifier allows 30 s of clock skew past `exp`: wait that out.
      await new Promise((r) => setTimeout(r, Math.max(0, started + 33_000 - Date.now())));
      const refused = client.callTool({ name: "get_order", arguments: { order_id: EMEA_ORDER } });
      await expect(refused).rejects.toThrow(
        /not authorized: the access token has expired; restart Claude Desktop \(or the MCP client that started `gatehouse stdio order-lookup --user alice`\): each start mints a new token/,
      );
      expect(log).toMatch(
        /gatehouse: the token for order-lookup expired at \S+; tool calls are refused now: restart Claude Desktop/,
      );
      expect(log).not.toMatch(/^\s+at /m);
    } finally {
      await client.close();
    }
  }, 120_000);
});
