/**
 * `pnpm bench pg-audit`: audit appends per second on PostgreSQL, from 1 and from 3 writer processes (as 1
 * and 3 replicas would write the one shared chain). Each writer is its own process running the store's
 * AuditLog (`node test/bench/pg-audit.ts --writer <url> <events> <in-flight>`): group commit within the
 * process, the unique sequence number between processes (a racing append fails and retries on the new
 * head). Every scenario gets a fresh database, and the chain is verified after it: a figure from a broken
 * chain would be worthless, so a broken chain fails the bench.
 *
 * Scenarios: one writer with one append in flight (no group commit: the round trip per append), one
 * writer with 16 in flight (group commit), three writers with 16 in flight each (contention on the head).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { AuditLog, verifyAuditChain } from "@gatehouse/governance";
import { migrateToLatest, openStore } from "@gatehouse/store";
import { createPostgresDatabase } from "@gatehouse/testing";
import { sql } from "kysely";
import { fmt, median } from "./common.ts";

const SELF = fileURLToPath(import.meta.url);

interface Scenario {
  writers: number;
  inFlight: number;
}

const SCENARIOS: Scenario[] = [
  { writers: 1, inFlight: 1 },
  { writers: 1, inFlight: 16 },
  { writers: 3, inFlight: 1 },
  { writers: 3, inFlight: 16 },
];

/** What one writer reports: its events, and when (epoch ms) it started and finished. */
interface WriterReport {
  events: number;
  startedAt: number;
  endedAt: number;
}

/** An event the size and shape of a governed call's `tool.requested`. */
function sampleEvent(i: number) {
  return {
    type: "tool.requested" as const,
    server: "order-lookup",
    tool: "get_order",
    identity: {
      user: "alice",
      roles: ["support_agent"],
      tenant: "emea",
      client: "bench",
      env: "dev",
      tokenId: randomUUID(),
      scopes: ["orders:read"],
    },
    args: { order_id: `SO-${100000 + (i % 360)}` },
    argsFingerprint: "f".repeat(64),
    detail: { kind: "read", scope: "orders:read" },
    correlationId: randomUUID(),
    traceId: "a".repeat(32),
    spanId: "b".repeat(16),
  };
}

/** The writer process: opens the store, waits for "go", appends `events` with `inFlight` at a time. */
async function runWriter(url: string, events: number, inFlight: number): Promise<void> {
  const store = openStore({ databaseUrl: url, sqlitePath: join(tmpdir(), "unused.db") });
  const log = new AuditLog(store);
  // Connections open before the clock starts.
  await log.latest(1);
  process.send!({ ready: true });
  await new Promise<void>((resolve) => process.once("message", () => resolve()));
  const startedAt = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < events) await log.append(sampleEvent(next++));
    }),
  );
  const endedAt = Date.now();
  process.send!({ events, startedAt, endedAt } satisfies WriterReport);
  await store.close();
}

/** This database's committed and rolled-back transactions so far (PostgreSQL's cumulative statistics). */
async function txStats(store: ReturnType<typeof openStore>): Promise<{ rollbacks: number }> {
  const r = await sql<{ rollbacks: string }>`
    select pg_stat_clear_snapshot(), xact_rollback::text as rollbacks
    from pg_stat_database where datname = current_database()`.execute(store.db);
  return { rollbacks: Number(r.rows[0]?.rollbacks ?? Number.NaN) };
}

async function scenario(adminUrl: string, s: Scenario, eventsPerWriter: number) {
  const db = await createPostgresDatabase(adminUrl);
  const store = openStore({ databaseUrl: db.url, sqlitePath: join(tmpdir(), "unused.db") });
  const children: ChildProcess[] = [];
  try {
    await migrateToLatest(store);
    const reports: Promise<WriterReport>[] = [];
    const ready: Promise<unknown>[] = [];
    for (let w = 0; w < s.writers; w++) {
      const child = spawn(
        process.execPath,
        [SELF, "--writer", db.url, String(eventsPerWriter), String(s.inFlight)],
        { stdio: ["ignore", "inherit", "inherit", "ipc"] },
      );
      children.push(child);
      const messages: unknown[] = [];
      let wake: (() => void) | undefined;
      child.on("message", (m) => {
        messages.push(m);
        wake?.();
      });
      const nextMessage = async () => {
        while (messages.length === 0) {
          if (child.exitCode !== null) throw new Error(`audit writer exited with ${child.exitCode}`);
          await new Promise<void>((r) => {
            wake = r;
            child.once("exit", () => r());
          });
        }
        return messages.shift();
      };
      ready.push(nextMessage());
      reports.push(ready[w]!.then(() => nextMessage() as Promise<WriterReport>));
    }
    await Promise.all(ready);
    const before = await txStats(store);
    for (const c of children) c.send("go");
    const done = await Promise.all(reports);
    // The writers' backends report their transaction counts as they end.
    await Promise.all(
      children.map((c) => (c.exitCode === null ? new Promise((r) => c.once("exit", r)) : null)),
    );
    await new Promise((r) => setTimeout(r, 300));
    const after = await txStats(store);
    const events = done.reduce((n, r) => n + r.events, 0);
    const seconds =
      (Math.max(...done.map((r) => r.endedAt)) - Math.min(...done.map((r) => r.startedAt))) / 1000;
    const verified = await verifyAuditChain(new AuditLog(store));
    if (!verified.ok) throw new Error(`the chain broke under ${s.writers} writers: ${verified.problem}`);
    if (verified.events !== events)
      throw new Error(`${events} events appended, but the chain holds ${verified.events}`);
    return {
      perSec: events / seconds,
      // Each failed INSERT is a rolled-back transaction: a group that lost the race for the next number.
      lostRacesPer1000: ((after.rollbacks - before.rollbacks) / events) * 1000,
    };
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
    await store.close();
    await db.drop();
  }
}

