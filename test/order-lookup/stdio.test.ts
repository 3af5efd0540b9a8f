import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { connectStdio, createTestEnvironment, type TestEnvironment } from "@gatehouse/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { outcomeEvent, textOf } from "../support/results.ts";
import { EMEA_ORDER, NA_ORDER, ORDER_LOOKUP_ENTRY } from "../support/servers.ts";

/** The audience a stdio server expects by default: the resource URL `gatehouse start` would give it. */
const STDIO_AUDIENCE = "http://127.0.0.1:7101/mcp";

describe("order-lookup over stdio (Claude Desktop's transport)", () => {
  let env: TestEnvironment;
  let jwksFile: string;

  beforeAll(async () => {
    env = await createTestEnvironment({ storeKind: "sqlite" });
    jwksFile = join(env.dataDir, "issuer", "jwks.json");
  });

  afterAll(async () => {
    await env?.close();
  });

  it("acts for the human named by GATEHOUSE_TOKEN, verified offline against the issuer's keys", async () => {
    const token = await env.mint("alice", { audience: STDIO_AUDIENCE });
    const { client } = await connectStdio(ORDER_LOOKUP_ENTRY, {
      ...env.env,
      GATEHOUSE_TOKEN: token,
      GATEHOUSE_JWKS_FILE: jwksFile,
    });
    try {
      const own = await client.callTool({ name: "get_order", arguments: { order_id: EMEA_ORDER } });
      expect(own.isError).toBe(false);
      const event = await outcomeEvent(env.audit, own);
      expect(event).toMatchObject({ user_id: "alice", env: "dev" });
      const other = await client.callTool({ name: "get_order", arguments: { order_id: NA_ORDER } });
      expect(other.isError).toBe(true);
      expect(textOf(other)).toBe(`order ${NA_ORDER} is in tenant na; you may read emea`);
    } finally {
      await client.close();
    }
  });

  it("uses a named local profile only in GATEHOUSE_ENV=local, and says so in every audit event", async () => {
    const { client } = await connectStdio(ORDER_LOOKUP_ENTRY, {
      ...env.env,
      GATEHOUSE_ENV: "local",
      GATEHOUSE_PROFILE: "alice",
    });
    try {
      const result = await client.callTool({ name: "list_late_orders", arguments: { limit: 2 } });
      expect(result.isError).toBe(false);
      const event = await outcomeEvent(env.audit, result);
      expect(event).toMatchObject({
        user_id: "alice",
        tenant: "emea",
        env: "local",
        token_id: "local-profile",
      });
    } finally {
      await client.close();
    }
  });

  const refuseToStart = (extra: Record<string, string>) =>
    spawnSync(process.execPath, [ORDER_LOOKUP_ENTRY, "stdio"], {
      env: { ...process.env, ...env.env, ...extra },
      input: "",
      encoding: "utf8",
      timeout: 30_000,
    });

  it("refuses to start with a local profile outside GATEHOUSE_ENV=local", () => {
    const r = refuseToStart({ GATEHOUSE_PROFILE: "alice" });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("GATEHOUSE_PROFILE is only honoured with GATEHOUSE_ENV=local");
    expect(r.stdout).toBe("");
  });

  it("refuses to start with no identity at all", () => {
    const r = refuseToStart({});
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("no identity: set GATEHOUSE_TOKEN");
  });

  it("refuses every call, and audits it, when the stdio token was minted for another server", async () => {
    const wrong = await env.mint("alice", { audience: "http://127.0.0.1:7999/mcp" });
    const { client } = await connectStdio(ORDER_LOOKUP_ENTRY, {
      ...env.env,
      GATEHOUSE_TOKEN: wrong,
      GATEHOUSE_JWKS_FILE: jwksFile,
    });
    try {
      await expect(
        client.callTool({ name: "get_order", arguments: { order_id: EMEA_ORDER } }),
      ).rejects.toThrow(/not authorized: the access token was not issued for this server/);
      const rejected = (await env.audit.latest(20)).filter((e) => e.type === "auth.rejected").at(-1);
      expect(rejected).toMatchObject({ tool: "get_order", user_id: null, outcome: "invalid_token" });
    } finally {
      await client.close();
    }
  });
});
