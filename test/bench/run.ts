/**
 * `pnpm bench`: what governance costs per tool call. The same get_order handler is served twice, by the
 * real order-lookup server (token check, audit chain, rate limits, policy, egress filter) and by a bare
 * MCP SDK server (bare-server.ts), on the same transport, and called by the same client code in one run.
 *
 * Latency (p50/p99) comes from sequential calls, throughput (calls/s) from a concurrent phase. Rounds
 * alternate between the servers and the median round is reported, to damp noise from a shared machine.
 * It is a measurement, not a test: it prints the table and exits 0 whatever the numbers say.
 *
 * Knobs: BENCH_CALLS (sequential calls per round, 500), BENCH_CONCURRENCY (8), BENCH_CONCURRENT_CALLS
 * (calls per round in the concurrent phase, 1000), BENCH_ROUNDS (3), BENCH_WARMUP (50), BENCH_STDIO=0 to
 * skip the stdio pair.
 */
import { cpus } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  connectHttp,
  connectStdio,
  createTestEnvironment,
  type SpawnedServer,
  spawnHttpServer,
  type TestEnvironment,
} from "@gatehouse/kit/testing";
import type { Client } from "@modelcontextprotocol/client";
import { EMEA_ORDER, ORDER_LOOKUP_ENTRY, RELAXED_LIMITS } from "../support/servers.ts";

const BARE_ENTRY = join(dirname(fileURLToPath(import.meta.url)), "bare-server.ts");

function intFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return n;
}

const CALLS = intFromEnv("BENCH_CALLS", 500);
const CONCURRENCY = intFromEnv("BENCH_CONCURRENCY", 8);
const CONCURRENT_CALLS = intFromEnv("BENCH_CONCURRENT_CALLS", 1000);
const ROUNDS = intFromEnv("BENCH_ROUNDS", 3);
const WARMUP = intFromEnv("BENCH_WARMUP", 50);
const WITH_STDIO = process.env.BENCH_STDIO !== "0";

const TARGET_THROUGHPUT_RATIO = 0.8;
const TARGET_ADDED_P50_MS = 1;

/**
 * The rate limits must not trip during the run (a denied call is cheaper than a served one and would
 * flatter the governed numbers), so they are raised far above RELAXED_LIMITS. They are still consumed on
 * every call: the limiter's cost stays in the measurement.
 */
const BENCH_LIMITS = {
  ...RELAXED_LIMITS,
  GATEHOUSE_RATE_LIMIT_USER: "100000000/60s",
  GATEHOUSE_RATE_LIMIT_TENANT: "100000000/60s",
  GATEHOUSE_RATE_LIMIT_TOOL: "100000000/60s",
};

/** The audience a stdio server verifies its GATEHOUSE_TOKEN against. */
const STDIO_AUDIENCE = "http://127.0.0.1:7101/mcp";

type Transport = "http" | "stdio";
type Kind = "bare" | "governed";

interface Target {
  transport: Transport;
  kind: Kind;
  client: Client;
  /** The last few KB of the server's stderr, for error reports. */
  logTail(): string;
  errors: number;
  firstError?: string;
}

interface Round {
  callsPerSec: number;
  p50: number;
  p99: number;
}

const out = (s: string) => process.stdout.write(s);
const progress = (s: string) => process.stderr.write(`bench: ${s}\n`);

const ARGS = { order_id: EMEA_ORDER };

