/**
 * The telemetry section of `pnpm bench` (issue 13): get_order over Streamable HTTP on order-lookup with
 * telemetry off (no OTEL_* variables: the SDK is never loaded, spans and instruments are the API's no-ops)
 * and on (traces and metrics exported over OTLP/HTTP to a receiver on loopback, as a collector would take
 * them, with the SDK's default batching). Both servers run at once on one SQLite store and the calls are
 * interleaved call by call, the order rotating, so that noise hits them alike.
 *
 * What it shows: "off" costs nothing measurable next to a server built before telemetry (compare its p50
 * with the `calls` section's governed HTTP row), and what "on" adds per call. A measurement, not a test.
 */
import {
  connectHttp,
  createTestEnvironment,
  type SpawnedServer,
  spawnHttpServer,
  type TestEnvironment,
} from "@gatehouse/testing";
import type { Client } from "@modelcontextprotocol/client";
import { EMEA_ORDER, ORDER_LOOKUP_ENTRY } from "../support/servers.ts";
import { startOtlpReceiver } from "../telemetry/otlp-receiver.ts";
import { fmt, percentile } from "./common.ts";

export interface TelemetryBenchOptions {
  /** Measured calls per scenario. */
  calls: number;
  /** Unmeasured calls per scenario first (JWKS fetch, first compiles, the SDK's first export). */
  warmup: number;
  /** Rate limits for the server, high enough never to trip. */
  limits: Record<string, string>;
  /** Where to register teardown steps; the caller runs them (also on SIGINT). */
  cleanups: Array<() => Promise<unknown>>;
  progress(s: string): void;
  out(s: string): void;
}

interface Scenario {
  label: string;
  client: Client;
  latencies: number[];
  errors: number;
  firstError?: string;
}

async function call(s: Scenario): Promise<number> {
  const t0 = performance.now();
  const r = await s.client.callTool({ name: "get_order", arguments: { order_id: EMEA_ORDER } });
  const ms = performance.now() - t0;
  if (r.isError) {
    s.errors++;
    s.firstError ??= (r.content as Array<{ text?: string }> | undefined)?.map((c) => c.text).join(" ");
  }
  return ms;
}

export async function benchTelemetry(o: TelemetryBenchOptions): Promise<void> {
  const { cleanups, progress, out } = o;
  progress("telemetry: setting up (SQLite store, an OTLP receiver, order-lookup with telemetry off and on)");
  const env: TestEnvironment = await createTestEnvironment({ storeKind: "sqlite" });
  cleanups.push(() => env.close());
  const receiver = await startOtlpReceiver();
  cleanups.push(() => receiver.close());
  const base = { ...env.env, ...o.limits };
  const spawn = async (extra: Record<string, string>): Promise<SpawnedServer> => {
    const server = await spawnHttpServer(ORDER_LOOKUP_ENTRY, { ...base, ...extra });
    cleanups.push(() => server.stop());
    return server;
  };
  const off = await spawn({});
  const on = await spawn({
    OTEL_TRACES_EXPORTER: "otlp",
    OTEL_METRICS_EXPORTER: "otlp",
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    // Metrics every second, so exports happen during the measured calls rather than after them.
    OTEL_METRIC_EXPORT_INTERVAL: "1000",
  });
  const scenario = async (label: string, server: SpawnedServer): Promise<Scenario> => {
    const client = await connectHttp(server.url, await env.mint("alice", { audience: server.url }));
    cleanups.push(() => client.close());
    return { label, client, latencies: [], errors: 0 };
  };
  const scenarios = [await scenario("telemetry off", off), await scenario("telemetry on (OTLP)", on)];

  progress(`telemetry: warm-up, ${o.warmup} calls each`);
  for (let i = 0; i < o.warmup; i++) for (const s of scenarios) await call(s);
  progress(`telemetry: ${o.calls} calls each, interleaved`);
  for (let i = 0; i < o.calls; i++) {
    // Rotate who goes first, so neither always follows the other's export work.
    const order = i % 2 === 0 ? scenarios : [...scenarios].reverse();
    for (const s of order) s.latencies.push(await call(s));
  }

  out("\n## Telemetry: get_order over Streamable HTTP, telemetry off vs on (sequential, interleaved)\n\n");
  out("| scenario                 |  p50 ms |  p90 ms |  p99 ms | calls/s |\n");
  out("|--------------------------|--------:|--------:|--------:|--------:|\n");
  const p50s: number[] = [];
  for (const s of scenarios) {
    const sorted = [...s.latencies].sort((a, b) => a - b);
    const total = s.latencies.reduce((a, b) => a + b, 0);
    p50s.push(percentile(sorted, 50));
    out(
      `| ${s.label.padEnd(24)} | ${fmt(percentile(sorted, 50), 2, 7)} | ${fmt(percentile(sorted, 90), 2, 7)} | ` +
        `${fmt(percentile(sorted, 99), 2, 7)} | ${fmt((1000 * s.latencies.length) / total, 0, 7)} |\n`,
    );
  }
  const [offP50, onP50] = p50s as [number, number];
  out(
    `\nTelemetry on adds ${fmt(onP50 - offP50, 2, 0)} ms to the p50 (${fmt((100 * (onP50 - offP50)) / offP50, 1, 0)} %); ` +
      `the receiver took ${receiver.spans.length} spans. Off, no OTEL_* variable is set and the SDK is never ` +
      "loaded: compare its p50 with the governed HTTP row of the calls section.\n",
  );
  for (const s of scenarios) {
    if (s.errors > 0)
      out(`WARNING: ${s.label} answered ${s.errors} calls with an error (first: ${s.firstError})\n`);
  }
}
