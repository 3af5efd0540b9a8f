import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
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
import { runCliAsync } from "../support/cli.ts";
import { textOf } from "../support/results.ts";
import {
  EMEA_ORDER,
  ORDER_LOOKUP_ENTRY,
  RELAXED_LIMITS,
  TICKET_DRAFT_ENTRY,
  TICKET_SEND_ENTRY,
} from "../support/servers.ts";
import {
  createApprovalDesk,
  inBatches,
  type SendResult,
  sleep,
  ticketServerEnv,
} from "../support/tickets.ts";
import { connectTracked, planRoute, type Replica, startReplicas } from "./cluster.ts";
import { HAPROXY_BIN, type RunningHaproxy, startHaproxy } from "./haproxy.ts";

/**
 * Issue 13 item 5: replicas tested together. Three order-lookup and two ticket-send processes behind a real
 * HAProxy, one PostgreSQL store for all of them. Under 16 concurrent MCP clients one order-lookup replica is
 * SIGKILLed mid-load; then every answered call must have its completed event in the shared chain, the chain
 * must verify, and the only failed calls must be ones that were in flight on the killed replica. Both
 * ticket-send replicas, addressed directly, race to send the same approved drafts: one Jira issue each.
 */
const CLIENTS = 16;
const LOAD_BEFORE_KILL_MS = 1500;
const LOAD_AFTER_KILL_MS = 2500;
const DRAFTS = 20;
const META_CORRELATION = "io.gatehouse/correlation-id";
const META_AUDIT_EVENT = "io.gatehouse/audit-event";

const pgAdminUrl = inject("pgAdminUrl");
const haveHaproxy = existsSync(HAPROXY_BIN);
if (process.env.CI && !haveHaproxy)
  throw new Error(`CI needs HAProxy at ${HAPROXY_BIN} (.ci/run installs it)`);

interface CallRecord {
  correlationId: string;
  start: number;
  end: number;
  replica?: string;
  /** The completed event's id, from the result's _meta, when the call answered. */
  auditId?: string;
  isError?: boolean;
  error?: string;
}

