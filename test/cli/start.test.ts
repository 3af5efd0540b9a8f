import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_MAIN, runCli } from "../support/cli.ts";
import { connectWithSignIn } from "../support/oauth-client.ts";
import { type ToolResult, textOf } from "../support/results.ts";
import { EMEA_ORDER } from "../support/servers.ts";

/**
 * The README's first command, `pnpm start`, on a fresh data directory: everything starts on the
 * embedded store, the URL table is printed, and alice signs in to every printed server through the
 * sandbox authorization server. Ports are shifted (GATEHOUSE_PORT_OFFSET) so a developer's own
 * `pnpm start` and the stdio suites' stand-ins are left alone.
 */
describe("gatehouse start (the README's first command)", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "gatehouse-start-"));
  const offset = 100 * (3 + Math.floor(Math.random() * 7));
  let child: ChildProcess;
  let stdout = "";
  let stderr = "";
  let urls: Record<string, string> = {};

  beforeAll(async () => {
    child = spawn(process.execPath, [CLI_MAIN, "start"], {
      env: {
        ...process.env,
        GATEHOUSE_DATA_DIR: dataDir,
        GATEHOUSE_PORT_OFFSET: String(offset),
        DATABASE_URL: "",
        LOG_LEVEL: "warn",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout?.on("data", (c: Buffer) => {
      stdout += c.toString("utf8");
    });
    child.stderr?.on("data", (c: Buffer) => {
      stderr += c.toString("utf8");
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not ready in time:\n${stdout}\n${stderr}`)), 120_000);
      const check = setInterval(() => {
        if (stdout.includes("Watch audit:")) {
          clearInterval(check);
          clearTimeout(timer);
          resolve();
        }
      }, 100);
      child.once("exit", (code) => {
        clearInterval(check);
        clearTimeout(timer);
        reject(new Error(`gatehouse start exited (${code}):\n${stdout}\n${stderr}`));
      });
    });
    urls = Object.fromEntries(
      [...stdout.matchAll(/^ {2}(\S+(?: \(sandbox\))?)\s+(http:\/\/\S+)$/gm)].map((m) => [m[1]!, m[2]!]),
    );
  }, 150_000);

  afterAll(() => {
    if (child && child.exitCode === null) child.kill("SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("prints what it starts and a table of URLs on the shifted ports", () => {
    expect(stderr).toMatch(/store: embedded SQLite/);
    expect(stderr).toMatch(/orders: seeded/);
    expect(urls).toMatchObject({
      issuer: `http://127.0.0.1:${7100 + offset}`,
      "order-lookup": `http://127.0.0.1:${7101 + offset}/mcp`,
      "crm-read": `http://127.0.0.1:${7102 + offset}/mcp`,
      "ticket-draft": `http://127.0.0.1:${7103 + offset}/mcp`,
      "ticket-send": `http://127.0.0.1:${7104 + offset}/mcp`,
      business: `http://127.0.0.1:${7105 + offset}/mcp`,
      console: `http://127.0.0.1:${7130 + offset}`,
    });
  });

  it("serves the operator console on the URL it printed, asking people to sign in", async () => {
    expect(stdout).toContain(`Console:       http://127.0.0.1:${7130 + offset}`);
    const page = await fetch(`${urls.console}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("Sign in with the identity provider");
    const api = await fetch(`${urls.console}/api/audit`);
    expect(api.status).toBe(401);
  });

  it("lets alice sign in to every server it printed and use it", async () => {
    for (const name of ["order-lookup", "crm-read", "ticket-draft", "ticket-send", "business"]) {
      const { client, provider } = await connectWithSignIn(urls[name]!, "alice");
      try {
        expect((await client.listTools()).tools.length, name).toBeGreaterThan(0);
        if (name === "order-lookup") {
          // start registered the server with its own scopes; alice's role drops orders:pii.
          expect(decodeJwt(provider.saved!.access_token).scope).toBe("orders:read");
          const r = (await client.callTool({
            name: "get_order",
            arguments: { order_id: EMEA_ORDER },
          })) as ToolResult;
          expect(r.isError, textOf(r)).toBe(false);
        }
        if (name === "business") {
          // The exchange client gatehouse start configured reaches the other servers as alice.
          const r = (await client.callTool({
            name: "account_health",
            arguments: { account: "nordlicht-logistik.de" },
          })) as ToolResult;
          expect(r.isError, textOf(r)).toBe(false);
          const f = r.structuredContent as Record<string, { status: string }>;
          expect([f.orders?.status, f.crm?.status, f.tickets?.status]).toEqual(["ok", "ok", "ok"]);
        }
      } finally {
        await client.close();
      }
    }
  });

  it("lets commands from another shell reach its ports without GATEHOUSE_PORT_OFFSET", () => {
    // As from a second terminal, or a stdio server launched by MCP Inspector's CLI (which passes no
    // GATEHOUSE_* variables on): only the data directory is shared.
    const r = runCli(["token", "--user", "alice", "--server", "order-lookup"], {
      GATEHOUSE_DATA_DIR: dataDir,
      GATEHOUSE_PORT_OFFSET: "",
      GATEHOUSE_ISSUER: "",
    });
    expect(r.status, r.stderr).toBe(0);
    const claims = decodeJwt(r.stdout.trim());
    expect(claims.aud).toBe(urls["order-lookup"]);
    expect(claims.iss).toBe(urls.issuer);
  });

  it("stops everything on Ctrl-C and exits cleanly", async () => {
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    child.kill("SIGINT");
    expect(await exited).toBe(0);
    const refused = await fetch(urls["order-lookup"]!).then(
      () => "answered",
      () => "refused",
    );
    expect(refused).toBe("refused");
    // Stopped: commands fall back to the unshifted ports again.
    expect(existsSync(join(dataDir, "running.json"))).toBe(false);
  });
});
