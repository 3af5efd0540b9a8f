/**
 * `pnpm bench`: what governance costs per tool call. The same get_order handler is served twice, by the
 * real order-lookup server (token check, audit chain, rate limits, policy, egress filter) and by a bare
 * MCP SDK server (bare-server.ts), on the same transport, and called by the same client code in one run.
 *
 * Latency (p50/p99) comes from sequential calls, throughput (calls/s) from a concurrent phase. Rounds
 * alternate which server goes first, and the median round is reported, to damp noise from a shared
 * machine. It is a measurement, not a test: it prints the table and exits 0 whatever the numbers say.
 * A server process that dies mid-run is restarted and its phase repeated (at most MAX_RESTARTS times),
 * and the table says so.
 *
 * A second section (business.ts, issue 5) then measures the business server's account_health with 50 ms
 * injected latency in each system: parallel fan-out vs the same downstream calls made one after another,
 * and vs the slowest single branch alone (target ≤ 1.3×).
 *
 * Sections, all by default, or only those named: `pnpm bench [startup] [calls] [telemetry] [sqlite] [business]
 * [replicas] [pg-audit]`
 * (`--quick` shrinks every section to a smoke run):
 * - startup (startup.ts): stdio cold start as Claude Desktop launches a server, `gatehouse start` to ready,
 *   idle RSS per server process, each beside its target and the bare SDK server.
 * - calls: the get_order comparison described above, sequential (latency) and at two concurrencies.
 * - telemetry (telemetry.ts): get_order with OpenTelemetry off vs exporting over OTLP, interleaved.
 * - sqlite (sqlite-choice.ts): better-sqlite3 vs node:sqlite for the audit write path and point reads.
 * - business (business.ts).
 * - replicas (replicas.ts): get_order through HAProxy with 1 vs 3 order-lookup replicas on one PostgreSQL
 *   store, at concurrency BENCH_CONCURRENCY_HIGH.
 * - pg-audit (pg-audit.ts): audit appends/s on PostgreSQL from 1 and 3 writer processes.
 *   Both start a throwaway PostgreSQL cluster on loopback (or use GATEHOUSE_TEST_PG_URL).
 *
 * Knobs: BENCH_CALLS (sequential calls per round, 500), BENCH_CONCURRENCY (8), BENCH_CONCURRENT_CALLS
 * (calls per round in each concurrent phase, 1000), BENCH_CONCURRENCY_HIGH (16), BENCH_ROUNDS (3), BENCH_WARMUP (50), BENCH_STDIO=0 to
 * skip the stdio pair. Business section: BENCH_BUSINESS_CALLS (calls per scenario, 30),
 * BENCH_BUSINESS_WARMUP (3), BENCH_BUSINESS_LATENCY_MS (50), BENCH_SKIP_BUSINESS=1 to skip it,
 * BENCH_ONLY_BUSINESS=1 to run only it. Start-up: BENCH_COLD_RUNS (5), BENCH_PORT_OFFSET (900).
 */
import { cpus } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  connectHttp,
  connectStdio,
  createTestEnvironment,
  spawnHttpServer,
  type TestEnvironment,
} from "@gatehouse/testing";
import type { Client } from "@modelcontextprotocol/client";
import { EMEA_ORDER, ORDER_LOOKUP_ENTRY, RELAXED_LIMITS } from "../support/servers.ts";
import { benchBusiness } from "./business.ts";
import { fmt, intFromEnv, median, percentile } from "./common.ts";
import { benchPgAudit, startBenchPostgres } from "./pg-audit.ts";
import { benchReplicas } from "./replicas.ts";
import { benchSqliteChoice } from "./sqlite-choice.ts";
import { benchStartup, rssMb } from "./startup.ts";
import { benchTelemetry } from "./telemetry.ts";

const BARE_ENTRY = join(dirname(fileURLToPath(import.meta.url)), "bare-server.ts");

const SECTIONS = ["startup", "calls", "telemetry", "sqlite", "business", "replicas", "pg-audit"] as const;
type Section = (typeof SECTIONS)[number];
const argv = process.argv.slice(2);
const QUICK = argv.includes("--quick");
const named = argv.filter((a) => !a.startsWith("--"));
for (const a of named) {
  if (!(SECTIONS as readonly string[]).includes(a)) {
    process.stderr.write(`bench: unknown section "${a}"; sections: ${SECTIONS.join(", ")} (and --quick)\n`);
    process.exit(2);
  }
}
const ONLY_BUSINESS = process.env.BENCH_ONLY_BUSINESS === "1";
const SKIP_BUSINESS = process.env.BENCH_SKIP_BUSINESS === "1";
const wanted = (s: Section): boolean =>
  named.length > 0
    ? named.includes(s)
    : ONLY_BUSINESS
      ? s === "business"
      : !(s === "business" && SKIP_BUSINESS);

