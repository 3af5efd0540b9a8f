import { execFile, spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import {
  createTestEnvironment,
  type SpawnedServer,
  spawnHttpServer,
  type TestEnvironment,
} from "@gatehouse/kit/testing";
import {
  type RunningHubSpot,
  type RunningJira,
  startHubSpotSandbox,
  startJiraSandbox,
} from "@gatehouse/sandbox";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CRM_READ_ENTRY,
  ORDER_LOOKUP_ENTRY,
  RELAXED_LIMITS,
  TICKET_DRAFT_ENTRY,
  TICKET_SEND_ENTRY,
} from "../support/servers.ts";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const conformanceCli = join(
  dirname(require.resolve("@modelcontextprotocol/conformance/package.json")),
  "dist",
  "index.js",
);

/**
 * The MCP conformance scenarios that apply to a tools-only server behind authentication. The rest
 * need the suite's own test tools, resources, prompts or sessions; dns-rebinding-protection sends no
 * credentials, so our own suite covers Host and Origin checks instead (auth.test.ts).
 */
const run = promisify(execFile);

const SCENARIOS = ["server-initialize", "ping", "tools-list"];

describe.each([
  ["order-lookup", ORDER_LOOKUP_ENTRY],
  ["crm-read", CRM_READ_ENTRY],
  ["ticket-draft", TICKET_DRAFT_ENTRY],
  ["ticket-send", TICKET_SEND_ENTRY],
])("MCP conformance suite against %s", (_name, entry) => {
  let env: TestEnvironment;
  let hubspot: RunningHubSpot;
  let jira: RunningJira;
  let server: SpawnedServer;

  beforeAll(async () => {
    env = await createTestEnvironment({ storeKind: "sqlite" });
    hubspot = await startHubSpotSandbox({ port: 0 });
    jira = await startJiraSandbox({ port: 0 });
    server = await spawnHttpServer(entry, {
      ...env.env,
      ...RELAXED_LIMITS,
      HUBSPOT_BASE_URL: hubspot.url,
      HUBSPOT_ACCESS_TOKEN: hubspot.token,
      JIRA_BASE_URL: jira.url,
      JIRA_EMAIL: jira.email,
      JIRA_API_TOKEN: jira.apiToken,
    });
  });

  afterAll(async () => {
    await server?.stop();
    await hubspot?.close();
    await jira?.close();
    await env?.close();
  });

  it.each(SCENARIOS)("passes %s", async (scenario) => {
    const token = await env.mint("alice", { audience: server.url });
    // Asynchronously: the sandbox issuer serving the server's JWKS lives in this test process.
    const r = await run(
      process.execPath,
      [
        "--import",
        join(here, "bearer-fetch.mjs"),
        conformanceCli,
        "server",
        "--url",
        server.url,
        "--scenario",
        scenario,
      ],
      {
        env: { ...process.env, GATEHOUSE_CONFORMANCE_TOKEN: token },
        timeout: 60_000,
      },
    ).catch((e: { stdout: string; stderr: string; code: number }) => e);
    expect("code" in r ? r.code : 0, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/SUCCESS|passed/i);
    expect(r.stdout).not.toMatch(/FAILURE/);
  });

  it("fails those scenarios without a token, so the passes above mean something", () => {
    const r = spawnSync(
      process.execPath,
      [conformanceCli, "server", "--url", server.url, "--scenario", "tools-list"],
      { encoding: "utf8", timeout: 60_000 },
    );
    expect(r.status).not.toBe(0);
  });
});
