import { type RunningJira, startJiraSandbox } from "@gatehouse/sandbox";
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
import { textOf } from "../support/results.ts";
import { TICKET_DRAFT_ENTRY, TICKET_SEND_ENTRY } from "../support/servers.ts";
import { createApprovalDesk, ticketServerEnv } from "../support/tickets.ts";

/**
 * Deciding on a send is throttled like a call; with shared counters (REDIS_URL) out of reach, a decision is
 * refused as unavailable (503, naming Redis), audited, and records nothing — never taken as "too many".
 */
describe.skipIf(!inject("redisUrl") || !findRedisServer())("approval decisions while Redis is down", () => {
  let env: TestEnvironment;
  let jira: RunningJira;
  let redis: RunningRedis;
  let draftServer: SpawnedServer;
  let sendServer: SpawnedServer;
  let author: Client;

  beforeAll(async () => {
    env = await createTestEnvironment({ storeKind: "sqlite" });
    jira = await startJiraSandbox({ port: 0 });
    redis = await startRedis();
    const serverEnv = ticketServerEnv(env, jira, { REDIS_URL: redis.url });
    [draftServer, sendServer] = await Promise.all([
      spawnHttpServer(TICKET_DRAFT_ENTRY, serverEnv),
      spawnHttpServer(TICKET_SEND_ENTRY, serverEnv),
    ]);
    author = await connectHttp(draftServer.url, await env.mint("alice", { audience: draftServer.url }));
  }, 120_000);

  afterAll(async () => {
    await author?.close();
    await Promise.all([draftServer?.stop(), sendServer?.stop()]);
    await redis?.stop();
    await jira?.close();
    await env?.close();
  });

  it("answers 503 naming the unreachable Redis, audits the refusal, and records no decision", async () => {
    const created = await author.callTool({
      name: "create_ticket_draft",
      arguments: { project: "SUP", issue_type: "Task", summary: "Refund SO-100001", description: "Waits." },
    });
    expect(created.isError, textOf(created)).toBe(false);
    const draftId = (created.structuredContent as { draft: { draft_id: string } }).draft.draft_id;
    const desk = createApprovalDesk(env, sendServer);

    await redis.stop();
    const reason = `rate limits are unavailable: Redis at 127.0.0.1:${redis.port} is unreachable`;
    // The replica learns the cause after its first reconnect attempt; until then the reason is shorter.
    let answer: Awaited<ReturnType<typeof desk.decide>> | undefined;
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      answer = await desk.decide("carol", draftId, "approve");
      expect(answer.status).toBe(503);
      if (answer.body.error_description?.startsWith(`${reason} (connection refused)`)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(answer?.body).toMatchObject({ error: "temporarily_unavailable" });
    expect(answer?.body.error_description).toMatch(new RegExp(`^${reason.replace(/[.]/g, "\\.")}`));
    expect(Number(answer?.headers.get("retry-after"))).toBeGreaterThan(0);

    const refusal = (await env.audit.latest(50)).filter((e) => e.type === "approval.refused").at(-1);
    expect(refusal).toMatchObject({ user_id: "carol", outcome: "rate limits unavailable", decision: "deny" });
    expect(JSON.parse(String(refusal?.detail))).toMatchObject({
      subject: `ticket_draft/${draftId}`,
      reason: `${reason} (connection refused)`,
    });

    await redis.restart();
    const view = await desk.review("carol", draftId);
    expect(view.status).toBe(200);
    expect(view.body.latest_decision).toBeNull();
  });
});
