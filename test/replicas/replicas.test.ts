import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { type CallOutcome, outcomeOf } from "@gatehouse/kit";
import { type RunningJira, startJiraSandbox } from "@gatehouse/sandbox";
import {
  connectHttp,
  createTestEnvironment,
  type SpawnedServer,
  type TestEnvironment,
} from "@gatehouse/testing";
import type { Client } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { runCliAsync } from "../support/cli.ts";
import { textOf } from "../support/results.ts";
import {
  EMEA_ORDER,
  NA_ORDER,
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
import { connectTracked, planRoute, type Replica, spawnServer, startReplicas } from "./cluster.ts";
import { freePort, HAPROXY_BIN, REPLICA_HEADER, type RunningHaproxy, startHaproxy } from "./haproxy.ts";

/**
 * Issue 13 item 5: replicas tested together. Three order-lookup and two ticket-send processes behind a real
 * HAProxy, one PostgreSQL store for all of them. Under 16 concurrent MCP clients one order-lookup replica is
 * SIGKILLed mid-load; then every answered call must have its completed event in the shared chain, the chain
 * must verify, and the only failed calls must be ones that were in flight on the killed replica. Both
 * ticket-send replicas, addressed directly, race to send the same approved drafts: one Jira issue each.
 * Every replica shares one Redis for its rate-limit buckets, so a limit holds over the replicas together; and
 * the proxy health-checks `/readyz`, so a replica that cannot serve (its issuer's keys out of reach) gets
 * no traffic.
 */
const CLIENTS = 16;
/**
 * The load runs at least this long before the kill, and until every replica has answered a few calls (on a
 * loaded machine a fresh replica's first calls are slow): the victim dies with calls served behind it.
 */
const LOAD_BEFORE_KILL_MS = 1500;
/** And at least this long after the proxy marked the victim down, and until 2 × CLIENTS calls answered since. */
const LOAD_AFTER_KILL_MS = 1500;
/** Waiting for either condition longer than this fails the case (something is wrong, not slow). */
const LOAD_PHASE_CAP_MS = 30_000;
/** The kill case's own timeout: both load phases at their cap, plus the checks after them. */
const KILL_CASE_TIMEOUT_MS = 2 * LOAD_PHASE_CAP_MS + 30_000;
const DRAFTS = 20;
const META_CORRELATION = "io.gatehouse/correlation-id";
const META_AUDIT_EVENT = "io.gatehouse/audit-event";

/**
 * The cases that start servers of their own (three replicas, one replica) get longer than the project's 60 s:
 * on a machine shared with other runs, start-up alone took most of that.
 */
const CASE_STARTING_SERVERS_TIMEOUT_MS = 120_000;

/** Per-user limit for the rate-limit case: refusals must begin at this sum over replicas, not 3 × it. */
const USER_LIMIT = 120;

const pgAdminUrl = inject("pgAdminUrl");
const redisUrl = inject("redisUrl");
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

describe.skipIf(!pgAdminUrl || !haveHaproxy || !redisUrl)(
  "replicas behind HAProxy on PostgreSQL and Redis",
  () => {
    let env: TestEnvironment;
    let jira: RunningJira;
    let proxy: RunningHaproxy;
    let orderLookup: Replica[] = [];
    let ticketSend: Replica[] = [];
    let ticketDraft: SpawnedServer;
    const clients: Client[] = [];
    /** The issue's figures, one row per case, printed together after the suite. */
    const summary: Array<[string, string]> = [];
    const extraServers: SpawnedServer[] = [];
    const extraProxies: RunningHaproxy[] = [];

    beforeAll(async () => {
      env = await createTestEnvironment({ storeKind: "postgres", pgAdminUrl });
      jira = await startJiraSandbox({ port: 0, limits: { perMinute: 1_000_000 } });
      const olRoute = await planRoute("order-lookup", 3);
      const tsRoute = await planRoute("ticket-send", 2);
      const common = { ...env.env, ...RELAXED_LIMITS, LOG_LEVEL: "warn", REDIS_URL: redisUrl };
      const ticketEnv = ticketServerEnv(env, jira, { LOG_LEVEL: "warn", REDIS_URL: redisUrl });
      const [ol, ts, td] = await Promise.allSettled([
        startReplicas(ORDER_LOOKUP_ENTRY, olRoute, common),
        startReplicas(TICKET_SEND_ENTRY, tsRoute, ticketEnv),
        spawnServer(TICKET_DRAFT_ENTRY, ticketEnv),
      ]);
      // Keep whatever started, so afterAll stops it even when another part failed to start.
      if (ol.status === "fulfilled") orderLookup = ol.value;
      if (ts.status === "fulfilled") ticketSend = ts.value;
      if (td.status === "fulfilled") ticketDraft = td.value;
      for (const r of [ol, ts, td]) if (r.status === "rejected") throw r.reason;
      // Connections per request, so each failure is a 502 naming its replica (see haproxyConfig).
      proxy = await startHaproxy([olRoute, tsRoute], { connections: "per-request" });
    });

    afterAll(async () => {
      if (summary.length)
        process.stdout.write(
          `\nreplicas: issue 13 figures (3 order-lookup + 2 ticket-send behind HAProxy, PostgreSQL + Redis)\n${summary
            .map(([k, v]) => `  ${k.padEnd(40)} ${v}`)
            .join("\n")}\n`,
        );
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
      await Promise.all(extraProxies.map((p) => p.stop()));
      await Promise.all(extraServers.map((s) => s.stop("SIGKILL")));
      await proxy?.stop();
      await Promise.all([...orderLookup, ...ticketSend].map((r) => r.server.stop("SIGKILL")));
      await ticketDraft?.stop();
      await jira?.close();
      await env?.close();
    });

    it(
      "loses no audit event, verifies, and fails only calls in flight on a replica SIGKILLed mid-load",
      async () => {
        const url = proxy.urlOf("order-lookup");
        const token = await env.mint("alice", { audience: url });
        const tracked = await Promise.all(Array.from({ length: CLIENTS }, () => connectTracked(url, token)));
        clients.push(...tracked.map((t) => t.client));
        const victim = orderLookup[1]!;
        const records: CallRecord[] = [];
        let stop = false;
        /** Polls `done` until it holds; the load goes on meanwhile. */
        const until = async (done: () => boolean, what: string) => {
          const deadline = performance.now() + LOAD_PHASE_CAP_MS;
          while (!done()) {
            if (performance.now() > deadline) {
              stop = true;
              throw new Error(`load phase: not ${what} within ${LOAD_PHASE_CAP_MS} ms`);
            }
            await sleep(50);
          }
        };

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
        const answeredBy = (name: string, after = 0) =>
          records.filter((r) => r.replica === name && r.auditId !== undefined && r.start > after).length;
        await sleep(LOAD_BEFORE_KILL_MS);
        await until(
          () => orderLookup.every((r) => answeredBy(r.name) >= 3),
          "every replica answered 3 calls before the kill",
        );
        const died = once(victim.server.process, "exit");
        const killAt = performance.now();
        victim.server.process.kill("SIGKILL");
        // The process is gone only when the kernel has run the kill: on a loaded machine that takes a while, and
        // until then its listening socket still accepts connections. A call sent in that window reached the
        // replica and dies with it, so "in flight at the kill" means overlapping [kill sent, exit seen].
        await died;
        const diedAt = performance.now();
        // How long the proxy takes to stop sending to it (new requests meanwhile are refused at connect and
        // redispatched, which is safe: they never reached a replica).
        await proxy.waitFor((s) => s.get(`order-lookup/${victim.name}`) === "DOWN", 10_000);
        const markedDownMs = performance.now() - killAt;
        const downAt = performance.now();
        await sleep(LOAD_AFTER_KILL_MS);
        await until(
          () => orderLookup.reduce((n, r) => n + answeredBy(r.name, downAt), 0) >= 2 * CLIENTS,
          `${2 * CLIENTS} calls answered after the kill`,
        );
        stop = true;
        await workers;
        const loadSeconds = (performance.now() - loadStart) / 1000;

        const answered = records.filter((r) => r.auditId !== undefined);
        const failed = records.filter((r) => r.auditId === undefined);
        const inFlightOnVictim = records.filter(
          (r) => r.replica === victim.name && r.start < diedAt && r.end >= killAt,
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

        /** A moment relative to the kill, in seconds: "-0.561", "+0.570". */
        const sinceKill = (t: number) =>
          `${t >= killAt ? "+" : "-"}${(Math.abs(t - killAt) / 1000).toFixed(3)}`;
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
          ["its exit seen after", `${(diedAt - killAt).toFixed(0)} ms`],
          ["proxy marked it DOWN after", `${markedDownMs.toFixed(0)} ms`],
          ["in flight on it at the kill", String(inFlightOnVictim.length)],
          ["failed calls", `${failed.length} (${byReplica(failed)})`],
          ["intents without outcome", String(orphanIntents)],
          ["lost audit events", String(lost.length)],
          ...failed.map((f, i): [string, string] => [
            `failed call ${i + 1}`,
            `${f.replica ?? "?"} from ${sinceKill(f.start)} to ${sinceKill(f.end)} s: ${f.error?.replace(/\s+/g, " ")}`,
          ]),
          ["audit verify", verify.stdout.trim() || verify.stderr.trim()],
        ];
        process.stdout.write(
          `\nreplicas under a SIGKILL (3 order-lookup behind HAProxy, PostgreSQL)\n${figures
            .map(([k, v]) => `  ${k.padEnd(30)} ${v}`)
            .join("\n")}\n`,
        );

        // The load really spread, and really went on after the kill.
        for (const r of orderLookup) expect(answered.some((c) => c.replica === r.name)).toBe(true);
        expect(answered.filter((r) => r.start > killAt + markedDownMs).length).toBeGreaterThanOrEqual(
          CLIENTS,
        );
        expect(answered.filter((r) => r.isError).map((r) => r.error)).toEqual([]);
        expect(lost.map((r) => r.correlationId)).toEqual([]);
        expect(verify.status, verify.stderr).toBe(0);
        expect(verify.stdout).toMatch(/^audit chain intact: \d+ events/m);
        // Every failure is a call that was in flight on the killed replica when it died (the proxy names the
        // replica on its own 502); a call that started after it was gone never fails, whichever replica it drew.
        for (const f of failed) {
          expect(f, f.error).toMatchObject({ replica: victim.name });
          expect(f.start, f.error).toBeLessThan(diedAt);
          expect(f.end, f.error).toBeGreaterThanOrEqual(killAt);
        }
        expect(failed.length).toBeLessThanOrEqual(inFlightOnVictim.length);
        expect(orphanIntents).toBeLessThanOrEqual(failed.length);
        summary.push(
          ["lost audit events (answered, no completed)", `${lost.length} of ${answered.length} answered`],
          ["audit verify", verify.stdout.trim().split("\n")[0] ?? ""],
          [
            "failed calls (all in flight on the killed)",
            `${failed.length} failed, ${inFlightOnVictim.length} in flight on ${victim.name} at the kill`,
          ],
        );
      },
      KILL_CASE_TIMEOUT_MS,
    );

    it(`files exactly one Jira issue per approved draft when both ticket-send replicas send it at once (${DRAFTS} drafts)`, async () => {
      const sendUrl = proxy.urlOf("ticket-send");
      const draft = await connectHttp(
        ticketDraft.url,
        await env.mint("alice", { audience: ticketDraft.url }),
      );
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
      const filed = outcomes.reduce((n, o) => n + issuesFor(o.draftId).length, 0);
      summary.push(["sends exactly once (2 replicas racing)", `${filed} Jira issues for ${DRAFTS} drafts`]);
    });

    it(
      `refuses calls once the per-user limit (${USER_LIMIT}) is reached over 3 replicas together, within 5 %`,
      async () => {
        // Three more replicas on the same Redis, with a limit the load reaches: a route of their own.
        const route = await planRoute("order-lookup-limited", 3);
        const replicas = await startReplicas(ORDER_LOOKUP_ENTRY, route, {
          ...env.env,
          ...RELAXED_LIMITS,
          GATEHOUSE_RATE_LIMIT_USER: `${USER_LIMIT}/60s`,
          LOG_LEVEL: "warn",
          REDIS_URL: redisUrl,
        });
        extraServers.push(...replicas.map((r) => r.server));
        const limited = await startHaproxy([route]);
        extraProxies.push(limited);
        const url = limited.urlOf("order-lookup-limited");
        // A user no other case calls as (in tenant na: NA_ORDER is hers to read); a fresh bucket, and a 60 s
        // window: no refill within the case.
        const token = await env.mint("bob", { audience: url });
        const tracked = await Promise.all(Array.from({ length: CLIENTS }, () => connectTracked(url, token)));
        clients.push(...tracked.map((t) => t.client));

        // 2 × the limit: one shared bucket lets the limit through and refuses the rest; per-process buckets
        // (3 × the limit between them) would let every call through.
        const total = USER_LIMIT * 2;
        let issued = 0;
        const results: Array<{
          outcome?: CallOutcome;
          replica?: string;
          start: number;
          end: number;
          text: string;
        }> = [];
        await Promise.all(
          tracked.map(async (t) => {
            while (issued < total) {
              issued++;
              t.forget();
              const start = performance.now();
              const r = await t.client.callTool({ name: "get_order", arguments: { order_id: NA_ORDER } });
              results.push({
                outcome: outcomeOf(r),
                start,
                replica: t.lastReplica(),
                end: performance.now(),
                text: textOf(r),
              });
            }
          }),
        );
        const completed = results.filter((r) => r.outcome?.status === "completed");
        const deniedAtRate = results.filter(
          (r) => r.outcome?.stage === "rate_limit" && r.outcome.status === "denied",
        );
        // Refusals because the shared counters did not answer are not the limit: Redis is up throughout.
        const unavailable = deniedAtRate.filter((r) => /rate limits are unavailable/.test(r.text));
        const refused = deniedAtRate.filter((r) => !unavailable.includes(r));
        // Onset. The bucket is one counter in Redis and its window (60 s) outlasts the case, so in the order
        // Redis counted the calls, every call before the first refused one passed and every one after it was
        // refused: the calls that completed are exactly where refusals began. Seen from the clients, the first
        // refusal comes back while up to CLIENTS - 1 admitted calls are still on their way, so "completed when
        // the first refusal came back" is printed as well, not held to 5 %.
        const onset = completed.length;
        const firstRefusal = Math.min(...refused.map((r) => r.end));
        const completedByFirstRefusal = completed.filter((r) => r.end < firstRefusal).length;
        // Once refusals began they held on every replica: no call sent after the first refusal came back passed.
        const passedAfterRefusals = completed.filter((r) => r.start > firstRefusal);
        // Each refusal is audited as a denial at the rate stage, in the shared chain.
        const bobEvents = await env.store.db
          .selectFrom("audit_events")
          .select(["type", "outcome"])
          .where("server", "=", "order-lookup")
          .where("user_id", "=", "bob")
          .execute();
        const auditedDenials = bobEvents.filter((e) => e.type === "tool.denied").length;
        const perReplica = replicas
          .map((r) => `${r.name}: ${completed.filter((c) => c.replica === r.name).length} ok`)
          .join(", ");
        process.stdout.write(
          `\nshared rate limit over 3 replicas (${USER_LIMIT}/60 s per user, ${total} calls, ${CLIENTS} clients)\n` +
            `  completed                      ${completed.length} (${perReplica})\n` +
            `  refused at rate_limit          ${refused.length}\n` +
            `  refused, counters unavailable  ${unavailable.length}\n` +
            `  refusals began after           ${onset} admitted calls (limit ${USER_LIMIT})\n` +
            `  completed when first refusal   ${completedByFirstRefusal} (the rest were in flight)\n` +
            `  denials in the audit chain     ${auditedDenials}\n` +
            `  first refusal says             ${refused[0]?.text}\n`,
        );
        summary.push([
          "rate-limit onset (limit summed over 3)",
          `refusals began after ${onset} admitted calls (limit ${USER_LIMIT}; per-process buckets would admit ${USER_LIMIT * 3})`,
        ]);

        expect(results).toHaveLength(total);
        // Every call either completed or was refused at the rate stage: nothing else failed.
        expect(unavailable.map((r) => r.text)).toEqual([]);
        const other = results
          .filter((r) => !completed.includes(r) && !refused.includes(r))
          .map((r) => r.text);
        expect(other).toEqual([]);
        expect(completed.length + refused.length).toBe(total);
        expect(onset).toBeGreaterThanOrEqual(Math.floor(USER_LIMIT * 0.95));
        expect(onset).toBeLessThanOrEqual(Math.ceil(USER_LIMIT * 1.05));
        expect(passedAfterRefusals).toEqual([]);
        expect(auditedDenials).toBe(refused.length);
        // All three served and all three refused: the limit is one between them, not one each.
        for (const r of replicas) {
          expect(
            completed.some((c) => c.replica === r.name),
            r.name,
          ).toBe(true);
          expect(
            refused.some((c) => c.replica === r.name),
            r.name,
          ).toBe(true);
        }
      },
      CASE_STARTING_SERVERS_TIMEOUT_MS,
    );

    it(
      "sends no traffic to a replica that is not ready (its issuer's keys out of reach)",
      async () => {
        // A route of its own over one of the running order-lookup replicas (ready) and one more that cannot load
        // the issuer's keys. Both name the main route's URL as their resource, so one token serves through this
        // proxy too; reusing a running replica saves starting a process.
        const publicUrl = proxy.urlOf("order-lookup");
        const readyReplica = orderLookup[0]!;
        const ready = { name: readyReplica.name, port: readyReplica.port };
        const unready = { name: "order-lookup-unready", port: await freePort() };
        const route = { name: "order-lookup-readiness", port: await freePort(), replicas: [ready, unready] };
        // Nothing listens on this port: the replica starts and answers /healthz, but cannot load the keys.
        const jwksNowhere = `http://127.0.0.1:${await freePort()}/jwks.json`;
        extraServers.push(
          await spawnServer(ORDER_LOOKUP_ENTRY, {
            ...env.env,
            ...RELAXED_LIMITS,
            LOG_LEVEL: "warn",
            REDIS_URL: redisUrl,
            GATEHOUSE_PUBLIC_URL: publicUrl,
            GATEHOUSE_PORT: String(unready.port),
            GATEHOUSE_JWKS_URL: jwksNowhere,
          }),
        );
        const probe = async (port: number, path: string) => {
          const res = await fetch(`http://127.0.0.1:${port}${path}`);
          return { status: res.status, body: (await res.json()) as Record<string, unknown> };
        };
        expect((await probe(unready.port, "/healthz")).status).toBe(200);
        expect(await probe(unready.port, "/readyz")).toMatchObject({
          status: 503,
          body: { ready: false, checks: { issuer_keys: false } },
        });
        expect((await probe(ready.port, "/readyz")).status).toBe(200);

        const gate = await startHaproxy([route], {
          settled: (s) =>
            s.get(`${route.name}/${ready.name}`) === "UP" &&
            s.get(`${route.name}/${unready.name}`) === "DOWN",
        });
        extraProxies.push(gate);
        const gateUrl = gate.urlOf(route.name);
        const t = await connectTracked(gateUrl, await env.mint("alice", { audience: publicUrl }));
        clients.push(t.client);
        const served: string[] = [];
        for (let i = 0; i < 30; i++) {
          t.forget();
          const r = await t.client.callTool({ name: "get_order", arguments: { order_id: EMEA_ORDER } });
          expect(outcomeOf(r)?.status, textOf(r)).toBe("completed");
          served.push(t.lastReplica() ?? "?");
        }
        // Plain HTTP through the proxy too (the header names the server that answered).
        const head = await fetch(gateUrl.replace(/\/mcp$/, "/healthz"));
        expect(head.headers.get(REPLICA_HEADER)).toBe(ready.name);
        expect(new Set(served)).toEqual(new Set([ready.name]));
        expect((await gate.states()).get(`${route.name}/${unready.name}`)).toBe("DOWN");
        summary.push([
          "not-ready replica's share of traffic",
          `0 of ${served.length} calls (issuer keys unreachable)`,
        ]);
      },
      CASE_STARTING_SERVERS_TIMEOUT_MS,
    );
  },
);
