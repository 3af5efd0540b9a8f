import { request } from "node:http";
import { createServer } from "node:net";
import {
  createTestEnvironment,
  type SpawnedServer,
  spawnHttpServer,
  type TestEnvironment,
} from "@gatehouse/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ORDER_LOOKUP_ENTRY } from "../support/servers.ts";

/** A raw GET with a Host header of the test's choosing (fetch would set its own). */
function get(
  url: string,
  path: string,
  host?: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: u.hostname, port: u.port, path, method: "GET", headers: host === undefined ? {} : { host } },
      (res) => {
        let text = "";
        res.on("data", (c) => (text += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : {} }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

/** A loopback port with nothing listening: the issuer of a replica whose keys cannot load. */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe("health and readiness probes", () => {
  let env: TestEnvironment;
  let ready: SpawnedServer;
  let keyless: SpawnedServer;

  beforeAll(async () => {
    env = await createTestEnvironment({ storeKind: "sqlite" });
    ready = await spawnHttpServer(ORDER_LOOKUP_ENTRY, env.env);
    keyless = await spawnHttpServer(ORDER_LOOKUP_ENTRY, {
      ...env.env,
      GATEHOUSE_JWKS_URL: `http://127.0.0.1:${await deadPort()}/jwks.json`,
    });
  });

  afterAll(async () => {
    await ready?.stop();
    await keyless?.stop();
    await env?.close();
  });

  it("/healthz says the process answers, with its name and version", async () => {
    const res = await get(ready.url, "/healthz");
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ ok: true, server: "order-lookup" });
  });

  it("/readyz is 200 when the store answers and the issuer's keys are loaded", async () => {
    const res = await get(ready.url, "/readyz");
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      ready: true,
      server: "order-lookup",
      checks: { store: true, issuer_keys: true },
    });
  });

  it("/readyz is 503 naming issuer_keys while the issuer's keys cannot be fetched, and says nothing of why", async () => {
    const alive = await get(keyless.url, "/healthz");
    expect(alive.status).toBe(200);
    const res = await get(keyless.url, "/readyz");
    expect(res.status).toBe(503);
    expect(res.body).toEqual({
      ready: false,
      server: "order-lookup",
      checks: { store: true, issuer_keys: false },
    });
    expect(JSON.stringify(res.body)).not.toMatch(/127\.0\.0\.1|jwks/);
  });

  it("answers probes that come by address (a kubelet's Host) or with no Host, while the MCP endpoint still refuses a foreign Host", async () => {
    expect((await get(ready.url, "/readyz", "10.1.2.3:8080")).status).toBe(200);
    expect((await get(ready.url, "/healthz", "")).status).toBe(200);
    const mcp = await get(ready.url, "/mcp", "evil.example:80");
    expect(mcp.status).toBe(403);
  });
});