/** Each knob's full-run default, or its --quick default; an environment variable wins over both. */
const knob = (name: string, full: number, quick: number) => intFromEnv(name, QUICK ? quick : full);
const CALLS = knob("BENCH_CALLS", 500, 150);
const CONCURRENCY = knob("BENCH_CONCURRENCY", 8, 8);
const CONCURRENCY_HIGH = knob("BENCH_CONCURRENCY_HIGH", 16, 16);
const CONCURRENT_CALLS = knob("BENCH_CONCURRENT_CALLS", 1000, 300);
const ROUNDS = knob("BENCH_ROUNDS", 3, 1);
const WARMUP = knob("BENCH_WARMUP", 50, 30);
const WITH_STDIO = process.env.BENCH_STDIO !== "0";
const BUSINESS_CALLS = knob("BENCH_BUSINESS_CALLS", 30, 8);
const BUSINESS_WARMUP = knob("BENCH_BUSINESS_WARMUP", 3, 2);
const BUSINESS_LATENCY_MS = knob("BENCH_BUSINESS_LATENCY_MS", 50, 50);
const COLD_RUNS = knob("BENCH_COLD_RUNS", 5, 3);
const PORT_OFFSET = knob("BENCH_PORT_OFFSET", 900, 900);
const MAX_RESTARTS = 3;

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

/** One running server and the client connected to it. */
interface Connection {
  client: Client;
  /** The server's process id, when the bench spawned it. */
  pid?: number;
  /** The last few KB of the server's stderr, for error reports. */
  logTail(): string;
  /** How the server process ended, if it has (only known for the HTTP servers, which the bench spawns). */
  exitStatus(): string | undefined;
  close(): Promise<void>;
}

interface Target {
  transport: Transport;
  kind: Kind;
  connect(): Promise<Connection>;
  conn?: Connection;
  /** Calls answered with isError (or without a result): the numbers are then not comparable. */
  errors: number;
  firstError?: string;
  /** One line per time the server process died and was restarted. */
  restarts: string[];
  /** The server process's RSS once connected, before any call (HTTP servers only: the bench spawns them). */
  idleRssMb?: number;
}

interface Round {
  /** Sequential calls per second (one in flight). */
  seqPerSec: number;
  callsPerSec: number;
  highPerSec: number;
  p50: number;
  p99: number;
}

const out = (s: string) => process.stdout.write(s);
const progress = (s: string) => process.stderr.write(`bench: ${s}\n`);

const ARGS = { order_id: EMEA_ORDER };

async function call(t: Target, client: Client): Promise<void> {
  const result = await client.callTool({ name: "get_order", arguments: ARGS });
  if (result.isError || !result.structuredContent) {
    t.errors++;
    if (t.firstError === undefined) {
      const content = result.content as Array<{ type: string; text?: string }> | undefined;
      t.firstError = content?.map((c) => c.text ?? c.type).join(" ") ?? "no content";
    }
  }
}

/** Sorted per-call latencies (ms) of n sequential calls. */
async function sequential(t: Target, n: number): Promise<number[]> {
  const client = t.conn!.client;
  const latencies = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    await call(t, client);
    latencies[i] = performance.now() - start;
  }
  return latencies.sort((a, b) => a - b);
}