describe.skipIf(!pgAdminUrl || !haveHaproxy)("replicas behind HAProxy on one PostgreSQL store", () => {
  let env: TestEnvironment;
  let jira: RunningJira;
  let proxy: RunningHaproxy;
  let orderLookup: Replica[] = [];
  let ticketSend: Replica[] = [];
  let ticketDraft: SpawnedServer;
  const clients: Client[] = [];

  beforeAll(async () => {
    env = await createTestEnvironment({ storeKind: "postgres", pgAdminUrl });
    jira = await startJiraSandbox({ port: 0, limits: { perMinute: 1_000_000 } });
    const olRoute = await planRoute("order-lookup", 3);
    const tsRoute = await planRoute("ticket-send", 2);
    const common = { ...env.env, ...RELAXED_LIMITS, LOG_LEVEL: "warn" };
    const ticketEnv = ticketServerEnv(env, jira, { LOG_LEVEL: "warn" });
    [orderLookup, ticketSend, ticketDraft] = await Promise.all([
      startReplicas(ORDER_LOOKUP_ENTRY, olRoute, common),
      startReplicas(TICKET_SEND_ENTRY, tsRoute, ticketEnv),
      spawnHttpServer(TICKET_DRAFT_ENTRY, ticketEnv),
    ]);
    // Connections per request, so each failure is a 502 naming its replica (see haproxyConfig).
    proxy = await startHaproxy([olRoute, tsRoute], { connections: "per-request" });
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await proxy?.stop();
    await Promise.all([...orderLookup, ...ticketSend].map((r) => r.server.stop("SIGKILL")));
    await ticketDraft?.stop();
    await jira?.close();
    await env?.close();
  });

  it("loses no audit event, verifies, and fails only calls in flight on a replica SIGKILLed mid-load", async () => {
    const url = proxy.urlOf("order-lookup");
    const token = await env.mint("alice", { audience: url });
    const tracked = await Promise.all(Array.from({ length: CLIENTS }, () => connectTracked(url, token)));
    clients.push(...tracked.map((t) => t.client));
    const victim = orderLookup[1]!;
    const records: CallRecord[] = [];
    let stop = false;

    const worker = async (t: (typeof tracked)[number]) => {
      while (!stop) {
        const rec: CallRecord = { correlationId: randomUUID(), start: performance.now(), end: 0 };
        t.forget();
        try {
          const r = await t.client.callTool(
            {
              name: "get_order",
              arguments: { order_id: EMEA_ORDER },
              _meta: { [META_CORRELATION]: rec.correlationId },
            },
            { timeout: 20_000 },
          );
          rec.isError = r.isError === true;
          rec.auditId = (r._meta as Record<string, unknown> | undefined)?.[META_AUDIT_EVENT] as string;
          if (rec.isError) rec.error = textOf(r);
        } catch (err) {
          const e = err as Error & { cause?: unknown };
          rec.error = `${e.message}${e.cause ? ` (${String(e.cause)})` : ""}`;
        }
        rec.end = performance.now();
        rec.replica = t.lastReplica();
        records.push(rec);
      }
    };

    const loadStart = performance.now();
    const workers = Promise.all(tracked.map(worker));
    await sleep(LOAD_BEFORE_KILL_MS);
    const killAt = performance.now();
    victim.server.process.kill("SIGKILL");
    // How long the proxy takes to stop sending to it (new requests meanwhile are refused at connect and
    // redispatched, which is safe: they never reached a replica).
    await proxy.waitFor((s) => s.get(`order-lookup/${victim.name}`) === "DOWN", 10_000);
    const markedDownMs = performance.now() - killAt;
    await sleep(Math.max(1000, LOAD_AFTER_KILL_MS - markedDownMs));
    stop = true;
    await workers;
    const loadSeconds = (performance.now() - loadStart) / 1000;

    const answered = records.filter((r) => r.auditId !== undefined);
    const failed = records.filter((r) => r.auditId === undefined);
    const inFlightOnVictim = records.filter(
      (r) => r.replica === victim.name && r.start < killAt && r.end >= killAt,
    );

    // Lost audit events: an answered call whose completed event is not in the shared store, under its id
    // and the correlation id the client sent.
    const completed = new Map<string, string>();
    const rows = await env.store.db
      .selectFrom("audit_events")
      .select(["id", "correlation_id"])
      .where("type", "=", "tool.completed")
      .where("server", "=", "order-lookup")
      .execute();
    for (const row of rows) completed.set(row.id, row.correlation_id);
    const lost = answered.filter((r) => completed.get(r.auditId!) !== r.correlationId);
    // Intents without an outcome: the calls the kill cut off after they were recorded as requested.
    const failedIds = new Set(failed.map((r) => r.correlationId));
    const orphanIntents = (
      await env.store.db
        .selectFrom("audit_events")
        .select(["correlation_id", "type"])
        .where("server", "=", "order-lookup")
        .execute()
    ).filter((e) => failedIds.has(e.correlation_id) && e.type === "tool.requested").length;

    const verify = await runCliAsync(["audit", "verify"], {
      GATEHOUSE_DATA_DIR: env.dataDir,
      DATABASE_URL: env.env.DATABASE_URL!,
    });

    const byReplica = (list: CallRecord[]) =>
      orderLookup.map((r) => `${r.name}=${list.filter((c) => c.replica === r.name).length}`).join(" ");
    const figures: Array<[string, string]> = [
      ["clients", String(CLIENTS)],
      [
        "calls made",
        `${records.length} in ${loadSeconds.toFixed(1)} s (${(records.length / loadSeconds).toFixed(0)}/s)`,
      ],
      ["answered, by replica", `${answered.length} (${byReplica(answered)})`],
      ["answered with isError", String(answered.filter((r) => r.isError).length)],
      ["killed replica", `${victim.name} at +${((killAt - loadStart) / 1000).toFixed(2)} s`],
      ["proxy marked it DOWN after", `${markedDownMs.toFixed(0)} ms`],
      ["in flight on it at the kill", String(inFlightOnVictim.length)],
      ["failed calls", `${failed.length} (${byReplica(failed)})`],
      ["intents without outcome", String(orphanIntents)],
      ["lost audit events", String(lost.length)],
      ["audit verify", verify.stdout.trim() || verify.stderr.trim()],
    ];
    process.stdout.write(
      `\nreplicas under a SIGKILL (3 order-lookup behind HAProxy, PostgreSQL)\n${figures
        .map(([k, v]) => `  ${k.padEnd(30)} ${v}`)
        .join("\n")}\n`,
    );

    // The load really spread, and really went on after the kill.
    for (const r of orderLookup) expect(answered.some((c) => c.replica === r.name)).toBe(true);
    expect(answered.filter((r) => r.start > killAt + markedDownMs).length).toBeGreaterThanOrEqual(CLIENTS);
    expect(answered.filter((r) => r.isError).map((r) => r.error)).toEqual([]);
    expect(lost.map((r) => r.correlationId)).toEqual([]);
    expect(verify.status, verify.stderr).toBe(0);
    expect(verify.stdout).toMatch(/^audit chain intact: \d+ events/m);
    // Every failure is a call that was in flight on the killed replica when it died (the proxy names the
    // replica on its own 502); a call that started afterwards never fails, whichever replica it drew.
    for (const f of failed) {
      expect(f, f.error).toMatchObject({ replica: victim.name });
      expect(f.start).toBeLessThan(killAt);
      expect(f.end).toBeGreaterThanOrEqual(killAt);
    }
    expect(failed.length).toBeLessThanOrEqual(inFlightOnVictim.length);
    expect(orphanIntents).toBeLessThanOrEqual(failed.length);
  });

  it(`files exactly one Jira issue per approved draft when both ticket-send replicas send it at once (${DRAFTS} drafts)`, async () => {
    const sendUrl = proxy.urlOf("ticket-send");
    const draft = await connectHttp(ticketDraft.url, await env.mint("alice", { audience: ticketDraft.url }));
    clients.push(draft);
    // The approval desk goes through the proxy, like any person's browser.
    const desk = createApprovalDesk(env, { url: sendUrl } as SpawnedServer);
    // Each sender talks to one replica directly, so the two sends of a draft really run on both.
    const token = await env.mint("alice", { audience: sendUrl });
    const senders = await Promise.all(ticketSend.map((r) => connectHttp(r.directUrl, token)));
    clients.push(...senders);

    const outcomes: Array<{
      draftId: string;
      results: Array<{ ok: boolean; key?: string; replayed?: boolean; text: string }>;
    }> = [];
    await inBatches(DRAFTS, 5, async (i) => {
      const r = await draft.callTool({
        name: "create_ticket_draft",
        arguments: {
          project: "SUP",
          issue_type: "Task",
          summary: `Replica race ${i}`,
          description: "Approved text.",
        },
      });
      expect(r.isError, textOf(r)).toBe(false);
      const draftId = (r.structuredContent as { draft: { draft_id: string } }).draft.draft_id;
      const a = await desk.decide("carol", draftId, "approve");
      expect(a.status, a.body.error_description).toBe(200);
      const results = await Promise.all(
        senders.map((s) => s.callTool({ name: "send_ticket", arguments: { draft_id: draftId } })),
      );
      outcomes.push({
        draftId,
        results: results.map((res) => {
          const sc = res.structuredContent as SendResult | undefined;
          return {
            ok: !res.isError,
            key: sc?.jira_key ?? undefined,
            replayed: sc?.replayed,
            text: textOf(res),
          };
        }),
      });
    });
    await sleep(500); // a late duplicate would land by now

    const issuesFor = (id: string) => jira.issues().filter((x) => x.labels.includes(`gatehouse-${id}`));
    const bothAnswered = outcomes.filter((o) => o.results.every((r) => r.ok)).length;
    process.stdout.write(
      `\nexactly-once with 2 ticket-send replicas racing (${DRAFTS} approved drafts)\n` +
        `  Jira issues filed              ${outcomes.reduce((n, o) => n + issuesFor(o.draftId).length, 0)}\n` +
        `  rounds both sends answered     ${bothAnswered} (one replayed the other's issue)\n` +
        `  rounds one send was told off   ${DRAFTS - bothAnswered}\n`,
    );
    expect(outcomes).toHaveLength(DRAFTS);
    for (const o of outcomes) {
      const issues = issuesFor(o.draftId);
      expect(issues, o.draftId).toHaveLength(1);
      const oks = o.results.filter((r) => r.ok);
      expect(oks.length, o.results.map((r) => r.text).join(" | ")).toBeGreaterThanOrEqual(1);
      // Whoever answered names that one issue; at most one of them filed it.
      for (const r of oks) expect(r.key).toBe(issues[0]!.key);
      expect(oks.filter((r) => r.replayed === false).length).toBeLessThanOrEqual(1);
    }
  });

  it.todo(
    "refuses calls once the per-tenant limit summed over replicas is reached, within 5 % (waits for Redis-shared limits: REDIS_URL, test/setup/redis.ts)",
  );
});