/** The pg-audit section: needs a PostgreSQL admin URL (run.ts starts a throwaway cluster). */
export async function benchPgAudit(opts: {
  adminUrl: string;
  quick: boolean;
  progress(s: string): void;
  out(s: string): void;
}): Promise<void> {
  const eventsPerWriter = opts.quick ? 500 : 3000;
  const rounds = opts.quick ? 1 : 3;
  const runs = new Map<Scenario, Array<{ perSec: number; lostRacesPer1000: number }>>(
    SCENARIOS.map((s) => [s, []]),
  );
  for (let r = 0; r < rounds; r++) {
    for (const s of SCENARIOS) {
      opts.progress(`pg-audit round ${r + 1}/${rounds}: ${s.writers} writer(s), ${s.inFlight} in flight`);
      runs.get(s)!.push(await scenario(opts.adminUrl, s, eventsPerWriter));
    }
  }
  const med = (s: Scenario) => median(runs.get(s)!.map((x) => x.perSec));
  const lost = (s: Scenario) => median(runs.get(s)!.map((x) => x.lostRacesPer1000));
  const base = med(SCENARIOS[1]!);
  opts.out(
    `\naudit appends on PostgreSQL · ${eventsPerWriter} events per writer · median of ${rounds} rounds · ` +
      "each writer a process running AuditLog (group commit inside, unique seq between) · " +
      "throwaway cluster with fsync=off (round trips and CPU, not disk)\n\n",
  );
  opts.out("| writers | in flight each | appends/s | vs 1 writer × 16 | lost head races per 1000 events |\n");
  opts.out("|--------:|---------------:|----------:|-----------------:|--------------------------------:|\n");
  for (const s of SCENARIOS) {
    opts.out(
      `| ${String(s.writers).padStart(7)} | ${String(s.inFlight).padStart(14)} | ${fmt(med(s), 0, 9)} |` +
        ` ${`${(med(s) / base).toFixed(2)}×`.padStart(16)} | ${fmt(lost(s), 0, 31)} |\n`,
    );
  }
  opts.out(
    "\nThe chain serialises appends: every group must read (or know) the head, hash onto it and insert the " +
      "next sequence numbers. One process groups its concurrent appends into one INSERT; several processes " +
      "race for the same next number and the losers re-read the head and retry. See docs/scaling.md, " +
      '"Audit throughput".\n',
  );
}

if (process.argv[2] === "--writer") {
  const [url, events, inFlight] = process.argv.slice(3);
  runWriter(url!, Number(events), Number(inFlight)).then(
    () => process.exit(0),
    (err: Error) => {
      process.stderr.write(`audit writer failed: ${err.stack ?? err.message}\n`);
      process.exit(1);
    },
  );
}

/**
 * A throwaway PostgreSQL cluster on loopback for the bench sections that need one, started by the same
 * code as the e2e suites' (or GATEHOUSE_TEST_PG_URL); resolves to its admin URL and a stop function.
 */
export async function startBenchPostgres(): Promise<{ adminUrl: string; stop(): Promise<void> }> {
  const { default: setup } = await import("../setup/postgres.ts");
  let adminUrl = "";
  const teardown = await setup({
    provide: (_key: string, value: string) => {
      adminUrl = value;
    },
  } as unknown as Parameters<typeof setup>[0]);
  if (!adminUrl)
    throw new Error("no PostgreSQL for this bench section: install postgresql, or set GATEHOUSE_TEST_PG_URL");
  return { adminUrl, stop: async () => teardown?.() };
}
