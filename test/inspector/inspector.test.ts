import { annotationsFor } from "@gatehouse/kit";
import { createTestEnvironment, type TestEnvironment } from "@gatehouse/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENTRIES, type ServerName, startAllServers } from "../support/all-servers.ts";
import { CLI_MAIN } from "../support/cli.ts";
import { inspectorCli } from "../support/inspector.ts";
import { definitionOf, EMEA_ORDER, NA_ORDER } from "../support/servers.ts";

type Json = Record<string, unknown>;
const structured = (result: Json) => result.structuredContent as Json;

/**
 * MCP Inspector 2.x's CLI (`npx @modelcontextprotocol/inspector@2.12.0 --cli …` runs this same launcher)
 * against every server over Streamable HTTP, with a sandbox bearer token for alice in `--header`, exactly
 * as the README shows.
 */
describe("MCP Inspector 2.12 CLI over Streamable HTTP with a bearer header", () => {
  let env: TestEnvironment;
  let world: Awaited<ReturnType<typeof startAllServers>>;

  beforeAll(async () => {
    env = await createTestEnvironment({ storeKind: "sqlite" });
    world = await startAllServers(env);
  });

  afterAll(async () => {
    await world?.stop();
    await env?.close();
  });

  const url = (server: ServerName) => world.servers[server].url;
  const tokenFor = (server: ServerName) => env.mint("alice", { audience: url(server) });

  /** `--cli --server-url <server> --header "Authorization: Bearer <alice's token>" <args…>` */
  const inspect = async (server: ServerName, ...args: string[]) =>
    inspectorCli([
      "--server-url",
      url(server),
      "--header",
      `Authorization: Bearer ${await tokenFor(server)}`,
      ...args,
    ]);
  const call = (server: ServerName, tool: string, ...toolArgs: string[]) =>
    inspect(
      server,
      "--method",
      "tools/call",
      "--tool-name",
      tool,
      ...toolArgs.flatMap((a) => ["--tool-arg", a]),
    );

  it.each<ServerName>(["order-lookup", "crm-read", "ticket-draft", "ticket-send", "business"])(
    "lists every tool of %s as alice, each tool's kind as its annotations",
    async (server) => {
      const r = await inspect(server, "--method", "tools/list");
      expect(r.status, r.stderr).toBe(0);
      const { tools } = r.json().result as { tools: Array<{ name: string; annotations: unknown }> };
      const defined = (await definitionOf(ENTRIES[server])).tools;
      expect(tools.map((t) => t.name)).toEqual(defined.map((t) => t.name));
      for (const t of defined) {
        expect(tools.find((l) => l.name === t.name)?.annotations).toEqual({
          title: t.title,
          ...annotationsFor(t.kind),
        });
      }
    },
  );

  it("reads alice's own order on order-lookup and is refused bob's", async () => {
    const own = await call("order-lookup", "get_order", `order_id=${EMEA_ORDER}`);
    expect(own.status, own.stderr).toBe(0);
    expect(own.json().result).toMatchObject({
      isError: false,
      structuredContent: { order: { order_id: EMEA_ORDER, tenant: "emea" } },
    });
    const other = await call("order-lookup", "get_order", `order_id=${NA_ORDER}`);
    // Inspector exits 5 when the tool answered isError, and still prints the result.
    expect(other.status).toBe(5);
    expect(other.json().result).toMatchObject({
      isError: true,
      content: [{ text: `order ${NA_ORDER} is in tenant na; you may read emea` }],
    });
  });

  it("reads an emea company on crm-read by the numeric id Inspector sends, contacts' emails and phones redacted", async () => {
    // `company_id=1001` reaches the server as the JSON number 1001.
    const r = await call("crm-read", "get_company", "company_id=1001");
    expect(r.status, r.stdout).toBe(0);
    const out = structured(r.json().result) as {
      company: { company_id: string; tenant: string };
      contacts: { items: Array<{ email: string; phone: string }> };
    };
    expect(out.company).toMatchObject({ company_id: "1001", tenant: "emea" });
    expect(out.contacts.items.length).toBeGreaterThan(0);
    expect(
      out.contacts.items.every((c) => c.email === "[redacted:pii]" && c.phone === "[redacted:pii]"),
    ).toBe(true);
  });

  it.each([
    ["company_id=-1", "a company id sent as a number must be a whole number"],
    ["company_id=1001.5", "a company id sent as a number must be a whole number"],
    ["company_id=true", "a company id must be a string"],
  ])("refuses %s on crm-read with what a company id must be", async (arg, message) => {
    const r = await call("crm-read", "get_company", arg);
    expect(r.status).toBe(5);
    expect(r.json().result).toMatchObject({ isError: true });
    expect(JSON.stringify(r.json().result.content)).toContain(message);
  });

  it("drafts a ticket on ticket-draft, and ticket-send shows exactly what it would send", async () => {
    const drafted = await call(
      "ticket-draft",
      "create_ticket_draft",
      "project=SUP",
      "issue_type=Incident",
      "summary=Order SO-100001 is late",
      "description=Customer asked twice.",
      `order_id=${EMEA_ORDER}`,
    );
    expect(drafted.status, drafted.stdout).toBe(0);
    const draft = (structured(drafted.json().result) as { draft: { draft_id: string; tenant: string } })
      .draft;
    expect(draft.tenant).toBe("emea");
    const dryRun = await call("ticket-send", "send_ticket", `draft_id=${draft.draft_id}`, "dry_run=true");
    expect(dryRun.status, dryRun.stdout).toBe(0);
    expect(structured(dryRun.json().result)).toMatchObject({ dry_run: true, jira_key: null });
    // Without an approval the real send is refused.
    const send = await call("ticket-send", "send_ticket", `draft_id=${draft.draft_id}`);
    expect(send.status).toBe(5);
    expect(JSON.stringify(send.json().result.content)).toContain("has not been approved");
  });

  it("asks business for an account's health by the numeric company id", async () => {
    const r = await call("business", "account_health", "account=1001");
    expect(r.status, r.stdout).toBe(0);
    expect(structured(r.json().result)).toMatchObject({
      account: { tenant: "emea", company_id: "1001" },
    });
  });

  it("without a token is told to authorise (exit 3) and never starts a sign-in of its own", async () => {
    const r = await inspectorCli([
      "--server-url",
      url("order-lookup"),
      "--stored-auth-only",
      "--method",
      "tools/list",
    ]);
    expect(r.status).toBe(3);
    expect(r.stderr).toContain("auth_required");
  });

  it("is refused with alice's token for another server", async () => {
    const r = await inspectorCli([
      "--server-url",
      url("order-lookup"),
      "--header",
      `Authorization: Bearer ${await tokenFor("crm-read")}`,
      "--stored-auth-only",
      "--method",
      "tools/list",
    ]);
    expect(r.status).toBe(3);
    expect(r.stderr).toContain("invalid_token");
  });
});

