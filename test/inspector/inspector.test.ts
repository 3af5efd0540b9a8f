import { spawnSync } from "node:child_process";
import { createTestEnvironment, type TestEnvironment } from "@gatehouse/kit/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_MAIN } from "../support/cli.ts";
import { INSPECTOR_CLI } from "../support/inspector.ts";
import { EMEA_ORDER, NA_ORDER } from "../support/servers.ts";

/**
 * MCP Inspector's CLI (`npx @modelcontextprotocol/inspector --cli …` runs this same entry point),
 * launching `gatehouse stdio` the way the README tells a person to.
 */
describe("MCP Inspector CLI against the servers over stdio (README walkthrough)", () => {
  let env: TestEnvironment;

  beforeAll(async () => {
    env = await createTestEnvironment({ storeKind: "sqlite" });
  });

  afterAll(async () => {
    await env?.close();
  });

  /** `npx @modelcontextprotocol/inspector --cli node packages/cli/src/main.ts stdio <server> --user alice …` */
  const inspectServer = (server: string, ...args: string[]) =>
    spawnSync(
      process.execPath,
      [INSPECTOR_CLI, process.execPath, CLI_MAIN, "stdio", server, "--user", "alice", ...args],
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
  const inspect = (...args: string[]) => inspectServer("order-lookup", ...args);

  it("lists the tools with their kinds as annotations", () => {
    const r = inspect("--method", "tools/list");
    expect(r.status, r.stderr).toBe(0);
    const { tools } = JSON.parse(r.stdout) as {
      tools: Array<{ name: string; annotations: { readOnlyHint: boolean } }>;
    };
    expect(tools.map((t) => t.name)).toContain("get_order");
    expect(tools.every((t) => t.annotations.readOnlyHint)).toBe(true);
  });

  it.each([
    ["ticket-draft", "create_ticket_draft"],
    ["ticket-send", "send_ticket"],
    ["business", "account_health"],
  ])("lists %s's tools for alice too", (server, tool) => {
    const r = inspectServer(server, "--method", "tools/list");
    expect(r.status, r.stderr).toBe(0);
    const { tools } = JSON.parse(r.stdout) as { tools: Array<{ name: string }> };
    expect(tools.map((t) => t.name)).toContain(tool);
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

  it("finds alice an emea company in the CRM with its contacts, emails and phones redacted", () => {
    const r = inspectServer(
      "crm-read",
      "--method",
      "tools/call",
      "--tool-name",
      "search_companies",
      "--tool-arg",
      "query=nordlicht",
    );
    expect(r.status, r.stderr).toBe(0);
    const [company] = (
      JSON.parse(r.stdout) as {
        structuredContent: { companies: Array<{ company_id: string; tenant: string }> };
      }
    ).structuredContent.companies;
    expect(company?.tenant).toBe("emea");
    const detail = inspectServer(
      "crm-read",
      "--method",
      "tools/call",
      "--tool-name",
      "get_company",
      "--tool-arg",
      `company_id=${company!.company_id}`,
    );
    const contacts = (
      JSON.parse(detail.stdout) as {
        structuredContent: { contacts: { items: Array<{ email: string; phone: string }> } };
      }
    ).structuredContent.contacts.items;
    expect(contacts.length).toBeGreaterThan(0);
    expect(contacts.every((c) => c.email === "[redacted:pii]" && c.phone === "[redacted:pii]")).toBe(true);
  });
});
