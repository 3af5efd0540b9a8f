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
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ORDER_LOOKUP_ENTRY, RELAXED_LIMITS } from "../support/servers.ts";

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

describe("MCP conformance suite against order-lookup", () => {
  let env: TestEnvironment;
  let server: SpawnedServer;

  beforeAll(async () => {
    env = await createTestEnvironment({ storeKind: "sqlite" });
    server = await spawnHttpServer(ORDER_LOOKUP_ENTRY, { ...env.env, ...RELAXED_LIMITS });
  });

  afterAll(async () => {
    await server?.stop();
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
