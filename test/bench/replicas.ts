/**
 * `pnpm bench replicas`: get_order throughput through HAProxy with 1 and with 3 order-lookup replicas, all
 * on one PostgreSQL store (the replicated deployment's shape, as test/replicas runs it), at concurrency 16
 * from 16 MCP clients. The same proxy configuration both times; only the number of replicas changes.
 * Rounds alternate which setup goes first and the median round is reported. A measurement: on a machine
 * with fewer cores than processes (client, proxy, PostgreSQL, replicas) the ratio says more about the
 * machine than about the servers, so the header prints the core count.
 */
import { cpus } from "node:os";
import { createTestEnvironment, type TestEnvironment } from "@gatehouse/testing";
import type { Client } from "@modelcontextprotocol/client";
import { connectTracked, planRoute, type Replica, startReplicas } from "../replicas/cluster.ts";
import { type RunningHaproxy, startHaproxy } from "../replicas/haproxy.ts";
import { EMEA_ORDER, ORDER_LOOKUP_ENTRY } from "../support/servers.ts";
import { fmt, median, percentile } from "./common.ts";

interface Setup {
  replicas: number;
  proxy: RunningHaproxy;
  servers: Replica[];
  clients: Client[];
  /** Calls each replica served in the measured phases (from the proxy's header), to show the spread. */
  served: Map<string, number>;
  lastReplica: Array<() => string | undefined>;
}

export async function benchReplicas(opts: {
  adminUrl: string;
  quick: boolean;
  concurrency: number;
  limits: Record<string, string>;
  cleanups: Array<() => Promise<unknown>>;
  progress(s: string): void;
  out(s: string): void;
}): Promise<void> {
  const calls = opts.quick ? 400 : 2000;
  const rounds = opts.quick ? 1 : 3;
  const warmup = opts.quick ? 100 : 300;
  opts.progress("replicas: setting up (PostgreSQL store, sandbox issuer, HAProxy)");
  const env: TestEnvironment = await createTestEnvironment({
    storeKind: "postgres",
    pgAdminUrl: opts.adminUrl,
  });
  opts.cleanups.push(() => env.close());
  const serverEnv = { ...env.env, ...opts.limits, LOG_LEVEL: "warn" };

  const start = async (n: number): Promise<Setup> => {
    const route = await planRoute("order-lookup", n);
    const servers = await startReplicas(ORDER_LOOKUP_ENTRY, route, serverEnv);
    opts.cleanups.push(() => Promise.all(servers.map((s) => s.server.stop())));
    const proxy = await startHaproxy([route]);
    opts.cleanups.push(() => proxy.stop());
    const url = proxy.urlOf("order-lookup");
    const token = await env.mint("alice", { audience: url });
    const tracked = await Promise.all(
      Array.from({ length: opts.concurrency }, () => connectTracked(url, token)),
    );
    const clients = tracked.map((t) => t.client);
    opts.cleanups.push(() => Promise.all(clients.map((c) => c.close().catch(() => undefined))));
    return {
      replicas: n,
      proxy,
      servers,
      clients,
      served: new Map(),
      lastReplica: tracked.map((t) => t.lastReplica),
    };
  };

  /**
   * `total` calls spread over the setup's first `width` clients (all by default), one in flight each: calls/s
   * and sorted latencies.
   */
  const load = async (s: Setup, total: number, count: boolean, width = s.clients.length) => {
    let issued = 0;
    const latencies: number[] = [];
    const t0 = performance.now();
    await Promise.all(
      s.clients.slice(0, width).map(async (client, i) => {
        while (issued < total) {
          issued++;
          const started = performance.now();
          const r = await client.callTool({ name: "get_order", arguments: { order_id: EMEA_ORDER } });
          latencies.push(performance.now() - started);
          if (r.isError) throw new Error(`get_order failed through the proxy: ${JSON.stringify(r.content)}`);
          if (count) {
            const who = s.lastReplica[i]!() ?? "?";
            s.served.set(who, (s.served.get(who) ?? 0) + 1);
          }
        }
      }),
    );
    return { perSec: total / ((performance.now() - t0) / 1000), sorted: latencies.sort((a, b) => a - b) };
  };

  const setups = [await start(1), await start(3)];
  // Warm-up ramps the concurrency up, so each replica's PostgreSQL pool grows a few connections at a time:
  // sixteen connections opened at once on a loaded machine exceeded the pool's 5 s connect timeout.
  for (const s of setups)
    for (const width of [1, 2, 4, 8, opts.concurrency]) await load(s, Math.ceil(warmup / 5), false, width);
  const results = new Map<Setup, Array<{ perSec: number; p50: number; p99: number }>>(
    setups.map((s) => [s, []]),
  );
  for (let r = 0; r < rounds; r++) {
    opts.progress(`replicas round ${r + 1}/${rounds}`);
    const order = r % 2 === 0 ? setups : [...setups].reverse();
    for (const s of order) {
      const m = await load(s, calls, true);
      results
        .get(s)!
        .push({ perSec: m.perSec, p50: percentile(m.sorted, 50), p99: percentile(m.sorted, 99) });
    }
  }

  const summary = setups.map((s) => {
    const rs = results.get(s)!;
    return {
      s,
      perSec: median(rs.map((x) => x.perSec)),
      p50: median(rs.map((x) => x.p50)),
      p99: median(rs.map((x) => x.p99)),
    };
  });
  const base = summary[0]!.perSec;
  opts.out(
    `\nget_order through HAProxy (round robin) · order-lookup replicas on one PostgreSQL store · ` +
      `${opts.concurrency} clients, one call in flight each · ${calls} calls per round · median of ${rounds} rounds · ` +
      `${cpus().length} CPUs\n\n`,
  );
  opts.out(
    `| replicas | calls/s c=${opts.concurrency} | p50 ms | p99 ms | vs 1 replica | calls served per replica |\n`,
  );
  opts.out("|---------:|------------:|-------:|-------:|-------------:|--------------------------|\n");
  for (const x of summary) {
    const spread = x.s.servers.map((r) => String(x.s.served.get(r.name) ?? 0)).join(" / ");
    opts.out(
      `| ${String(x.s.replicas).padStart(8)} | ${fmt(x.perSec, 1, 11)} | ${fmt(x.p50, 2, 6)} | ${fmt(x.p99, 2, 6)} |` +
        ` ${`${(x.perSec / base).toFixed(2)}×`.padStart(12)} | ${spread.padEnd(24)} |\n`,
    );
  }
  opts.out(
    `\nEvery call is governed (token, policy, rate limits, two audit events on the shared chain). With ` +
      `${cpus().length} CPUs shared by the client, HAProxy, PostgreSQL and the replicas, 3 replicas cannot ` +
      "approach 3×: the ratio is the scaling this machine allows, not the servers' ceiling.\n",
  );
}
