import { type CallOutcome, outcomeOf } from "@gatehouse/kit";
import {
  connectHttp,
  createTestEnvironment,
  type SpawnedServer,
  spawnHttpServer,
  type TestEnvironment,
} from "@gatehouse/testing";
import type { Client } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { unavailableReason } from "../../servers/business/src/downstream.ts";
import { EMEA_ORDER, NA_ORDER, ORDER_LOOKUP_ENTRY, RELAXED_LIMITS } from "../support/servers.ts";

/**
 * Every result says how the call ended as data (`_meta["io.gatehouse/outcome"]`): stage, decision, policy
 * ids, retry-after, a handler's error code. Clients such as business branch on it, never on the wording.
 */
describe("outcomes as data", () => {
  let env: TestEnvironment;
  let server: SpawnedServer;
  let limited: SpawnedServer;
  let alice: Client;

  const outcome = async (client: Client, args: Record<string, unknown>, name = "get_order") => {
    const result = await client.callTool({ name, arguments: args });
    return { result, outcome: outcomeOf(result) };
  };

  beforeAll(async () => {
    env = await createTestEnvironment({ storeKind: "sqlite" });
    [server, limited] = await Promise.all([
      spawnHttpServer(ORDER_LOOKUP_ENTRY, { ...env.env, ...RELAXED_LIMITS }),
      spawnHttpServer(ORDER_LOOKUP_ENTRY, {
        ...env.env,
        ...RELAXED_LIMITS,
        GATEHOUSE_RATE_LIMIT_USER: "2/60s",
      }),
    ]);
    alice = await connectHttp(server.url, await env.mint("alice", { audience: server.url }));
  });

  afterAll(async () => {
    await alice?.close();
    await Promise.all([server?.stop(), limited?.stop()]);
    await env?.close();
  });

  it("a completed call: stage done, allowed, with the policies that allowed it", async () => {
    const { result, outcome: o } = await outcome(alice, { order_id: EMEA_ORDER });
    expect(result.isError).toBe(false);
    expect(o).toMatchObject({ status: "completed", stage: "done", decision: "allow" });
    expect(o!.policyIds!.length).toBeGreaterThan(0);
  });

  it("another tenant's record: denied at record policy, by default (no policy permits it)", async () => {
    const { result, outcome: o } = await outcome(alice, { order_id: NA_ORDER });
    expect(result.isError).toBe(true);
    expect(o).toMatchObject({ status: "denied", stage: "record_policy", decision: "deny" });
    expect(o!.policyIds).toEqual([]);
    expect(unavailableReason(o)).toBe("refused");
  });

  it("another tenant named outright: denied by policy", async () => {
    const { outcome: o } = await outcome(alice, { tenant: "na", limit: 1 }, "list_late_orders");
    expect(o).toMatchObject({ status: "denied", stage: "policy", decision: "deny" });
    expect(unavailableReason(o)).toBe("refused");
  });

  it("a missing record: failed in the handler with code not_found", async () => {
    const { outcome: o } = await outcome(alice, { order_id: "SO-999999" });
    expect(o).toMatchObject({ status: "failed", stage: "handler", code: "not_found" });
    expect(unavailableReason(o)).toBe("not_found");
  });

  it("bad input: failed at input, no code, no decision", async () => {
    const { outcome: o } = await outcome(alice, { order_id: "not-an-order" });
    expect(o).toEqual({ status: "failed", stage: "input" } satisfies CallOutcome);
    expect(unavailableReason(o)).toBe("error");
  });

  it("a rate limit: denied at rate_limit with retryAfterSeconds, which business does not call a refusal", async () => {
    const client = await connectHttp(limited.url, await env.mint("alice", { audience: limited.url }));
    try {
      let last: CallOutcome | undefined;
      for (let i = 0; i < 3; i++) last = (await outcome(client, { order_id: EMEA_ORDER })).outcome;
      expect(last).toMatchObject({ status: "denied", stage: "rate_limit", decision: "deny" });
      expect(last!.retryAfterSeconds).toBeGreaterThan(0);
      expect(unavailableReason(last)).toBe("error");
    } finally {
      await client.close();
    }
  });

  it("a result without an outcome (not a Gatehouse server) is an error, whatever its text says", () => {
    expect(unavailableReason(outcomeOf({ _meta: {} }))).toBe("error");
    expect(outcomeOf({ _meta: { "io.gatehouse/outcome": { status: "refused!", stage: "policy" } } })).toBe(
      undefined,
    );
  });
});
