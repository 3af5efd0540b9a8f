import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { createTestEnvironment, type TestEnvironment, tsxLoader } from "@gatehouse/kit/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_MAIN } from "../support/cli.ts";
import { EMEA_ORDER, NA_ORDER } from "../support/servers.ts";

const require = createRequire(import.meta.url);
const inspectorCli = join(
  dirname(require.resolve("@modelcontextprotocol/inspector/package.json")),
  "cli",
  "build",
  "index.js",
);

/**
 * MCP Inspector's CLI (`npx @modelcontextprotocol/inspector --cli …` runs this same entry point),
 * launching `gatehouse stdio` the way the README tells a person to.
 */
describe("MCP Inspector CLI against order-lookup (README walkthrough)", () => {
  let env: TestEnvironment;

  beforeAll(async () => {
    env = await createTestEnvironment({ storeKind: "sqlite" });
  });

  afterAll(async () => {
    await env?.close();
  });

  const inspect = (...args: string[]) =>
    spawnSync(
      process.execPath,
      [
        inspectorCli,
        process.execPath,
        "--import",
        tsxLoader,
        CLI_MAIN,
        "stdio",
        "order-lookup",
        "--user",
        "alice",
        ...args,
      ],
      {
        env: {
          ...process.env,
          GATEHOUSE_DATA_DIR: env.dataDir,
          ORDERS_DATABASE_URL: env.env.ORDERS_DATABASE_URL!,
          GATEHOUSE_ISSUER: env.issuer.url,
          DATABASE_URL: "",
        },
        encoding: "utf8",
        timeout: 90_000,
      },
    );

  it("lists the tools with their kinds as annotations", () => {
    const r = inspect("--method", "tools/list");
    expect(r.status, r.stderr).toBe(0);
    const { tools } = JSON.parse(r.stdout) as {
      tools: Array<{ name: string; annotations: { readOnlyHint: boolean } }>;
    };
    expect(tools.map((t) => t.name)).toContain("get_order");
    expect(tools.every((t) => t.annotations.readOnlyHint)).toBe(true);
  });

  it("reads alice's own order and is refused bob's", () => {
    const own = inspect(
      "--method",
      "tools/call",
      "--tool-name",
      "get_order",
      "--tool-arg",
      `order_id=${EMEA_ORDER}`,
    );
    expect(own.status, own.stderr).toBe(0);
    expect(JSON.parse(own.stdout)).toMatchObject({
      isError: false,
      structuredContent: { order: { order_id: EMEA_ORDER, tenant: "emea" } },
    });
    const other = inspect(
      "--method",
      "tools/call",
      "--tool-name",
      "get_order",
      "--tool-arg",
      `order_id=${NA_ORDER}`,
    );
    expect(JSON.parse(other.stdout)).toMatchObject({
      isError: true,
      content: [{ text: `order ${NA_ORDER} is in tenant na; you may read emea` }],
    });
  });
});