/** Inspector's CLI launching `gatehouse stdio` (Claude Desktop's transport), as the README shows too. */
describe("MCP Inspector 2.12 CLI against a server over stdio", () => {
  let env: TestEnvironment;

  beforeAll(async () => {
    env = await createTestEnvironment({ storeKind: "sqlite" });
  });

  afterAll(async () => {
    await env?.close();
  });

  /** `--cli node packages/cli/src/main.ts stdio order-lookup --user alice <args…>` */
  const inspect = (...args: string[]) =>
    inspectorCli(
      ["--quiet", ...args, "--", process.execPath, CLI_MAIN, "stdio", "order-lookup", "--user", "alice"],
      env.env,
    );

  it("lists the tools and reads alice's own order, refusing bob's", async () => {
    const list = await inspect("--method", "tools/list");
    expect(list.status, list.stderr).toBe(0);
    expect((list.json().result as { tools: Array<{ name: string }> }).tools.map((t) => t.name)).toContain(
      "get_order",
    );
    const own = await inspect(
      "--method",
      "tools/call",
      "--tool-name",
      "get_order",
      "--tool-arg",
      `order_id=${EMEA_ORDER}`,
    );
    expect(own.status, own.stderr).toBe(0);
    expect(own.json().result).toMatchObject({ structuredContent: { order: { tenant: "emea" } } });
    const other = await inspect(
      "--method",
      "tools/call",
      "--tool-name",
      "get_order",
      "--tool-arg",
      `order_id=${NA_ORDER}`,
    );
    expect(other.status).toBe(5);
    expect(other.json().result).toMatchObject({
      isError: true,
      content: [{ text: `order ${NA_ORDER} is in tenant na; you may read emea` }],
    });
  });
});
