import { spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { type CallOutcome, outcomeOf } from "@gatehouse/kit";
import {
  connectHttp,
  createTestEnvironment,
  type SpawnedServer,
  spawnHttpServer,
  type TestEnvironment,
} from "@gatehouse/testing";
import type { Client } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { findRedisServer, type RunningRedis, startRedis } from "../setup/redis.ts";
import { outcomeEvent, textOf } from "../support/results.ts";
import { EMEA_ORDER, ORDER_LOOKUP_ENTRY, RELAXED_LIMITS } from "../support/servers.ts";

/**
 * Several replicas of order-lookup with REDIS_URL: one set of buckets between them, and calls refused (and
 * audited) while Redis is out of reach, never waved through.
 */
describe.skipIf(!inject("redisUrl") || !findRedisServer())("order-lookup replicas sharing Redis", () => {
  let env: TestEnvironment;
  let redis: RunningRedis;
  let replicas: SpawnedServer[];
  const clients: Client[] = [];

  /** A client of one replica, for a user (each replica is its own audience). */
  const connect = async (replica: SpawnedServer, user: string) => {
    const client = await connectHttp(replica.url, await env.mint(user, { audience: replica.url }));
    clients.push(client);
    return client;
  };
  /** A replica's readiness probe, as a load balancer or kubelet reads it. */
  const readyz = async (replica: SpawnedServer) => {
    const res = await fetch(new URL("/readyz", replica.url));
    return { status: res.status, body: (await res.json()) as { checks: Record<string, boolean> } };
  };
  const getOrder = async (client: Client) => {
    const result = await client.callTool({ name: "get_order", arguments: { order_id: EMEA_ORDER } });
    return { result, outcome: outcomeOf(result) as CallOutcome };
  };

  beforeAll(async () => {
    env = await createTestEnvironment({ storeKind: "sqlite" });
    // Its own Redis: these tests stop and restart it.
    redis = await startRedis();
    const replicaEnv = {
      ...env.env,
      ...RELAXED_LIMITS,
      GATEHOUSE_RATE_LIMIT_USER: "3/60s",
      REDIS_URL: redis.url,
    };
    replicas = await Promise.all([
      spawnHttpServer(ORDER_LOOKUP_ENTRY, replicaEnv),
      spawnHttpServer(ORDER_LOOKUP_ENTRY, replicaEnv),
    ]);
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all((replicas ?? []).map((r) => r.stop()));
    await redis?.stop();
    await env?.close();
  });

  it("two replicas hold one user to one limit between them", async () => {
    const [a, b] = [await connect(replicas[0]!, "alice"), await connect(replicas[1]!, "alice")];
    const outcomes = [];
    for (const client of [a, b, a, b]) outcomes.push((await getOrder(client)).outcome);
    expect(outcomes.slice(0, 3).map((o) => o.status)).toEqual(["completed", "completed", "completed"]);
    expect(outcomes[3]).toMatchObject({ status: "denied", stage: "rate_limit", decision: "deny" });
  });

  it("is ready only while Redis answers: /readyz names rate_limits beside the store and issuer keys", async () => {
    expect(await readyz(replicas[0]!)).toEqual({
      status: 200,
      body: {
        ready: true,
        server: "order-lookup",
        checks: { store: true, issuer_keys: true, rate_limits: true },
      },
    });
  });

  it("refuses calls at the rate stage while Redis is down, says why, and audits the refusal", async () => {
    const dave = await connect(replicas[0]!, "dave");
    expect((await getOrder(dave)).outcome.status).toBe("completed");
    await redis.stop();
    // A replica whose counters are gone is taken out of rotation, not left to refuse every call.
    const probe = await readyz(replicas[0]!);
    expect(probe.status).toBe(503);
    expect(probe.body.checks).toEqual({ store: true, issuer_keys: true, rate_limits: false });
    const reason = `rate limits are unavailable: Redis at 127.0.0.1:${redis.port} is unreachable (connection refused)`;
    // The replica learns the connection is gone when it closes; the cause after its first reconnect attempt.
    let refused: Awaited<ReturnType<typeof getOrder>> | undefined;
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      const started = performance.now();
      const attempt = await getOrder(dave);
      // Never waved through, never waiting on Redis.
      expect(attempt.outcome).toMatchObject({ status: "denied", stage: "rate_limit" });
      expect(performance.now() - started).toBeLessThan(2000);
      if (textOf(attempt.result).startsWith(reason)) {
        refused = attempt;
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(refused, "a refusal naming the unreachable Redis").toBeDefined();
    expect(refused!.result.isError).toBe(true);
    expect(textOf(refused!.result)).toBe(`${reason}; retry after 2 s`);
    expect(refused!.result.structuredContent).toBeUndefined();
    expect(refused!.outcome).toEqual({
      status: "denied",
      stage: "rate_limit",
      decision: "deny",
      retryAfterSeconds: 2,
    } satisfies CallOutcome);
    const event = await outcomeEvent(env.audit, refused!.result);
    expect(event).toMatchObject({ type: "tool.denied", outcome: "denied at rate_limit", user_id: "dave" });
    expect(event.detail).toMatchObject({ stage: "rate_limit", bucket: "unavailable", reason });
  });

  it("lets calls through again once Redis is back, without a restart", async () => {
    await redis.restart();
    const carol = await connect(replicas[1]!, "carol");
    const deadline = Date.now() + 10_000;
    let last: CallOutcome | undefined;
    while (Date.now() < deadline) {
      last = (await getOrder(carol)).outcome;
      if (last.status === "completed") break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(last).toMatchObject({ status: "completed", stage: "done" });
    expect((await readyz(replicas[1]!)).status).toBe(200);
  });
});

/** Starts order-lookup's real entry point as an operator would, and waits for it to exit. */
async function startDirectly(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [ORDER_LOOKUP_ENTRY, "http"], {
    env: { ...process.env, LOG_LEVEL: "info", GATEHOUSE_PORT: "0", ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk: string) => {
    stderr += chunk;
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  const [code] = (await once(child, "exit")) as [number | null];
  clearTimeout(timer);
  return { code, stderr };
}

describe("order-lookup with a REDIS_URL it cannot use does not start", () => {
  let env: TestEnvironment;

  beforeAll(async () => {
    env = await createTestEnvironment({ storeKind: "sqlite" });
  });

  afterAll(async () => {
    await env?.close();
  });

  it("names the unreachable Redis by host and port, never its password, in one line", async () => {
    const port = await closedPort();
    const { code, stderr } = await startDirectly({
      ...env.env,
      REDIS_URL: `redis://gatehouse:hunter2-secret@127.0.0.1:${port}/0`,
    });
    expect(code).toBe(1);
    expect(stderr).toBe(
      `order-lookup: rate limits are unavailable: Redis at 127.0.0.1:${port} is unreachable (connection refused); check REDIS_URL\n`,
    );
  });

  it("refuses a REDIS_URL that is not a redis:// or rediss:// URL, without echoing it", async () => {
    const { code, stderr } = await startDirectly({
      ...env.env,
      REDIS_URL: "http://user:hunter2-secret@cache:6379",
    });
    expect(code).toBe(1);
    expect(stderr).toContain("REDIS_URL: must be a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379");
    expect(stderr).not.toContain("hunter2");
  });
});

/** A loopback port nothing listens on. */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}