/** Calls per second for `total` calls with `concurrency` in flight. */
async function concurrent(t: Target, total: number, concurrency: number): Promise<number> {
  // The client is captured so that, if the server dies, no straggler calls go to its replacement.
  const client = t.conn!.client;
  let issued = 0;
  let failed = false;
  const worker = async () => {
    while (issued < total && !failed) {
      issued++;
      try {
        await call(t, client);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
  return total / ((performance.now() - start) / 1000);
}

async function warmUp(t: Target): Promise<void> {
  await sequential(t, WARMUP);
  await concurrent(t, WARMUP, CONCURRENCY_HIGH);
}

/** A one-line reason for a dead server: V8's fatal error if it printed one, else how it exited or the client's error. */
function deathReason(err: Error & { cause?: unknown }, tail: string, exitStatus: string | undefined): string {
  const client = `${err.message}${err.cause ? ` (${String(err.cause)})` : ""}`;
  const fatal = /# Fatal error[^\n]*\n# ([^\n]+)/.exec(tail);
  if (fatal) {
    const frame = /V8_Fatal[^\n]*\n[^\n]*?(v8::internal::[A-Za-z_:]+)/.exec(tail);
    return `V8 fatal error "${fatal[1]!.trim()}"${frame ? ` in ${frame[1]}` : ""}`;
  }
  return exitStatus ? `server ${exitStatus}; client saw: ${client}` : client;
}

/**
 * Runs one measurement phase. If the server dies under it, the server is restarted, warmed up again and
 * the phase repeated from scratch; a target that keeps dying fails the run with its log tail.
 */
async function phase<T>(t: Target, name: string, work: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await work();
    } catch (err) {
      const e = err as Error & { cause?: unknown };
      // The client usually notices before the dying process has finished writing its last words.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const tail = t.conn?.logTail() ?? "";
      const reason = deathReason(e, tail, t.conn?.exitStatus());
      if (t.restarts.length >= MAX_RESTARTS) {
        throw new Error(
          `${t.transport}/${t.kind} failed in the ${name} phase after ${t.restarts.length} restarts: ${reason}` +
            `\n--- server log tail ---\n${tail}`,
        );
      }
      t.restarts.push(`${name} phase: ${reason}`);
      progress(`${t.transport}/${t.kind} died in the ${name} phase (${reason}); restarting it`);
      await t.conn?.close().catch(() => undefined);
      t.conn = await t.connect();
      await warmUp(t);
    }
  }
}

/**
 * undici's fetch adds an abort listener per request to the client transport's long-lived signal and
 * drops it only when the request is garbage-collected, so a few thousand calls trip Node's
 * MaxListenersExceededWarning. It is harmless here and identical for both servers; keep it off the output.
 */
function muteAbortListenerWarnings(): void {
  const listeners = process.listeners("warning");
  process.removeAllListeners("warning");
  process.on("warning", (w: Error) => {
    if (w.name === "MaxListenersExceededWarning" && w.message.includes("AbortSignal")) return;
    for (const l of listeners) l(w);
  });
}

/** The get_order section: governed vs bare order-lookup, same handler, same transport. */
async function benchGetOrder(cleanups: Array<() => Promise<unknown>>): Promise<void> {
  const wallStart = performance.now();
  progress("setting up (sandbox issuer, SQLite store, seeded orders database)");
  const env: TestEnvironment = await createTestEnvironment({ storeKind: "sqlite" });
  cleanups.push(() => env.close());
  const ordersDb = env.env.ORDERS_DATABASE_URL!;

  const httpTarget = (kind: Kind): Target => ({
    transport: "http",
    kind,
    errors: 0,
    restarts: [],
    async connect() {
      const server =
        kind === "governed"
          ? await spawnHttpServer(ORDER_LOOKUP_ENTRY, { ...env.env, ...BENCH_LIMITS })
          : await spawnHttpServer(BARE_ENTRY, { ORDERS_DATABASE_URL: ordersDb });
      const logTail = () => server.stderr().slice(-8192);
      try {
        // The bare server ignores the Authorization header; it gets one too, so requests are the same.
        const client = await connectHttp(server.url, await env.mint("alice", { audience: server.url }));
        const child = server.process;
        return {
          client,
          pid: child.pid,
          logTail,
          exitStatus: () =>
            child.signalCode
              ? `was killed by ${child.signalCode}`
              : child.exitCode !== null
                ? `exited with code ${child.exitCode}`
                : undefined,
          async close() {
            await client.close().catch(() => undefined);
            await server.stop();
          },
        };
      } catch (err) {
        await server.stop();
        throw err;
      }
    },
  });
  const stdioTarget = (kind: Kind): Target => ({
    transport: "stdio",
    kind,
    errors: 0,
    restarts: [],
    async connect() {
      const { client, stderr } =
        kind === "governed"
          ? await connectStdio(ORDER_LOOKUP_ENTRY, {
              ...env.env,
              ...BENCH_LIMITS,
              GATEHOUSE_PUBLIC_URL: STDIO_AUDIENCE,
              GATEHOUSE_TOKEN: await env.mint("alice", { audience: STDIO_AUDIENCE }),
            })
          : await connectStdio(BARE_ENTRY, { ORDERS_DATABASE_URL: ordersDb });
      return {
        client,
        logTail: () => stderr().slice(-8192),
        exitStatus: () => undefined,
        close: () => client.close(),
      };
    },
  });

  const targets = [httpTarget("bare"), httpTarget("governed")];
  if (WITH_STDIO) targets.push(stdioTarget("bare"), stdioTarget("governed"));
  cleanups.push(async () => {
    for (const t of targets) await t.conn?.close().catch(() => undefined);
  });
  for (const t of targets) t.conn = await t.connect();
  // Idle: connected (initialize answered) but no tool call yet.
  await new Promise((r) => setTimeout(r, 1000));
  for (const t of targets) t.idleRssMb = rssMb(t.conn?.pid);

  progress(`warming up (${WARMUP} calls each)`);
  for (const t of targets) await phase(t, "warm-up", () => warmUp(t));
  for (const t of targets) {
    if (t.errors > 0) {
      throw new Error(
        `${t.transport}/${t.kind} answered with errors during warm-up: ${t.firstError}` +
          `\n--- server log tail ---\n${t.conn?.logTail()}`,
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
      const latencies = new Map<Target, { sorted: number[]; perSec: number }>();
      for (const t of pair) {
        const started = performance.now();
        const sorted = await phase(t, "sequential", () => sequential(t, CALLS));
        latencies.set(t, { sorted, perSec: CALLS / ((performance.now() - started) / 1000) });
      }
      const cps = new Map<Target, number>();
      for (const t of pair)
        cps.set(t, await phase(t, "concurrent", () => concurrent(t, CONCURRENT_CALLS, CONCURRENCY)));
      for (const t of pair) {
        const high = await phase(t, "concurrent", () => concurrent(t, CONCURRENT_CALLS, CONCURRENCY_HIGH));
        const l = latencies.get(t)!;
        rounds.get(t)!.push({
          seqPerSec: l.perSec,
          callsPerSec: cps.get(t)!,
          highPerSec: high,
          p50: percentile(l.sorted, 50),
          p99: percentile(l.sorted, 99),
        });
      }
    }
  }

  const summary = new Map<Target, Round>();
  for (const t of targets) {
    const rs = rounds.get(t)!;
    summary.set(t, {
      seqPerSec: median(rs.map((x) => x.seqPerSec)),
      callsPerSec: median(rs.map((x) => x.callsPerSec)),
      highPerSec: median(rs.map((x) => x.highPerSec)),
      p50: median(rs.map((x) => x.p50)),
      p99: median(rs.map((x) => x.p99)),
    });
  }

  const elapsed = (performance.now() - wallStart) / 1000;
  out("\n");
  out(
    `get_order ${EMEA_ORDER} as alice · Node ${process.versions.node} · ${cpus().length} CPUs · ` +
      `median of ${ROUNDS} rounds · per round: ${CALLS} sequential calls (latency), ` +
      `${CONCURRENT_CALLS} calls at concurrency ${CONCURRENCY} and at ${CONCURRENCY_HIGH} (throughput) · ` +
      `${elapsed.toFixed(1)} s\n\n`,
  );
  const cols = ["calls/s c=1", `calls/s c=${CONCURRENCY}`, `calls/s c=${CONCURRENCY_HIGH}`];
  out(`| transport | server   | ${cols.join(" | ")} | p50 ms | p99 ms | idle RSS MB |\n`);
  out(
    `|-----------|----------|${cols.map((c) => `${"-".repeat(c.length + 1)}:`).join("|")}|-------:|-------:|------------:|\n`,
  );
  for (const t of targets) {
    const s = summary.get(t)!;
    out(
      `| ${t.transport.padEnd(9)} | ${t.kind.padEnd(8)} | ${fmt(s.seqPerSec, 1, cols[0]!.length)} |` +
        ` ${fmt(s.callsPerSec, 1, cols[1]!.length)} | ${fmt(s.highPerSec, 1, cols[2]!.length)} |` +
        ` ${fmt(s.p50, 3, 6)} | ${fmt(s.p99, 3, 6)} | ${fmt(t.idleRssMb ?? Number.NaN, 1, 11)} |\n`,
    );
  }
  out("\n");
  const signed = (n: number) => `${n >= 0 ? "+" : ""}${n.toFixed(3)}`;
  const mark = (ok: boolean) => (ok ? "✓" : "✗");
  out("| transport | governed/bare                 |  measured |     target |   |\n");
  out("|-----------|-------------------------------|----------:|-----------:|---|\n");
  for (const transport of ["http", "stdio"] as const) {
    const b = targets.find((t) => t.transport === transport && t.kind === "bare");
    const g = targets.find((t) => t.transport === transport && t.kind === "governed");
    if (!b || !g) continue;
    const sb = summary.get(b)!;
    const sg = summary.get(g)!;
    const ratios: Array<[string, number]> = [
      ["throughput, sequential (c=1)", sg.seqPerSec / sb.seqPerSec],
      [`throughput, c=${CONCURRENCY}`, sg.callsPerSec / sb.callsPerSec],
      [`throughput, c=${CONCURRENCY_HIGH}`, sg.highPerSec / sb.highPerSec],
    ];
    for (const [what, r] of ratios) {
      out(
        `| ${transport.padEnd(9)} | ${what.padEnd(29)} | ${`${r.toFixed(2)}×`.padStart(9)} |` +
          ` ${`≥ ${TARGET_THROUGHPUT_RATIO}×`.padStart(10)} | ${mark(r >= TARGET_THROUGHPUT_RATIO)} |\n`,
      );
    }
    const added = sg.p50 - sb.p50;
    out(
      `| ${transport.padEnd(9)} | ${"added p50 (sequential)".padEnd(29)} | ${`${signed(added)} ms`.padStart(9)} |` +
        ` ${`≤ ${TARGET_ADDED_P50_MS} ms`.padStart(10)} | ${mark(added <= TARGET_ADDED_P50_MS)} |\n`,
    );
    out(
      `| ${transport.padEnd(9)} | ${"added p99 (sequential)".padEnd(29)} | ${`${signed(sg.p99 - sb.p99)} ms`.padStart(9)} |` +
        ` ${"".padStart(10)} |   |\n`,
    );
  }
  for (const t of targets) {
    if (t.errors > 0) {
      out(
        `WARNING: ${t.transport}/${t.kind} answered ${t.errors} calls with an error ` +
          `(first: ${t.firstError}); its numbers are not comparable\n`,
      );
    }
    for (const r of t.restarts) {
      out(`NOTE: the ${t.transport}/${t.kind} server died and was restarted, its phase repeated: ${r}\n`);
    }
  }
  out(
    `\nTarget: governed ≥ ${TARGET_THROUGHPUT_RATIO}× bare throughput and ≤ ${TARGET_ADDED_P50_MS} ms ` +
      "added p50 on the same transport (stateless Streamable HTTP over loopback, and stdio), every " +
      "governed call writing its tool.requested and outcome events to the audit chain. Idle RSS is read " +
      "once connected, before any call. A measurement, not a pass/fail test.\n",
  );
}

async function main(): Promise<void> {
  muteAbortListenerWarnings();
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

  try {
    if (wanted("startup")) {
      await benchStartup({
        coldRuns: COLD_RUNS,
        stdioServers: ["order-lookup", "crm-read", "ticket-draft", "ticket-send", "business"],
        portOffset: PORT_OFFSET,
        settleSeconds: 2,
        cleanups,
        progress,
        out,
      });
      await cleanup();
    }
    if (wanted("calls")) {
      await benchGetOrder(cleanups);
      // Its servers go before the next section starts, so they do not share the machine with it.
      await cleanup();
    }
    if (wanted("telemetry")) {
      await benchTelemetry({
        calls: QUICK ? 200 : 1000,
        warmup: 50,
        limits: BENCH_LIMITS,
        cleanups,
        progress,
        out,
      });
      await cleanup();
    }
    if (wanted("sqlite")) await benchSqliteChoice({ quick: QUICK, progress, out });
    if (wanted("business")) {
      await benchBusiness({
        calls: BUSINESS_CALLS,
        warmup: BUSINESS_WARMUP,
        latencyMs: BUSINESS_LATENCY_MS,
        limits: BENCH_LIMITS,
        cleanups,
        progress,
        out,
      });
      await cleanup();
    }
    // Each starts its own throwaway PostgreSQL cluster, gone (with the section's servers) before the next.
    if (wanted("replicas")) {
      const pg = await startBenchPostgres();
      cleanups.push(() => pg.stop());
      await benchReplicas({
        adminUrl: pg.adminUrl,
        quick: QUICK,
        concurrency: CONCURRENCY_HIGH,
        limits: BENCH_LIMITS,
        cleanups,
        progress,
        out,
      });
      await cleanup();
    }
    if (wanted("pg-audit")) {
      const pg = await startBenchPostgres();
      cleanups.push(() => pg.stop());
      await benchPgAudit({ adminUrl: pg.adminUrl, quick: QUICK, progress, out });
    }
  } finally {
    await cleanup();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

main().then(
  () => process.exit(0),
  (err: Error & { cause?: unknown }) => {
    const cause = err.cause ? `cause: ${String(err.cause)}\n` : "";
    process.stderr.write(`bench failed: ${err.stack ?? err.message}\n${cause}`);
    process.exit(1);
  },
);