async function call(t: Target): Promise<void> {
  const result = await t.client.callTool({ name: "get_order", arguments: ARGS });
  if (result.isError || !result.structuredContent) {
    t.errors++;
    if (t.firstError === undefined) {
      const content = result.content as Array<{ type: string; text?: string }> | undefined;
      t.firstError = content?.map((c) => c.text ?? c.type).join(" ") ?? "no content";
    }
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

async function sequential(t: Target, n: number): Promise<number[]> {
  const latencies = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    await call(t);
    latencies[i] = performance.now() - start;
  }
  return latencies.sort((a, b) => a - b);
}

async function concurrent(t: Target, total: number, concurrency: number): Promise<number> {
  let issued = 0;
  const worker = async () => {
    while (issued < total) {
      issued++;
      await call(t);
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
  return total / ((performance.now() - start) / 1000);
}

/**
 * spawnHttpServer keeps every byte of the server's stderr and re-splits all of it on each chunk, which
 * grows quadratically with the per-call log lines and would bill the client process for it. Once the
 * server is up, its listener is swapped for one that keeps only a short tail.
 */
function keepStderrTail(server: SpawnedServer): () => string {
  const stream = server.process.stderr;
  if (!stream) return () => "";
  stream.removeAllListeners("data");
  let tail = "";
  stream.on("data", (chunk: string | Buffer) => {
    tail = (tail + chunk.toString()).slice(-8192);
  });
  stream.resume();
  return () => tail;
}

/** Runs one measurement phase; a failure names the target and carries the tail of its server's log. */
async function phase<T>(t: Target, name: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    const e = err as Error & { cause?: unknown };
    throw new Error(
      `${t.transport}/${t.kind} failed in the ${name} phase: ${e.message}` +
        `${e.cause ? ` (cause: ${String(e.cause)})` : ""}\n--- server log tail ---\n${t.logTail()}`,
    );
  }
}

function fmt(n: number, digits: number, width: number): string {
  return (Number.isFinite(n) ? n.toFixed(digits) : "n/a").padStart(width);
}

async function main(): Promise<void> {
  const cleanups: Array<() => Promise<unknown>> = [];
  const cleanup = async () => {
    for (const fn of cleanups.splice(0).reverse()) {
      try {
        await fn();
      } catch (err) {
        progress(`cleanup step failed: ${(err as Error).message}`);
      }
    }
  };
  const onSignal = () => {
    void cleanup().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  const targets: Target[] = [];
  const wallStart = performance.now();
  try {
    progress("setting up (sandbox issuer, SQLite store, seeded orders database)");
    const env: TestEnvironment = await createTestEnvironment({ storeKind: "sqlite" });
    cleanups.push(() => env.close());

    const governed = await spawnHttpServer(ORDER_LOOKUP_ENTRY, { ...env.env, ...BENCH_LIMITS });
    cleanups.push(() => governed.stop());
    const governedTail = keepStderrTail(governed);
    const bare = await spawnHttpServer(BARE_ENTRY, { ORDERS_DATABASE_URL: env.env.ORDERS_DATABASE_URL });
    cleanups.push(() => bare.stop());
    const bareTail = keepStderrTail(bare);

    const token = await env.mint("alice", { audience: governed.url });
    const governedClient = await connectHttp(governed.url, token);
    cleanups.push(() => governedClient.close());
    // The bare server ignores the Authorization header; sending one keeps the requests the same size.
    const bareClient = await connectHttp(bare.url, token);
    cleanups.push(() => bareClient.close());
    targets.push(
      { transport: "http", kind: "bare", client: bareClient, logTail: bareTail, errors: 0 },
      { transport: "http", kind: "governed", client: governedClient, logTail: governedTail, errors: 0 },
    );

    if (WITH_STDIO) {
      const stdioToken = await env.mint("alice", { audience: STDIO_AUDIENCE });
      const gStdio = await connectStdio(ORDER_LOOKUP_ENTRY, {
        ...env.env,
        ...BENCH_LIMITS,
        GATEHOUSE_PUBLIC_URL: STDIO_AUDIENCE,
        GATEHOUSE_TOKEN: stdioToken,
      });
      cleanups.push(() => gStdio.client.close());
      const bStdio = await connectStdio(BARE_ENTRY, { ORDERS_DATABASE_URL: env.env.ORDERS_DATABASE_URL! });
      cleanups.push(() => bStdio.client.close());
      targets.push(
        {
          transport: "stdio",
          kind: "bare",
          client: bStdio.client,
          logTail: () => bStdio.stderr().slice(-8192),
          errors: 0,
        },
        {
          transport: "stdio",
          kind: "governed",
          client: gStdio.client,
          logTail: () => gStdio.stderr().slice(-8192),
          errors: 0,
        },
      );
    }

    progress(`warming up (${WARMUP} calls each)`);
    for (const t of targets) {
      await phase(t, "warm-up", async () => {
        await sequential(t, WARMUP);
        await concurrent(t, WARMUP, CONCURRENCY);
      });
    }
    for (const t of targets) {
      if (t.errors > 0) {
        throw new Error(
          `${t.transport}/${t.kind} failed during warm-up: ${t.firstError}\n--- server log tail ---\n${t.logTail()}`,
        );
      }
    }

    const rounds = new Map<Target, Round[]>(targets.map((t) => [t, []]));
    for (let r = 0; r < ROUNDS; r++) {
      progress(`round ${r + 1}/${ROUNDS}`);
      for (const transport of ["http", "stdio"] as const) {
        const pair = targets.filter((t) => t.transport === transport);
        if (pair.length === 0) continue;
        // Alternate who goes first, so neither server always gets the fresher (or the warmer) machine.
        if (r % 2 === 1) pair.reverse();
        const lat = new Map<Target, number[]>();
        for (const t of pair) lat.set(t, await phase(t, "sequential", () => sequential(t, CALLS)));
        for (const t of pair) {
          const cps = await phase(t, "concurrent", () => concurrent(t, CONCURRENT_CALLS, CONCURRENCY));
          const l = lat.get(t)!;
          rounds.get(t)!.push({ callsPerSec: cps, p50: percentile(l, 50), p99: percentile(l, 99) });
        }
      }
    }

    const summary = new Map<Target, Round>();
    for (const t of targets) {
      const rs = rounds.get(t)!;
      summary.set(t, {
        callsPerSec: median(rs.map((x) => x.callsPerSec)),
        p50: median(rs.map((x) => x.p50)),
        p99: median(rs.map((x) => x.p99)),
      });
    }

    const elapsed = (performance.now() - wallStart) / 1000;
    out("\n");
    out(
      `get_order ${EMEA_ORDER} as alice · Node ${process.versions.node} · ${cpus().length} CPUs · ` +
        `median of ${ROUNDS} rounds · per round: ${CALLS} sequential calls (latency), ` +
        `${CONCURRENT_CALLS} calls at concurrency ${CONCURRENCY} (throughput) · ${elapsed.toFixed(1)} s\n\n`,
    );
    const cpsHeader = `calls/s (c=${CONCURRENCY})`;
    out(`| transport | server   | ${cpsHeader} | p50 ms | p99 ms |\n`);
    out(`|-----------|----------|${"-".repeat(cpsHeader.length + 1)}:|-------:|-------:|\n`);
    for (const t of targets) {
      const s = summary.get(t)!;
      out(
        `| ${t.transport.padEnd(9)} | ${t.kind.padEnd(8)} | ${fmt(s.callsPerSec, 1, cpsHeader.length)} |` +
          ` ${fmt(s.p50, 3, 6)} | ${fmt(s.p99, 3, 6)} |\n`,
      );
    }
    out("\n");
    for (const transport of ["http", "stdio"] as const) {
      const b = targets.find((t) => t.transport === transport && t.kind === "bare");
      const g = targets.find((t) => t.transport === transport && t.kind === "governed");
      if (!b || !g) continue;
      const sb = summary.get(b)!;
      const sg = summary.get(g)!;
      const ratio = sg.callsPerSec / sb.callsPerSec;
      const added = sg.p50 - sb.p50;
      const addedP99 = sg.p99 - sb.p99;
      out(
        `${transport.padEnd(5)}  governed/bare throughput ${ratio.toFixed(2)}× ` +
          `(${ratio >= TARGET_THROUGHPUT_RATIO ? "meets" : "misses"} ≥ ${TARGET_THROUGHPUT_RATIO}×) · ` +
          `added p50 ${added >= 0 ? "+" : ""}${added.toFixed(3)} ms ` +
          `(${added <= TARGET_ADDED_P50_MS ? "meets" : "misses"} ≤ ${TARGET_ADDED_P50_MS} ms) · ` +
          `added p99 ${addedP99 >= 0 ? "+" : ""}${addedP99.toFixed(3)} ms\n`,
      );
    }
    const failed = targets.filter((t) => t.errors > 0);
    for (const t of failed) {
      out(
        `WARNING: ${t.transport}/${t.kind} answered ${t.errors} calls with an error (first: ${t.firstError}); ` +
          "its numbers are not comparable\n",
      );
    }
    out(
      `\nTarget: governed ≥ ${TARGET_THROUGHPUT_RATIO}× bare throughput and ≤ ${TARGET_ADDED_P50_MS} ms added p50, ` +
        "same transport (stateless Streamable HTTP over loopback; stdio shown for reference). " +
        "A measurement, not a pass/fail test.\n",
    );
  } finally {
    await cleanup();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    const cause = (err as Error & { cause?: unknown }).cause;
    process.stderr.write(
      `bench failed: ${err.stack ?? err.message}\n${cause ? `cause: ${String(cause)}\n` : ""}`,
    );
    process.exit(1);
  },
);
