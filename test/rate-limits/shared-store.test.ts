import { randomUUID } from "node:crypto";
import { createServer } from "node:net";
import { type Identity, type RateLimitConfig, RateLimits } from "@gatehouse/governance";
import { RedisRateLimitStore } from "@gatehouse/governance/redis-rate-limits";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { findRedisServer, type RunningRedis, startRedis } from "../setup/redis.ts";

function caller(user: string, tenant = "emea"): Identity {
  return { user, roles: ["support_agent"], tenant, client: "test", env: "test", tokenId: "t", scopes: [] };
}

const plenty = { points: 10_000, durationSeconds: 60 };

/**
 * RateLimits over Redis, as several replicas of one server use it: each replica has its own client, and
 * the counters are Redis's. Every test gets its own key prefix, so tests never share a bucket.
 */
describe.skipIf(!inject("redisUrl"))("rate limits shared through Redis", () => {
  const opened: RateLimits[] = [];
  /** Replicas as a server builds them: the start-up ping connects each (unless told Redis is not there). */
  const replicas = async (
    n: number,
    config: Partial<RateLimitConfig>,
    url = inject("redisUrl"),
    { connect = true } = {},
  ) => {
    const keyPrefix = `gatehouse:rl:test-${randomUUID()}`;
    const made = Array.from({ length: n }, () => {
      const limits = new RateLimits(
        { perUser: plenty, perTenant: plenty, perTool: plenty, ...config },
        new RedisRateLimitStore({ url, keyPrefix }),
      );
      opened.push(limits);
      return limits;
    });
    if (connect) await Promise.all(made.map((l) => l.ping()));
    return made;
  };

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((l) => l.close()));
  });

  it("two replicas enforce one limit between them, not one each", async () => {
    const [a, b] = await replicas(2, { perUser: { points: 4, durationSeconds: 60 } });
    const decisions = [];
    for (let i = 0; i < 8; i++) decisions.push(await (i % 2 ? b! : a!).consume(caller("alice"), "get_order"));
    expect(decisions.slice(0, 4)).toEqual(Array(4).fill({ ok: true }));
    for (const d of decisions.slice(4)) {
      expect(d).toMatchObject({ ok: false, bucket: "user" });
      if (d.ok) continue;
      expect(d.retryAfterSeconds).toBeGreaterThan(0);
      expect(d.retryAfterSeconds).toBeLessThanOrEqual(60);
    }
  });

  it("lets exactly the limit through when both replicas race with many concurrent calls", async () => {
    const [a, b] = await replicas(2, { perTool: { points: 10, durationSeconds: 60 } });
    const calls = Array.from({ length: 60 }, (_, i) =>
      (i % 2 ? b! : a!).consume(caller(`user-${i}`, i % 3 ? "emea" : "na"), "order-lookup/get_order"),
    );
    const decisions = await Promise.all(calls);
    expect(decisions.filter((d) => d.ok)).toHaveLength(10);
    expect(decisions.filter((d) => !d.ok && d.bucket === "tool")).toHaveLength(50);
  });

  it("gives back what the other buckets took when one refuses, whichever replica asks next", async () => {
    const [a, b] = await replicas(2, {
      perUser: { points: 3, durationSeconds: 60 },
      perTenant: { points: 2, durationSeconds: 60 },
    });
    expect(await a!.consume(caller("alice", "emea"), "get_order")).toEqual({ ok: true });
    expect(await b!.consume(caller("alice", "emea"), "get_order")).toEqual({ ok: true });
    // Refused on the tenant bucket: alice's user point is given back…
    expect(await a!.consume(caller("alice", "emea"), "get_order")).toMatchObject({
      ok: false,
      bucket: "tenant",
    });
    // …so her third call, in another tenant, passes; without the reward it would be her fourth.
    expect(await b!.consume(caller("alice", "na"), "get_order")).toEqual({ ok: true });
    expect(await a!.consume(caller("alice", "na"), "get_order")).toMatchObject({ ok: false, bucket: "user" });
  });

  it("keeps one server's buckets apart from another's (a different key prefix)", async () => {
    const [orders] = await replicas(1, { perUser: { points: 1, durationSeconds: 60 } });
    const [crm] = await replicas(1, { perUser: { points: 1, durationSeconds: 60 } });
    expect(await orders!.consume(caller("alice"), "order-lookup/get_order")).toEqual({ ok: true });
    expect(await crm!.consume(caller("alice"), "crm-read/search_companies")).toEqual({ ok: true });
    expect(await orders!.consume(caller("alice"), "order-lookup/get_order")).toMatchObject({ ok: false });
  });

  it("does not refuse a call whose answer arrived in time while the replica was kept busy past the timeout", async () => {
    // On a saturated machine a replica can be off the CPU (or in a long synchronous stretch) for longer than
    // the 500 ms command timeout while Redis has long answered. A plain timer fires before the reply is read
    // and refuses the call for "Redis did not answer": here the event loop is held for 800 ms instead.
    const [a] = await replicas(1, {});
    const pending = Promise.all([a!.consume(caller("alice"), "get_order"), a!.ping()]);
    const busyUntil = Date.now() + 800;
    while (Date.now() < busyUntil) {
      // Busy: no timer, no socket read, until this ends.
    }
    const [decision] = await pending;
    expect(decision).toEqual({ ok: true });
  });

  it("answers a readiness ping while Redis is up", async () => {
    const [a] = await replicas(1, {});
    await expect(a!.ping()).resolves.toBeUndefined();
    expect(a!.location).toBe(`Redis at ${new URL(inject("redisUrl")).host}`);
  });

  it("refuses calls, naming Redis but never its password, when nothing listens at REDIS_URL", async () => {
    const port = await closedPort();
    const [a] = await replicas(1, {}, `redis://:hunter2-secret@127.0.0.1:${port}`, {
      connect: false,
    });
    const reason = `rate limits are unavailable: Redis at 127.0.0.1:${port} is unreachable (connection refused)`;
    const ping = await a!.ping().then(
      () => "answered",
      (err: Error) => err.message,
    );
    expect(ping).toBe(reason);
    const started = performance.now();
    const decision = await a!.consume(caller("alice"), "get_order");
    expect(performance.now() - started).toBeLessThan(1000);
    expect(decision).toEqual({ ok: false, bucket: "unavailable", reason, retryAfterSeconds: 2 });
    expect(JSON.stringify(decision)).not.toContain("hunter2");
  });

  describe.skipIf(!findRedisServer())("when Redis fails while replicas run", () => {
    let redis: RunningRedis;

    beforeAll(async () => {
      redis = await startRedis();
    });

    afterAll(async () => {
      redis?.resume();
      await redis?.stop();
    });

    it("refuses within the command timeout while Redis hangs, and passes again once it answers", async () => {
      const [a, b] = await replicas(2, {}, redis.url);
      expect(await a!.consume(caller("alice"), "get_order")).toEqual({ ok: true });
      redis.pause();
      try {
        const started = performance.now();
        const decisions = await Promise.all([
          a!.consume(caller("alice"), "get_order"),
          b!.consume(caller("bob"), "get_order"),
        ]);
        // The command timeout is 500 ms; a call must never wait on a hung Redis for longer than that and change.
        expect(performance.now() - started).toBeLessThan(1500);
        for (const d of decisions)
          expect(d).toEqual({
            ok: false,
            bucket: "unavailable",
            reason: `rate limits are unavailable: Redis at 127.0.0.1:${redis.port} did not answer within 500 ms`,
            retryAfterSeconds: 2,
          });
        await expect(a!.ping()).rejects.toThrow("did not answer within 500 ms");
      } finally {
        redis.resume();
      }
      expect(await a!.consume(caller("alice"), "get_order")).toEqual({ ok: true });
      expect(await b!.consume(caller("bob"), "get_order")).toEqual({ ok: true });
    });

    it("refuses at once while Redis is down, and passes again after it restarts, without a restart of its own", async () => {
      const [a] = await replicas(1, {}, redis.url);
      expect(await a!.consume(caller("alice"), "get_order")).toEqual({ ok: true });
      await redis.stop();
      // Refused from the moment the connection closes; the reason is precise after the first reconnect attempt.
      const reason = `rate limits are unavailable: Redis at 127.0.0.1:${redis.port} is unreachable (connection refused)`;
      await until(async () => {
        const d = await a!.consume(caller("alice"), "get_order");
        return !d.ok && d.bucket === "unavailable" && d.reason === reason;
      }, 3000);
      const started = performance.now();
      const decision = await a!.consume(caller("alice"), "get_order");
      expect(performance.now() - started).toBeLessThan(200);
      expect(decision).toEqual({ ok: false, bucket: "unavailable", reason, retryAfterSeconds: 2 });
      await expect(a!.ping()).rejects.toThrow("is unreachable (connection refused)");
      await redis.restart();
      // Reconnects in the background (at most every 2 s).
      await until(async () => (await a!.consume(caller("alice"), "get_order")).ok, 5000);
      await expect(a!.ping()).resolves.toBeUndefined();
    });
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

async function until(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
