import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createTestEnvironment, type TestEnvironment } from "@gatehouse/testing";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ENTRIES, type ServerName, startAllServers } from "../support/all-servers.ts";
import { type InspectorWeb, startInspectorWeb } from "../support/inspector.ts";
import { definitionOf, EMEA_ORDER, NA_ORDER } from "../support/servers.ts";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
// CI installs Chromium (.ci/run), so there this suite always runs; a developer without it is told why it skipped.
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI)
  throw new Error(`CI needs Chromium at ${CHROMIUM} for the Inspector browser suite`);

/**
 * MCP Inspector 2.12's web UI in a real browser, signing in as alice through the sandbox issuer's OAuth flow
 * (discovery, dynamic registration, PKCE, sign-in and consent pages, back to Inspector's
 * `/oauth/callback`), for every server.
 */
describe.skipIf(!haveChromium)("MCP Inspector's OAuth browser flow against every server", () => {
  let env: TestEnvironment;
  let world: Awaited<ReturnType<typeof startAllServers>>;
  let inspector: InspectorWeb | undefined;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    env = await createTestEnvironment({ storeKind: "sqlite" });
    world = await startAllServers(env);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    });
  });

  afterEach(async () => {
    await page?.context().close();
    await inspector?.stop();
    inspector = undefined;
  });

  afterAll(async () => {
    await browser?.close();
    await world?.stop();
    await env?.close();
  });

  /**
   * Starts Inspector for `serverUrl` as the README does (`--web --server-url`; secrets in memory, so no
   * stored tokens), opens its link in a fresh browser profile (no issuer session), switches the server on,
   * and signs in as alice on the issuer's pages.
   */
  const connectAsAlice = async (serverUrl: string) => {
    inspector = await startInspectorWeb(serverUrl);
    page = await (await browser.newContext()).newPage();
    await page.goto(inspector.link);
    // Mantine draws its track over the switch's input: a person clicks the track, so click where it is.
    await page.getByRole("switch", { name: /^Connect or disconnect/ }).check({ force: true });
    await page.waitForURL(`${env.issuer.url}/interaction/**`);
    await page.getByRole("radio", { name: /^alice —/ }).check();
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "MCP Inspector wants to act as alice" }).waitFor();
    await page.getByRole("button", { name: "Allow" }).click();
    await page.waitForURL(`${inspector.origin}/**`);
    await page.getByText("Connected", { exact: true }).waitFor({ timeout: 30_000 });
  };

  /** The Tools screen lists what the server's tools/list returned. */
  const openTools = async () => {
    await page.getByRole("banner").getByText("Tools", { exact: true }).click();
    await page.getByRole("heading", { name: /^Tools \(\d+\)$/ }).waitFor();
  };

  it.each<ServerName>(["order-lookup", "crm-read", "ticket-draft", "ticket-send", "business"])(
    "connects to %s as alice and lists its tools",
    async (name) => {
      await connectAsAlice(world.servers[name].url);
      await openTools();
      const { tools } = await definitionOf(ENTRIES[name]);
      await page.getByRole("heading", { name: `Tools (${tools.length})` }).waitFor();
      for (const t of tools) {
        await page.getByRole("main").getByText(t.name, { exact: true }).first().waitFor();
      }
    },
  );

  it("runs a tool as alice and is refused another tenant's order; the audit trail names alice and Inspector's registered client", async () => {
    await connectAsAlice(world.servers["order-lookup"].url);
    await openTools();
    await page.getByRole("main").getByText("get_order", { exact: true }).click();
    const orderId = page.getByRole("textbox", { name: "order_id" });
    const results = page.getByRole("main");
    await orderId.fill(EMEA_ORDER);
    await page.getByRole("button", { name: "Execute Tool" }).click();
    await page.getByRole("heading", { name: "Results" }).waitFor();
    await results.getByText(`"order_id": "${EMEA_ORDER}"`).first().waitFor();
    await results.getByText(`"tenant": "emea"`).first().waitFor();
    expect(await results.getByText("Tool Error").count()).toBe(0);

    await page.getByRole("button", { name: "Close results" }).click();
    await orderId.fill(NA_ORDER);
    await page.getByRole("button", { name: "Execute Tool" }).click();
    await results.getByText("Tool Error").waitFor();
    await results.getByText(`order ${NA_ORDER} is in tenant na; you may read emea`).waitFor();

    const registered = JSON.parse(
      readFileSync(join(env.dataDir, "issuer", "registered-clients.json"), "utf8"),
    ) as Record<string, { client_name?: string }>;
    const inspectorClients = Object.keys(registered).filter(
      (id) => registered[id]?.client_name === "MCP Inspector",
    );
    expect(inspectorClients.length).toBeGreaterThan(0);
    const calls = (await env.audit.latest(100)).filter(
      (e) => e.tool === "get_order" && e.server === "order-lookup",
    );
    const done = calls.find((e) => e.type === "tool.completed");
    const refused = calls.find((e) => e.type === "tool.denied");
    expect(done).toMatchObject({ user_id: "alice", tenant: "emea" });
    expect(refused).toMatchObject({ user_id: "alice", tenant: "emea" });
    expect(inspectorClients).toContain(done!.client_id);
    expect(inspectorClients).toContain(refused!.client_id);
  });
});
