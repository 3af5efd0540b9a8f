import {
  createTestEnvironment,
  type SpawnedServer,
  spawnHttpServer,
  type TestEnvironment,
} from "@gatehouse/kit/testing";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectWithSignIn } from "../support/oauth-client.ts";
import { EMEA_ORDER, ORDER_LOOKUP_ENTRY, RELAXED_LIMITS } from "../support/servers.ts";

describe("sandbox authorization server", () => {
  let env: TestEnvironment;
  let orders: SpawnedServer;
  beforeAll(async () => {
    env = await createTestEnvironment({ storeKind: "sqlite" });
    orders = await spawnHttpServer(ORDER_LOOKUP_ENTRY, { ...env.env, ...RELAXED_LIMITS });
    env.issuer.registerResource(orders.url);
  });
  afterAll(async () => {
    await orders?.stop();
    await env?.close();
  });

  it("signs alice in with a real MCP client", async () => {
    const { client, provider } = await connectWithSignIn(orders.url, "alice");
    const claims = decodeJwt(provider.saved!.access_token);
    console.log(claims);
    const r = await client.callTool({ name: "get_order", arguments: { order_id: EMEA_ORDER } });
    expect(r.isError).toBe(false);
    await client.close();
  });
});
