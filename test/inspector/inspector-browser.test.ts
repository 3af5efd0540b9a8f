import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { createTestEnvironment, type TestEnvironment } from "@gatehouse/kit/testing";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENTRIES, type ServerName, startAllServers } from "../support/all-servers.ts";
import { INSPECTOR_MAIN } from "../support/inspector.ts";
import { definitionOf, EMEA_ORDER } from "../support/servers.ts";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
// CI installs Chromium (.ci/run), so there this suite always runs; a developer without it is told why it skipped.
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI)
  throw new Error(`CI needs Chromium at ${CHROMIUM} for the Inspector browser suite`);

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

/** `npx @modelcontextprotocol/inspector`, as a person starts it: the proxy and the web UI on loopback. */
async function startInspector(): Promise<{ ui: string; proxy: string; token: string; stop(): void }> {
  const [clientPort, serverPort] = [await freePort(), await freePort()];
  const child: ChildProcess = spawn(process.execPath, [INSPECTOR_MAIN], {
    env: {
      ...process.env,
      CLIENT_PORT: String(clientPort),
      SERVER_PORT: String(serverPort),
      MCP_AUTO_OPEN_ENABLED: "false",
    },
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const token = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Inspector did not start:\n${output}`)), 60_000);
    const onData = (c: Buffer) => {
      output += c.toString("utf8");
      const t = /MCP_PROXY_AUTH_TOKEN=([0-9a-f]+)/.exec(output)?.[1];
      if (t && output.includes("is up and running")) {
        clearTimeout(timer);
        resolve(t);
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => reject(new Error(`Inspector exited (${code}):\n${output}`)));
  });
  return {
    ui: `http://127.0.0.1:${clientPort}`,
    proxy: `http://127.0.0.1:${serverPort}`,
    token,
    stop: () => {
      try {
        process.kill(-(child.pid ?? 0), "SIGTERM");
      } catch {
        // already gone
      }
    },
  };
}

/**
 * MCP Inspector's web UI in a real browser, signing in as alice through the sandbox issuer's OAuth flow
 * (discovery, dynamic registration, PKCE, sign-in and consent pages), for every server.
 */
describe.skipIf(!haveChromium)("MCP Inspector's OAuth browser flow against every server", () => {
  let env: TestEnvironment;
  let world: Awaited<ReturnType<typeof startAllServers>>;
  let inspector: Awaited<ReturnType<typeof startInspector>>;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    env = await createTestEnvironment({ storeKind: "sqlite" });
    world = await startAllServers(env);
    inspector = await startInspector();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    });
  });

  afterAll(async () => {
    await browser?.close();
    inspector?.stop();
    await world?.stop();
    await env?.close();
  });

  /**
   * Opens Inspector on `serverUrl` in a fresh browser profile (no issuer session, no stored tokens), presses
   * Connect, and signs in as alice on the issuer's pages.
   */
  const connectAsAlice = async (serverUrl: string) => {
    await page?.context().close();
    page = await (await browser.newContext()).newPage();
    const url = new URL(inspector.ui);
    url.searchParams.set("MCP_PROXY_AUTH_TOKEN", inspector.token);
    url.searchParams.set("MCP_PROXY_FULL_ADDRESS", inspector.proxy);
    url.searchParams.set("transport", "streamable-http");
    url.searchParams.set("serverUrl", serverUrl);
    await page.goto(url.href);
    await page.getByRole("button", { name: "Connect" }).click();
    await page.waitForURL(`${env.issuer.url}/interaction/**`);
    await page.getByRole("radio", { name: /^alice —/ }).check();
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "MCP Inspector wants to act as alice" }).waitFor();
    await page.getByRole("button", { name: "Allow" }).click();
    await page.waitForURL(`${inspector.ui}/**`);
    await page.getByText("Connected", { exact: true }).waitFor({ timeout: 30_000 });
  };

  it.each<ServerName>(["order-lookup", "crm-read", "ticket-draft", "ticket-send", "business"])(
    "connects to %s as alice and lists its tools",
    async (name) => {
      await connectAsAlice(world.servers[name].url);
      await page.getByRole("button", { name: "List Tools" }).click();
      await page.getByText("tools/list").waitFor();
      for (const t of (await definitionOf(ENTRIES[name])).tools) {
        await page.getByText(t.name, { exact: true }).first().waitFor();
      }
    },
  );

  it("runs a tool as alice, and the audit trail names alice and Inspector's registered client", async () => {
    await connectAsAlice(world.servers["order-lookup"].url);
    await page.getByRole("button", { name: "List Tools" }).click();
    await page.getByText("get_order", { exact: true }).click();
    await page.locator("#order_id").fill(EMEA_ORDER);
    await page.getByRole("button", { name: "Run Tool" }).click();
    // Inspector's own "Success" toast after sign-in is not the tool's result: wait for the result heading.
    await page.getByText(/^Tool Result:\s*Success$/).waitFor();

    const registered = JSON.parse(
      readFileSync(join(env.dataDir, "issuer", "registered-clients.json"), "utf8"),
    ) as Record<string, { client_name?: string }>;
    const inspectorClients = Object.keys(registered).filter(
      (id) => registered[id]?.client_name === "MCP Inspector",
    );
    expect(inspectorClients.length).toBeGreaterThan(0);
    const calls = (await env.audit.latest(100)).filter(
      (e) => e.type === "tool.completed" && e.tool === "get_order" && e.server === "order-lookup",
    );
    expect(calls.length).toBeGreaterThan(0);
    expect(calls[0]).toMatchObject({ user_id: "alice", tenant: "emea" });
    expect(inspectorClients).toContain(calls[0]!.client_id);
  });
});
